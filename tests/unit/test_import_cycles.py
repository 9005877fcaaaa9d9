"""No import cycles among Loom's modules.

A cycle makes the import order matter (which module is half-initialised when the
other reads it) and stops either module from being understood, tested or moved
alone. The graph is built from the source: an edge for every ``import`` and ``from
... import`` of a Loom module, imports inside functions included (they only defer a
cycle); those under ``if TYPE_CHECKING:`` are not (they never run). An import names
the most specific module it loads (``from loom.a import b`` is ``loom.a.b`` when that
is a module, else ``loom.a``); the packages around a module are not counted, or every
package importing its own submodules would be a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator
from pathlib import Path

from tests.import_graph import SRC, from_base, import_nodes, module_of


def _modules() -> dict[str, tuple[Path, bool]]:
    """Loom module name -> its file and whether it is a package."""
    found = {}
    for path in sorted((SRC / "loom").rglob("*.py")):
        name, is_package = module_of(path)
        found[name] = (path, is_package)
    return found


def _targets(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: Collection[str]
) -> set[str]:
    """The Loom modules an import loads: the most specific known module it names."""
    found = set()
    if isinstance(node, ast.Import):
        for alias in node.names:
            name = alias.name
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
        return found
    base = from_base(node, module, is_package)
    for alias in node.names:
        child = f"{base}.{alias.name}"
        if child in known:
            found.add(child)
        elif base in known:
            found.add(base)
    return found


def import_graph() -> dict[str, set[str]]:
    """Loom module -> the Loom modules it imports at run time."""
    known = _modules()
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in known.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        edges: set[str] = set()
        for node in import_nodes(tree):
            edges |= _targets(node, name, is_package, known)
        edges.discard(name)
        graph[name] = edges
    return graph


def _components(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                members = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.append(member)
                    if member == node:
                        break
                if len(members) > 1:
                    found.append(sorted(members))
    return found


def _cycle_in(graph: dict[str, set[str]], members: list[str]) -> list[str]:
    """One shortest cycle through the first module of a component (breadth-first)."""
    inside = set(members)
    start = members[0]
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & inside):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    return members  # pragma: no cover - a component always has a cycle


def find_cycles() -> list[str]:
    graph = import_graph()
    return [" -> ".join(_cycle_in(graph, members)) for members in _components(graph)]


def test_the_graph_sees_deferred_imports_and_skips_type_checking_ones() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from loom.core.uow import UnitOfWork\n"
        "def f():\n    from loom.core import errors\n"
    )
    tree = ast.parse(source)
    known = _modules()
    targets = set()
    for node in import_nodes(tree):
        targets |= _targets(node, "loom.x", False, known)
    assert targets == {"loom.core.errors"}


def test_a_cycle_is_found_and_named() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _components(graph) == [["a", "b", "c"]]
    assert _cycle_in(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]


def test_no_import_cycles_among_loom_modules() -> None:
    cycles = find_cycles()
    assert not cycles, "import cycles (break each one):\n" + "\n".join(cycles)
