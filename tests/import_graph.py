"""Reading a module's imports from its source, for the tests that guard Loom's shape.

The layering test (what the core and ``loom.rest.asgi`` may import), the import-cycle
test and the job-host test (nothing in ``loom.core.job`` sees the runtime) all ask
the same questions of a source file: which import statements it has, which of them
run (``if TYPE_CHECKING:`` bodies never do), and which absolute module names a
relative ``from`` import means. One reading, so the three cannot disagree on what
counts as an import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

ImportNode = ast.Import | ast.ImportFrom


def module_of(path: Path) -> tuple[str, bool]:
    """A source file's module name under ``src/``, and whether it is a package's
    ``__init__`` (a relative import in a package starts from the package itself)."""
    parts = path.relative_to(SRC).with_suffix("").parts
    is_package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_package else parts), is_package


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def import_nodes(tree: ast.AST, *, typing_only: bool = False) -> Iterator[ImportNode]:
    """The import statements of ``tree`` at any depth (inside functions too: they
    only defer the import). Those under ``if TYPE_CHECKING:`` are skipped (they never
    run; the ``else`` branch is kept) unless ``typing_only``, for a rule that a module
    must not even name another in its annotations."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
            continue
        if not typing_only and isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def from_base(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module a ``from ... import`` reads from (relative ones resolved
    against ``module``)."""
    if not node.level:
        return node.module or ""
    package = module if is_package else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def imported_names(node: ImportNode, module: str, is_package: bool) -> list[str]:
    """The absolute names an import may load: ``import a.b`` -> ``a.b``; ``from a
    import b`` -> ``a`` and ``a.b`` (``b`` may be a submodule)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = from_base(node, module, is_package)
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def names_under(names: list[str] | set[str], prefixes: tuple[str, ...]) -> list[str]:
    """The names that are one of ``prefixes`` or inside one, sorted."""
    return sorted(n for n in names if any(n == p or n.startswith(p + ".") for p in prefixes))
