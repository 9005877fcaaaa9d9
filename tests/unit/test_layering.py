"""``loom.core`` depends on no web framework, task queue or SQL toolkit, nor on Loom's
adapters; only the SQLAlchemy adapters inside it (``loom.core.repository.sqlalchemy``
and the 0.2 API's ``loom.core.backend.sqlalchemy`` over it) import SQLAlchemy. Checked
on the source, imports inside functions included. ``loom.rest.asgi`` imports no
FastAPI (see below)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.import_graph import SRC, import_nodes, imported_names, module_of, names_under

CORE = SRC / "loom" / "core"
ADAPTERS = (CORE / "repository" / "sqlalchemy", CORE / "backend" / "sqlalchemy")
FORBIDDEN = ("fastapi", "starlette", "celery", "kombu", "sqlalchemy", "loom.rest", "loom.celery")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_core_imports_no_framework_and_no_adapter() -> None:
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        in_adapter = any(adapter in path.parents for adapter in ADAPTERS)
        for name in _imports(path):
            if name == "loom.core.repository.sqlalchemy" or name.startswith(
                "loom.core.repository.sqlalchemy."
            ):
                if not in_adapter:
                    offenders.append(f"{path.relative_to(CORE)}: {name}")
                continue
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
                if in_adapter and name.split(".")[0] == "sqlalchemy":
                    continue
                offenders.append(f"{path.relative_to(CORE)}: {name}")
    assert offenders == []


# ``loom.rest.asgi`` holds the REST adapter's parts that serve a request without
# FastAPI, so that a second shell could reuse them: none of its modules may import
# FastAPI or the FastAPI shell (``loom.rest.fastapi``, which depends on it, not the
# other way round). Imports inside functions count (they run on first call); those
# under ``if TYPE_CHECKING:`` do not (they never run). The statements are found with
# the same walk as the import-cycle test.
ASGI = SRC / "loom" / "rest" / "asgi"
NOT_IN_ASGI = ("fastapi", "loom.rest.fastapi")


def _run_time_imports(source: str, module: str, is_package: bool) -> set[str]:
    """The absolute names a module's run-time imports may load."""
    names: set[str] = set()
    for node in import_nodes(ast.parse(source)):
        names.update(imported_names(node, module, is_package))
    return names


def test_the_import_walk_sees_deferred_and_relative_imports_but_not_type_checking_ones() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from fastapi import FastAPI\n"
        "def f():\n    import fastapi.routing\n"
        "from ..fastapi import app\n"
    )
    names = _run_time_imports(source, "loom.rest.asgi._x", is_package=False)
    assert names_under(names, NOT_IN_ASGI) == [
        "fastapi.routing",
        "loom.rest.fastapi",
        "loom.rest.fastapi.app",
    ]


def test_rest_asgi_imports_no_fastapi() -> None:
    paths = sorted(ASGI.rglob("*.py"))
    assert len(paths) > 1, f"no modules found under {ASGI}"
    offenders = []
    for path in paths:
        names = _run_time_imports(path.read_text(), *module_of(path))
        offenders += [
            f"{path.relative_to(SRC)}: {name}" for name in names_under(names, NOT_IN_ASGI)
        ]
    assert offenders == []


def test_importing_every_rest_asgi_module_loads_no_fastapi() -> None:
    """What the source check cannot see: a module it imports that imports FastAPI.
    Run in a fresh interpreter, where nothing else has loaded FastAPI yet."""
    modules = [module_of(path)[0] for path in sorted(ASGI.rglob("*.py"))]
    probe = f"import sys, {', '.join(modules)}; print('fastapi' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "False"
