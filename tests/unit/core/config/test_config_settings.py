"""The config decoded once into typed settings: defaults, lax YAML/env strings, and
errors naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from loom.core.config import ConfigError, load_config
from loom.core.config.settings import AppSettings, load_settings, settings_of, truthy
from loom.core.runtime import Runtime


def _load(tmp_path: Path, text: str) -> AppSettings:
    path = tmp_path / "app.yaml"
    path.write_text(text)
    return load_settings(load_config(path))


def test_an_empty_config_gets_every_default() -> None:
    settings = load_settings({})
    assert settings.database.url == "sqlite+aiosqlite:///./loom.db"
    assert settings.database.create_tables is True
    assert settings.database.pgbouncer is None  # auto
    assert settings.rest.title == "Loom API"
    assert settings.rest.docs_url == "/docs"
    assert settings.rest.max_body_size == 1024 * 1024
    assert settings.rest.idempotency.methods == ("POST",)
    assert settings.jobs.status_path == "/jobs"
    assert settings.jobs.concurrency is None
    assert settings.cache.enabled is False
    assert settings.cache.namespace == "loom:app"
    assert settings.celery.wanted is False
    assert settings.metrics.path == "/metrics"
    assert settings.trace.header == "x-request-id"
    assert settings.app.cursor_secret == "loom:app:cursor"


def test_env_strings_are_read_as_the_types_they_stand_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POOL", "8")
    monkeypatch.setenv("ECHO", "false")
    monkeypatch.setenv("CACHE", "yes")
    settings = _load(
        tmp_path,
        "app: {name: shop}\n"
        "database:\n  pool_size: ${oc.env:POOL}\n  echo: ${oc.env:ECHO}\n"
        "  pgbouncer: 'on'\n"
        "cache: {enabled: '${oc.env:CACHE}', backend: REDIS}\n"
        "celery: {task_always_eager: 'true', task_time_limit: 30}\n",
    )
    assert settings.database.pool_size == 8
    assert settings.database.echo is False  # bool("false") would be True
    assert settings.database.pgbouncer is True
    assert settings.cache.enabled is True and settings.cache.backend == "redis"
    assert settings.cache.namespace == "loom:shop"
    assert settings.celery.wanted is True
    assert settings.celery.conf["task_time_limit"] == 30
    assert settings.rest.title == "shop"


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("database: {pool_timeout: soon}", "database.pool_timeout", "expected a number"),
        ("database: {pool_size: many}", "database.pool_size", "expected an integer"),
        ("database: {pgbouncer: maybe}", "database.pgbouncer", "expected true, false or auto"),
        ("cache: {timeout: later}", "cache.timeout", "expected a number of seconds"),
        ("jobs: {Mail: {retries: often}}", "jobs.Mail.retries", "expected an integer"),
        ("app: {rest: {max_body_size: big}}", "app.rest.max_body_size", "expected an integer"),
    ],
)
def test_a_value_that_does_not_fit_names_the_file_and_the_key(
    tmp_path: Path, text: str, key: str, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text + "\n")
    assert str(info.value).startswith(f"{tmp_path / 'app.yaml'}: key {key!r}: {message}")
    assert info.value.key == key


def test_an_included_file_is_named_when_it_set_the_key(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("database: {connect_timeout: never}\n")
    (tmp_path / "api.yaml").write_text("includes: [base.yaml]\napp: {name: x}\n")
    with pytest.raises(ConfigError, match=r"base\.yaml: key 'database.connect_timeout'"):
        load_settings(load_config(tmp_path / "api.yaml"))


def test_an_explicit_null_turns_a_url_off_and_a_missing_key_keeps_the_default() -> None:
    settings = load_settings({"app": {"rest": {"docs_url": None}}, "jobs": {"status_path": None}})
    assert settings.rest.docs_url is None
    assert settings.rest.redoc_url == "/redoc"
    assert settings.jobs.status_path is None


def test_sections_given_as_a_bare_flag_and_a_path_without_its_slash() -> None:
    settings = load_settings({"trace": False, "metrics": {"path": "stats"}, "logger": "off"})
    assert settings.trace.enabled is False
    assert settings.metrics.enabled is True and settings.metrics.path == "/stats"
    assert settings.logger.access_log is True  # ``logger: off`` is no access-log switch


def test_job_overrides_are_told_apart_from_the_jobs_settings() -> None:
    jobs = load_settings(
        {"jobs": {"concurrency": "2", "retry_backoff": 0, "SendMail": {"queue": "mail"}}}
    ).jobs
    assert jobs.concurrency == 2 and jobs.retry_backoff == 0.0
    assert set(jobs.per_job) == {"SendMail"}
    assert jobs.overrides("SendMail").queue == "mail"
    assert jobs.overrides("Other").queue is None


def test_truthy_reads_config_booleans() -> None:
    assert [truthy(v) for v in ("1", "TRUE", " yes ", "on", True, 1)] == [True] * 6
    assert [truthy(v) for v in ("0", "false", "no", "off", "", False, 0)] == [False] * 7
    assert truthy(None, True) is True and truthy("maybe", True) is True
    assert truthy("maybe") is False


def test_decoded_settings_pass_through_and_runtime_decodes_its_config() -> None:
    settings = load_settings({"app": {"name": "a"}})
    assert settings_of(settings) is settings
    assert settings.error("app.name", "is taken").key == "app.name"
    runtime = Runtime(config={"jobs": {"Job": {"queue": "q"}}})
    assert runtime.settings.jobs.overrides("Job").queue == "q"
    assert Runtime(settings=settings).settings is settings


def test_discovery_is_kept_as_written_and_checked_only_when_discovering(tmp_path: Path) -> None:
    from loom.core.discovery import InterfacesDiscoveryEngine, engine_from_config

    settings = _load(
        tmp_path,
        "app:\n  discovery:\n    interfaces:\n      modules: [a.b]\n"
        "      warn_recommended: 'false'\n",
    )
    found = settings.app.discovery
    assert found.interfaces_modules == ["a.b"] and found.warn_recommended is False
    engine = engine_from_config(settings)
    assert isinstance(engine, InterfacesDiscoveryEngine) and engine.warn_recommended is False
    # A runtime given its components needs no discovery section; discovering does.
    empty = _load(tmp_path, "app: {name: x}\n")
    with pytest.raises(ConfigError, match=r"app\.yaml: key 'app.discovery.interfaces.modules'"):
        engine_from_config(empty)
