"""Discovery and bootstrap from YAML: modes, ``app.code_path``, ``database.create_tables``."""

from __future__ import annotations

import os
import sqlite3
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from loom.bootstrap import build_runtime
from loom.core.config import ConfigError, load_config
from loom.core.discovery import (
    DiscoveryEngine,
    DiscoveryResult,
    InterfacesDiscoveryEngine,
    ManifestDiscoveryEngine,
    ModulesDiscoveryEngine,
    discover,
)
from loom.core.repository.sqlalchemy import metadata

PKG = "disc_shop_app"

FILES = {
    "__init__.py": "",
    "models.py": """
        from loom.core.model import BaseModel, ColumnField, OnDelete

        class DiscShelf(BaseModel):
            __tablename__ = "disc_shelves"
            id: int = ColumnField(primary_key=True, autoincrement=True)
            name: str = ColumnField(length=40)

        class DiscItem(BaseModel):
            __tablename__ = "disc_items"
            id: int = ColumnField(primary_key=True, autoincrement=True)
            shelf_id: int = ColumnField(foreign_key="disc_shelves.id", on_delete=OnDelete.CASCADE)
            label: str = ColumnField(length=40)
    """,
    "jobs.py": """
        from loom.core.job.job import Job
        from loom.core.use_case import LoadById

        from disc_shop_app.models import DiscItem

        class DiscTouchJob(Job[bool]):
            __queue__ = "disc"

            async def execute(
                self, item_id: int, item: DiscItem = LoadById(DiscItem, by="item_id")
            ) -> bool:
                return True
    """,
    "use_cases.py": """
        from typing import Any

        from loom.core.job.service import JobService
        from loom.core.use_case import Exists, OnMissing
        from loom.core.use_case.use_case import UseCase

        from disc_shop_app.jobs import DiscTouchJob
        from disc_shop_app.models import DiscItem, DiscShelf

        class DiscDone:
            async def on_success(self, job_id: str, result: Any, **context: Any) -> None:
                return None

        class CountItems(UseCase[DiscItem, int]):
            def __init__(self, jobs: JobService) -> None:
                self.jobs = jobs

            async def execute(
                self,
                shelf_id: int,
                _shelf: bool = Exists(DiscShelf, from_param="shelf_id", on_missing=OnMissing.RAISE),
            ) -> int:
                return await self.main_repo.count()
    """,
    "interface.py": """
        from loom.rest.model import RestInterface, RestRoute

        from disc_shop_app.models import DiscItem
        from disc_shop_app.use_cases import CountItems

        class DiscItemInterface(RestInterface[DiscItem]):
            prefix = "/shelves"
            routes = (RestRoute(use_case=CountItems, method="GET", path="/{shelf_id}/count"),)
    """,
    "manifest.py": """
        from disc_shop_app.interface import DiscItemInterface
        from disc_shop_app.jobs import DiscTouchJob
        from disc_shop_app.models import DiscItem, DiscShelf
        from disc_shop_app.use_cases import CountItems, DiscDone

        MODELS = [DiscShelf, DiscItem]
        USE_CASES = [CountItems]
        JOBS = [DiscTouchJob]
        CALLBACKS = [DiscDone]
        INTERFACES = [DiscItemInterface]
    """,
    "reexports.py": """
        # Imports an interface and a model without defining either.
        from disc_shop_app.interface import DiscItemInterface
        from disc_shop_app.models import DiscShelf
    """,
    "agg/__init__.py": """
        from disc_shop_app.agg.things import DiscAggNote
    """,
    "agg/things.py": """
        from loom.core.model import BaseModel, ColumnField

        class DiscAggNote(BaseModel):
            __tablename__ = "disc_agg_notes"
            id: int = ColumnField(primary_key=True, autoincrement=True)
    """,
    "bad_manifest.py": """
        MODELS = ["not a model"]
    """,
    "broken.py": """
        raise RuntimeError("this module fails on import")
    """,
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``<root>/config/`` and ``<root>/src/disc_shop_app/``; ``code_path: src``."""
    root = tmp_path_factory.mktemp("disc_project")
    pkg = root / "src" / PKG
    pkg.mkdir(parents=True)
    for name, text in FILES.items():
        (pkg / name).parent.mkdir(exist_ok=True)
        (pkg / name).write_text(textwrap.dedent(text))
    (root / "config").mkdir()
    yield root
    for name in [m for m in sys.modules if m == PKG or m.startswith(PKG + ".")]:
        del sys.modules[name]
    src = str((root / "src").resolve())
    if src in sys.path:
        sys.path.remove(src)


def config(root: Path, name: str, discovery: str, *, db: str = "", extra: str = "") -> Path:
    db_url = db or f"sqlite+aiosqlite:///{root / (name + '.db')}"
    path = root / "config" / f"{name}.yaml"
    path.write_text(
        "app:\n"
        f"  name: {name}\n"
        "  code_path: src\n"
        "  discovery:\n" + textwrap.indent(textwrap.dedent(discovery).strip(), "    ") + "\n"
        f"database:\n  url: {db_url}\n" + extra
    )
    return path


def _names(items: list[type]) -> set[str]:
    return {c.__name__ for c in items}


def test_modules_mode_collects_what_the_modules_define(project: Path) -> None:
    path = config(
        project,
        "modules",
        """
        mode: modules
        modules:
          include: [disc_shop_app.models, disc_shop_app.use_cases, disc_shop_app.interface]
        """,
    )
    found = discover(load_config(path))
    assert _names(found.models) == {"DiscShelf", "DiscItem"}
    assert "CountItems" in _names(found.use_cases)
    assert _names(found.interfaces) == {"DiscItemInterface"}
    assert "DiscTouchJob" in _names(found.jobs)  # imported by use_cases
    assert "DiscDone" in _names(found.callbacks)


def test_manifest_mode_takes_the_listed_components(project: Path) -> None:
    path = config(
        project, "manifest", "mode: manifest\nmanifest:\n  module: disc_shop_app.manifest"
    )
    found = discover(load_config(path))
    assert _names(found.models) == {"DiscShelf", "DiscItem"}
    assert _names(found.use_cases) == {"CountItems"}
    assert _names(found.jobs) == {"DiscTouchJob"}
    assert _names(found.callbacks) == {"DiscDone"}
    assert _names(found.interfaces) == {"DiscItemInterface"}


def test_interfaces_mode_follows_references(project: Path) -> None:
    path = config(
        project,
        "interfaces",
        "mode: interfaces\ninterfaces:\n  include: ['disc_shop_app.interface:DiscItemInterface']",
    )
    found = discover(load_config(path))
    assert _names(found.interfaces) == {"DiscItemInterface"}
    assert _names(found.use_cases) == {"CountItems"}
    # DiscShelf only through the Exists marker and the foreign key.
    assert _names(found.models) == {"DiscShelf", "DiscItem"}
    assert "DiscTouchJob" in _names(found.jobs)


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        build_runtime(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_unknown_discovery_mode_names_file_and_key(project: Path) -> None:
    message = _error(config(project, "badmode", "mode: everything"))
    assert "badmode.yaml" in message
    assert "app.discovery.mode" in message
    assert "'everything'" in message


def test_failing_module_import_names_file_key_and_module(project: Path) -> None:
    message = _error(
        config(project, "broken", "mode: modules\nmodules:\n  include: [disc_shop_app.broken]")
    )
    assert "broken.yaml" in message
    assert "app.discovery.modules.include[0]" in message
    assert "disc_shop_app.broken" in message
    assert "RuntimeError" in message


def test_missing_module_and_missing_manifest_key(project: Path) -> None:
    message = _error(
        config(project, "missing", "mode: manifest\nmanifest:\n  module: disc_shop_app.nothing")
    )
    assert "missing.yaml" in message and "app.discovery.manifest.module" in message
    message = _error(config(project, "nokey", "mode: manifest"))
    assert "nokey.yaml" in message and "app.discovery.manifest.module" in message
    message = _error(
        config(
            project, "badlist", "mode: manifest\nmanifest:\n  module: disc_shop_app.bad_manifest"
        )
    )
    assert "MODELS" in message and "'not a model'" in message


def test_key_in_an_included_file_is_blamed_on_that_file(project: Path) -> None:
    shared = project / "config" / "shared_discovery.yaml"
    shared.write_text("app:\n  discovery:\n    mode: nonsense\n")
    api = project / "config" / "with_include.yaml"
    api.write_text("includes: [shared_discovery.yaml]\napp:\n  name: x\n  code_path: src\n")
    message = _error(api)
    assert "shared_discovery.yaml" in message and "app.discovery.mode" in message


def test_code_path_is_relative_to_the_config_file(project: Path, tmp_path: Path) -> None:
    # Another working directory: the folder is still found from the config's location.
    path = config(
        project, "codepath", "mode: manifest\nmanifest:\n  module: disc_shop_app.manifest"
    )
    cwd = Path.cwd()
    try:
        os.chdir(tmp_path)
        found = discover(load_config(path))
    finally:
        os.chdir(cwd)
    assert str((project / "src").resolve()) in sys.path
    assert _names(found.interfaces) == {"DiscItemInterface"}


def test_missing_code_path_names_file_and_key(project: Path) -> None:
    path = project / "config" / "nocode.yaml"
    path.write_text("app:\n  code_path: does/not/exist\n  discovery:\n    mode: modules\n")
    message = _error(path)
    assert "nocode.yaml" in message and "app.code_path" in message


def _tables(db_file: Path) -> set[str]:
    with sqlite3.connect(db_file) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {r[0] for r in rows}


@pytest.mark.parametrize("create", [True, False])
async def test_create_tables_switch(project: Path, create: bool) -> None:
    db_file = project / f"create_{create}.db"
    path = config(
        project,
        f"create_{create}",
        "mode: manifest\nmanifest:\n  module: disc_shop_app.manifest",
        db=f"sqlite+aiosqlite:///{db_file}",
        extra=f"  create_tables: {'true' if create else 'false'}\n",
    )
    runtime = build_runtime(path)
    if not create:
        # Migrations own the schema: they made everything but this app's two tables.
        engine = sa.create_engine(f"sqlite:///{db_file}")
        others = [t for name, t in metadata.tables.items() if not name.startswith("disc_")]
        metadata.create_all(engine, tables=others)
        engine.dispose()
    if create:
        await runtime.startup()
        await runtime.database.ping()  # type: ignore[attr-defined]
        await runtime.shutdown()
        assert {"disc_shelves", "disc_items"} <= _tables(db_file)
        return
    # Nothing is created, and start-up says in one line which tables are missing.
    with pytest.raises(ConfigError) as err:
        await runtime.startup()
    await runtime.shutdown()
    message = str(err.value)
    assert "disc_shelves" in message and "disc_items" in message
    assert "loom db upgrade" in message and "\n" not in message
    assert not {"disc_shelves", "disc_items"} & _tables(db_file)


async def test_create_tables_is_on_by_default_and_the_app_runs(project: Path) -> None:
    db_file = project / "default.db"
    path = config(
        project,
        "default",
        "mode: manifest\nmanifest:\n  module: disc_shop_app.manifest",
        db=f"sqlite+aiosqlite:///{db_file}",
    )
    runtime = build_runtime(path)
    await runtime.startup()
    try:
        shelf = await runtime.invoker.entity(runtime.components.models[0]).create(
            payload={"name": "top"}
        )
        from disc_shop_app.use_cases import CountItems  # type: ignore[import-not-found]

        assert await runtime.execute(CountItems, params={"shelf_id": shelf.id}) == 0
    finally:
        await runtime.shutdown()
    assert {"disc_shelves", "disc_items"} <= _tables(db_file)


def test_interfaces_is_the_default_mode_with_interfaces_modules(project: Path) -> None:
    path = config(project, "default_mode", "interfaces:\n  modules: [disc_shop_app.interface]")
    found = discover(load_config(path))
    assert _names(found.interfaces) == {"DiscItemInterface"}
    assert _names(found.use_cases) == {"CountItems"}
    assert _names(found.models) == {"DiscShelf", "DiscItem"}
    assert "DiscTouchJob" in _names(found.jobs) and "DiscDone" in _names(found.callbacks)


def test_without_a_mode_the_present_key_picks_it(project: Path) -> None:
    path = config(project, "implied_modules", "modules:\n  include: [disc_shop_app.models]")
    assert _names(discover(load_config(path)).models) == {"DiscShelf", "DiscItem"}
    path = config(project, "implied_manifest", "manifest:\n  module: disc_shop_app.manifest")
    assert _names(discover(load_config(path)).use_cases) == {"CountItems"}
    # 0.2's key wins over a leftover modules list: interfaces was 0.2's default.
    both = "interfaces:\n  modules: [disc_shop_app.interface]\nmodules:\n  include: [nope]"
    path = config(project, "implied_interfaces", both)
    assert _names(discover(load_config(path)).interfaces) == {"DiscItemInterface"}


def test_default_mode_without_interfaces_modules_names_the_key(project: Path) -> None:
    path = project / "config" / "nodiscovery.yaml"
    path.write_text("app:\n  name: x\n  code_path: src\n")
    message = _error(path)
    assert "nodiscovery.yaml" in message and "app.discovery.interfaces.modules" in message


def test_modules_mode_skips_classes_a_module_only_imports(project: Path) -> None:
    found = ModulesDiscoveryEngine(["disc_shop_app.reexports"]).discover()
    assert found.interfaces == () and found.models == () and found.use_cases == ()
    # A listed package collects what its own submodules define and it re-exports.
    found = ModulesDiscoveryEngine(["disc_shop_app.agg"]).discover()
    assert _names(list(found.models)) == {"DiscAggNote"}


def test_engines_standalone(project: Path) -> None:
    add = str((project / "src").resolve())
    if add not in sys.path:
        sys.path.insert(0, add)
    engines: list[DiscoveryEngine] = [
        ModulesDiscoveryEngine(["disc_shop_app.models", "disc_shop_app.interface"]),
        InterfacesDiscoveryEngine(["disc_shop_app.interface"]),
        ManifestDiscoveryEngine("disc_shop_app.manifest"),
    ]
    for engine in engines:
        assert isinstance(engine, DiscoveryEngine)
        result = engine.discover()
        assert isinstance(result, DiscoveryResult)
        assert _names(list(result.models)) == {"DiscShelf", "DiscItem"}
        assert _names(list(result.interfaces)) == {"DiscItemInterface"}
        assert _names(list(result.use_cases)) == {"CountItems"}
    with pytest.raises(ConfigError, match=r"disc_shop_app\.nope"):
        ModulesDiscoveryEngine(["disc_shop_app.nope"]).discover()


def test_warn_recommended_flags_a_module_without_interfaces(project: Path) -> None:
    with pytest.warns(UserWarning, match="disc_shop_app.models"):
        InterfacesDiscoveryEngine(["disc_shop_app.models"]).discover()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = InterfacesDiscoveryEngine(
            ["disc_shop_app.models"], warn_recommended=False
        ).discover()
    assert found.interfaces == ()
