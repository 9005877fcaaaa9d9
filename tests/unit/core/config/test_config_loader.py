"""YAML config: includes, merge order, interpolation, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from loom.core.config import ConfigError, load_config, resolve, select


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_includes_are_relative_to_the_including_file_and_loaded_first(tmp_path: Path) -> None:
    write(
        tmp_path / "conf" / "shared" / "db.yaml",
        "database:\n  url: sqlite://shared\n  echo: true\n",
    )
    write(tmp_path / "conf" / "shared" / "app.yaml", "app:\n  name: from-include\n  x: 1\n")
    api = write(
        tmp_path / "conf" / "api.yaml",
        "includes:\n  - shared/db.yaml\n  - shared/app.yaml\napp:\n  name: api\n",
    )
    cfg = load_config(api)
    assert select(cfg, "app.name") == "api"  # the including file wins
    assert select(cfg, "app.x") == 1
    assert select(cfg, "database.url") == "sqlite://shared"
    assert "includes" not in cfg


def test_nested_includes_and_a_single_string_include(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "includes: sub/b.yaml\nlevel: a\n")
    write(tmp_path / "sub" / "b.yaml", "includes: [c.yaml]\nlevel: b\nfrom_b: true\n")
    write(tmp_path / "sub" / "c.yaml", "level: c\nfrom_c: true\n")
    cfg = load_config(tmp_path / "a.yaml")
    assert (cfg.level, cfg.from_b, cfg.from_c) == ("a", True, True)


def test_several_files_merge_in_order(tmp_path: Path) -> None:
    base = write(tmp_path / "base.yaml", "app:\n  name: base\n  keep: 1\ndatabase:\n  url: one\n")
    api = write(tmp_path / "api.yaml", "app:\n  name: api\ndatabase:\n  url: two\n")
    local = write(tmp_path / "local.yaml", "database:\n  url: three\n")
    cfg = load_config(base, api, local)
    assert resolve(cfg)["app"] == {"name": "api", "keep": 1, "config_dir": str(tmp_path)}
    assert select(cfg, "database.url") == "three"
    assert select(load_config(local, base), "database.url") == "one"


def test_env_and_decode_interpolation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(
        tmp_path / "api.yaml",
        "database:\n"
        "  url: ${oc.env:CFG_TEST_DB,sqlite+aiosqlite:///./x.db}\n"
        "  pool_size: ${oc.decode:${oc.env:CFG_TEST_POOL,5}}\n"
        "trace:\n"
        "  enabled: ${oc.decode:${oc.env:CFG_TEST_TRACE,true}}\n",
    )
    monkeypatch.delenv("CFG_TEST_DB", raising=False)
    monkeypatch.delenv("CFG_TEST_POOL", raising=False)
    monkeypatch.delenv("CFG_TEST_TRACE", raising=False)
    cfg = load_config(path)
    assert select(cfg, "database.url") == "sqlite+aiosqlite:///./x.db"
    assert select(cfg, "database.pool_size") == 5
    assert select(cfg, "trace.enabled") is True
    monkeypatch.setenv("CFG_TEST_DB", "postgresql+asyncpg://u@h/db")
    monkeypatch.setenv("CFG_TEST_POOL", "12")
    monkeypatch.setenv("CFG_TEST_TRACE", "false")
    cfg = load_config(path)
    assert resolve(cfg)["database"] == {"url": "postgresql+asyncpg://u@h/db", "pool_size": 12}
    assert select(cfg, "trace.enabled") is False


def _one_line(exc: pytest.ExceptionInfo[ConfigError]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert "nope.yaml" in _one_line(info)


def test_missing_include_names_the_including_file(tmp_path: Path) -> None:
    api = write(tmp_path / "api.yaml", "includes:\n  - gone.yaml\n")
    with pytest.raises(ConfigError) as info:
        load_config(api)
    message = _one_line(info)
    assert "api.yaml" in message and "includes" in message and "gone.yaml" in message


def test_bad_yaml_names_the_file(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yaml", "app:\n  name: [unclosed\n  other: 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    message = _one_line(info)
    assert "bad.yaml" in message and "YAML" in message


def test_top_level_list_and_bad_includes(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path / "list.yaml", "- a\n- b\n"))
    assert "list.yaml" in _one_line(info)
    with pytest.raises(ConfigError) as inc:
        load_config(write(tmp_path / "inc.yaml", "includes:\n  bad: 1\n"))
    assert "includes" in _one_line(inc)


def test_include_cycle(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "includes: [b.yaml]\n")
    write(tmp_path / "b.yaml", "includes: [a.yaml]\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "a.yaml")
    assert "cycle" in _one_line(info)


def test_unresolvable_interpolation_names_the_key(tmp_path: Path) -> None:
    path = write(tmp_path / "api.yaml", "database:\n  url: ${oc.env:CFG_TEST_SURELY_UNSET_VAR}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = _one_line(info)
    assert "api.yaml" in message and "database.url" in message


def test_empty_file_is_an_empty_config(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path / "empty.yaml", ""))
    assert select(cfg, "app.name", "dflt") == "dflt"


def test_select_on_plain_dicts() -> None:
    cfg = {"app": {"rest": {"title": "T"}}}
    assert select(cfg, "app.rest.title") == "T"
    assert select(cfg, "app.rest.version", "0") == "0"
    assert select(None, "x", 1) == 1
