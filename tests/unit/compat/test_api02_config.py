"""0.2 signature pins for config, discovery, ``create_app`` and DI, plus behaviour
from API-0.2.md's descriptions (a 0.2 config in the default ``interfaces`` mode)."""

from __future__ import annotations

import inspect
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

import loom.core.config
import loom.core.config.errors
import loom.core.config.loader
from loom.core.di import LoomContainer, Scope
from loom.core.discovery import (
    DiscoveryEngine,
    DiscoveryResult,
    InterfacesDiscoveryEngine,
    ManifestDiscoveryEngine,
    ModulesDiscoveryEngine,
)
from loom.rest.fastapi.auto import create_app


def test_config_names() -> None:
    assert loom.core.config.section is loom.core.config.loader.section
    assert list(inspect.signature(loom.core.config.section).parameters) == [
        "cfg",
        "key",
        "target_type",
    ]
    assert loom.core.config.errors.ConfigError is loom.core.config.ConfigError
    assert str(loom.core.config.errors.ConfigError("bad")) == "bad"


def test_discovery_signatures() -> None:
    sig = inspect.signature(InterfacesDiscoveryEngine)
    assert list(sig.parameters)[:2] == ["interface_modules", "warn_recommended"]
    assert sig.parameters["warn_recommended"].default is True
    assert sig.parameters["warn_recommended"].kind is inspect.Parameter.KEYWORD_ONLY
    assert list(inspect.signature(ModulesDiscoveryEngine).parameters)[:1] == ["module_paths"]
    assert list(inspect.signature(ManifestDiscoveryEngine).parameters)[:1] == ["manifest_module"]
    assert list(DiscoveryResult.__dataclass_fields__)[:3] == ["models", "use_cases", "interfaces"]
    for engine in (InterfacesDiscoveryEngine, ModulesDiscoveryEngine, ManifestDiscoveryEngine):
        assert callable(engine.discover)
    assert isinstance(ModulesDiscoveryEngine([]), DiscoveryEngine)


def test_create_app_signature() -> None:
    sig = inspect.signature(create_app)
    p = sig.parameters
    assert list(p) == ["config_paths", "code_path", "metrics_registry"]
    assert p["config_paths"].kind is inspect.Parameter.VAR_POSITIONAL
    assert p["code_path"].default is None and p["metrics_registry"].default is None


def test_di_names() -> None:
    assert {s.name for s in Scope} >= {"SINGLETON", "TRANSIENT", "REQUEST"}
    c = LoomContainer()
    c.install(lambda container: container.register(dict, scope=Scope.TRANSIENT))
    assert c.resolve(dict) == {} and c.resolve(dict) is not c.resolve(dict)


class DbSettings(msgspec.Struct, kw_only=True):
    url: str
    echo: bool = False
    pool_size: int = 5


def test_section_converts_laxly_and_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "api.yaml"
    path.write_text(
        "database:\n  url: sqlite://x\n  echo: 'true'\n  pool_size: ${oc.env:API02_POOL,'7'}\n"
    )
    cfg = loom.core.config.load_config(path)
    assert loom.core.config.section(cfg, "database", DbSettings) == DbSettings(
        url="sqlite://x", echo=True, pool_size=7
    )
    with pytest.raises(loom.core.config.errors.ConfigError, match="'cache'"):
        loom.core.config.section(cfg, "cache", DbSettings)
    path.write_text("database:\n  echo: true\n")
    with pytest.raises(loom.core.config.ConfigError, match=r"api\.yaml.*'database'.*url"):
        loom.core.config.section(loom.core.config.load_config(path), "database", DbSettings)


PKG = "api02cfg_app"
APP = {
    "__init__.py": "",
    "models.py": """
        from loom.core.model import BaseModel, ColumnField, String

        class Api02CfgWidget(BaseModel):
            __tablename__ = "api02cfg_widgets"
            id: int = ColumnField(primary_key=True, autoincrement=True)
            name: str = ColumnField(String(40))
    """,
    "interface.py": """
        from loom.rest.model import RestInterface

        from api02cfg_app.models import Api02CfgWidget

        class WidgetInterface(RestInterface[Api02CfgWidget]):
            prefix = "/widgets"
            auto = True
    """,
}


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    pkg = tmp_path / "code" / PKG
    pkg.mkdir(parents=True)
    for name, text in APP.items():
        (pkg / name).write_text(textwrap.dedent(text))
    (tmp_path / "config").mkdir()
    yield tmp_path
    for name in [m for m in sys.modules if m == PKG or m.startswith(PKG + ".")]:
        del sys.modules[name]
    code = str((tmp_path / "code").resolve())
    if code in sys.path:
        sys.path.remove(code)


def test_a_0_2_config_in_the_default_interfaces_mode_serves(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = project / "config" / "api.yaml"
    config.write_text(
        "app:\n"
        "  name: api02cfg\n"
        "  code_path: src\n"  # wrong on purpose: create_app(code_path=) wins
        "  discovery:\n"
        "    interfaces:\n"
        f"      modules: [{PKG}.interface]\n"
        f"database:\n  url: sqlite+aiosqlite:///{project / 'app.db'}\n"
        "metrics:\n  enabled: true\n  path: /metrics\n"
    )
    monkeypatch.chdir(project)
    registry = CollectorRegistry()
    app = create_app(str(config), code_path="code", metrics_registry=registry)
    with TestClient(app) as client:
        made = client.post("/widgets/", json={"name": "bolt"})
        assert made.status_code == 201, made.text
        got = client.get(f"/widgets/{made.json()['id']}")
        assert got.status_code == 200 and got.json()["name"] == "bolt"
    # The app's metrics went to the registry the caller gave.
    posts = [
        sample.value
        for metric in registry.collect()
        if metric.name == "loom_http_requests"
        for sample in metric.samples
        if sample.labels.get("method") == "POST" and sample.labels.get("status") == "201"
    ]
    assert posts == [1.0]


def test_default_mode_without_its_key_is_a_config_error(project: Path) -> None:
    config = project / "config" / "bare.yaml"
    config.write_text(
        f"app:\n  name: bare\ndatabase:\n  url: sqlite+aiosqlite:///{project / 'bare.db'}\n"
    )
    with pytest.raises(loom.core.config.ConfigError, match=r"app\.discovery\.interfaces\.modules"):
        create_app(str(config))
