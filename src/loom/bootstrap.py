"""Assembling a :class:`~loom.core.runtime.Runtime` from the config.

This is the one place that picks adapters (the SQLAlchemy database, the job backend)
for the framework-agnostic core; the REST app and the Celery worker both start here,
so they see the same application.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from loom.core.config.loader import ConfigError, config_error, load_config, select
from loom.core.di import Container, apply_modules
from loom.core.discovery import discover
from loom.core.job.backends import InProcessBackend
from loom.core.job.runner import config_section
from loom.core.job.store import JobStore, MemoryJobStore
from loom.core.model import model_info
from loom.core.repository.registry import registered_repositories
from loom.core.repository.sqlalchemy import (
    Database,
    RepositorySQLAlchemy,
    SessionManager,
    table_for,
)
from loom.core.repository.sqlalchemy._database import DEFAULT_IDLE_TIMEOUT, PLAN_LISTS
from loom.core.repository.sqlalchemy._jobs import SQLAlchemyJobStore
from loom.core.runtime import Components, Runtime

__all__ = ["build_runtime", "database_from_config", "load", "override_code_path"]

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./loom.db"


def load(*config_paths: str | Path | Any) -> Any:
    """A config object from paths (or an already-loaded config passed through)."""
    if len(config_paths) == 1 and not isinstance(config_paths[0], (str, Path)):
        return config_paths[0]
    return load_config(*config_paths)


def override_code_path(cfg: Any, code_path: str | Path) -> None:
    """Set ``app.code_path`` from a caller's argument (``create_app(code_path=)``).

    The argument is taken relative to the working directory, not the config file: it
    comes from Python code, where that is what a relative path means.
    """
    resolved = str(Path(code_path).expanduser().resolve())
    if isinstance(cfg, DictConfig):
        OmegaConf.update(cfg, "app.code_path", resolved, force_add=True)
    else:
        cfg.setdefault("app", {})["code_path"] = resolved


def database_from_config(cfg: Any) -> Database:
    url = select(cfg, "database.url") or DEFAULT_DATABASE_URL
    plan_lists = str(select(cfg, "database.plan_lists", "values"))
    if plan_lists not in PLAN_LISTS:
        allowed = ", ".join(PLAN_LISTS)
        message = f"expected one of {allowed}, got {plan_lists!r}"
        raise config_error(cfg, "database.plan_lists", message)
    pgbouncer = _pgbouncer_setting(cfg)
    try:
        return Database(
            str(url),
            echo=bool(select(cfg, "database.echo", False)),
            pool_size=select(cfg, "database.pool_size"),
            max_overflow=select(cfg, "database.max_overflow"),
            pool_pre_ping=bool(select(cfg, "database.pool_pre_ping", False)),
            pool_timeout=float(select(cfg, "database.pool_timeout", 10.0)),
            pool_idle_timeout=float(
                select(cfg, "database.pool_idle_timeout", DEFAULT_IDLE_TIMEOUT)
            ),
            pgbouncer=pgbouncer,
            connect_timeout=float(select(cfg, "database.connect_timeout", 5.0)),
            statement_timeout_ms=select(cfg, "database.statement_timeout_ms"),
            plan_lists=plan_lists,
        )
    except Exception as exc:
        raise config_error(cfg, "database.url", f"cannot use {str(url)!r}: {exc}") from None


def _pgbouncer_setting(cfg: Any) -> bool | None:
    """``database.pgbouncer``: true, false, or auto (the default: the first connection tells)."""
    value = select(cfg, "database.pgbouncer", "auto")
    if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise config_error(cfg, "database.pgbouncer", f"expected true, false or auto, got {value!r}")


def _repository_factory(database: Database, secret: str, cache: Any = None) -> Any:
    registry = registered_repositories()
    manager = SessionManager.for_database(database)

    def build(model: type, container: Container) -> Any:
        table_for(model)
        registration = registry.get(model)
        cls = registration.repository if registration is not None else RepositorySQLAlchemy
        # A repository written for 0.2 takes ``(session_manager, model)``.
        repo = container.build(
            cls, database=database, model=model, cursor_secret=secret, session_manager=manager
        )
        if cache is not None:
            from loom.core.cache import CachedRepository

            # Writes are seen at the engine (install_write_tracking), custom SQL included.
            return CachedRepository(repo, cache, tracked=True)
        return repo

    return build


def _repository_cache(cfg: Any, database: Database) -> Any:
    """The repository cache when ``cache.enabled`` (imported only then: aiocache is optional)."""
    if not bool(select(cfg, "cache.enabled", False)):
        return None
    from loom.core.cache import cache_from_config
    from loom.core.repository.sqlalchemy._write_tracking import install_write_tracking

    cache = cache_from_config(cfg)
    if cache is not None:
        install_write_tracking(database, cache)
    return cache


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def job_store_for(runtime: Runtime) -> JobStore:
    """The SQL job store (``loom_jobs``) on the runtime's database, else a memory one."""
    database = getattr(runtime, "database", None)
    if database is None:
        return MemoryJobStore()
    return SQLAlchemyJobStore(database)


def job_backend_from_config(cfg: Any, runtime: Runtime) -> Any:
    """Celery when the config has ``celery.broker_url`` (or ``task_always_eager``),
    the embedded in-process backend otherwise; both record jobs in the same store."""
    celery_cfg = config_section(cfg, "celery")
    store = job_store_for(runtime)
    if celery_cfg.get("broker_url") or _truthy(celery_cfg.get("task_always_eager")):
        from loom.celery.backend import CeleryBackend  # only when Celery is asked for

        return CeleryBackend(runtime, store, cfg)
    jobs = config_section(cfg, "jobs")
    # SQLite has one writer: concurrent jobs would only queue behind each other's
    # write transactions, so run one at a time there.
    database = getattr(runtime, "database", None)
    default = 1 if getattr(database, "dialect", None) == "sqlite" else 4
    return InProcessBackend(
        runtime,
        store,
        concurrency=int(jobs.get("concurrency", default) or default),
        shutdown_timeout=float(jobs.get("shutdown_timeout", 10.0)),
    )


def build_runtime(
    *config_paths: str | Path | Any,
    components: Components | None = None,
    services: Mapping[Any, Any] | None = None,
    modules: Iterable[Callable[[Any], Any]] = (),
) -> Runtime:
    """Load config, discover components, wire adapters and compile every plan.

    ``services`` maps types to instances injectable into use cases, jobs and callbacks
    (besides those registered with :func:`loom.core.di.provide`).
    """
    cfg = load(*config_paths)
    found = components if components is not None else discover(cfg)
    database = database_from_config(cfg)
    secret = str(select(cfg, "app.secret_key") or f"loom:{select(cfg, 'app.name', 'app')}:cursor")
    cache = _repository_cache(cfg, database)
    runtime = Runtime(
        config=cfg,
        components=found,
        uow=database,
        repository_factory=_repository_factory(database, secret, cache),
        services=services,
    )
    runtime.container.register(Database, database)
    runtime.database = database  # type: ignore[attr-defined]
    for model in found.models:
        model_info(model)
        table_for(model)
    for model, registration in registered_repositories().items():
        if registration.contract is not None and model in found.models:
            runtime.register_contract(registration.contract, model)
        if model in found.models:
            runtime.register_contract(registration.repository, model)
    backend = job_backend_from_config(cfg, runtime)
    if backend is not None:
        runtime.job_service.backend = backend
    # DI modules, ``fn(container)``: before anything is built from the container.
    apply_modules(runtime.container, modules)
    runtime.prepare()

    async def _create_tables() -> None:
        if bool(select(cfg, "database.create_tables", True)):
            await database.create_all()
            return
        # Migrations own the schema: say plainly what is missing rather than fail later
        # with a driver error on the first query (or on job recovery at start-up).
        needed = [table_for(model).name for model in found.models]
        needed += [
            name for name in ("loom_jobs", "loom_idempotency") if name in database.metadata.tables
        ]
        missing = await database.missing_tables(needed)
        if missing:
            raise ConfigError(
                "key 'database.create_tables' is false and the database lacks table(s) "
                f"{', '.join(missing)}: apply the migrations (`loom db upgrade CONFIG`) "
                "or set database.create_tables: true"
            )

    runtime.startup_hooks.insert(0, _create_tables)
    runtime.shutdown_hooks.insert(0, database.dispose)
    if cache is not None:
        runtime.container.register(type(cache), cache)
        runtime.repository_cache = cache  # type: ignore[attr-defined]
        runtime.shutdown_hooks.insert(0, cache.close)
        if type(getattr(cache, "backend", None)).__name__ == "SimpleMemoryCache":
            _refuse_shared_memory_cache(runtime, database)
    return runtime


def _refuse_shared_memory_cache(runtime: Runtime, database: Database) -> None:
    """A memory cache only sees its own process's writes: with another process on
    the same database it would serve reads older than that process's commits."""

    async def claim() -> None:
        if not await database.claim_sole_process("memory-cache"):
            raise ConfigError(
                "key 'cache.backend': the memory cache is per process and another "
                "process uses this database (several workers, a Celery worker, or "
                "PgBouncer in front): set cache.backend: redis with cache.url"
            )
        runtime.shutdown_hooks.append(release)

    async def release() -> None:
        await database.release_sole_process("memory-cache")

    runtime.startup_hooks.append(claim)
