"""``loom.core`` depends on no web framework, task queue or SQL toolkit, nor on Loom's
adapters; only the SQLAlchemy adapters inside it (``loom.core.repository.sqlalchemy``
and the 0.2 API's ``loom.core.backend.sqlalchemy`` over it) import SQLAlchemy. Checked
on the source, imports inside functions included."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "src" / "loom" / "core"
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
