"""0.2 signature pins for the repository layer, and behaviour from API-0.2.md's
descriptions (query structs, paging inputs, the in-memory fake, the backend module)."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import msgspec
import pytest

from loom.core.model import BaseModel, ColumnField
from loom.core.repository import (
    FilterGroup,
    FilterOp,
    FilterParams,
    FilterSpec,
    MutationEvent,
    PageParams,
    PageResult,
    PaginationMode,
    QuerySpec,
    SortSpec,
    build_page_result,
)
from loom.testing import InMemoryRepository

EMPTY = inspect.Parameter.empty

EXPORTS = {
    "loom.core.repository": [
        "RepoFor",
        "Repository",
        "PageParams",
        "FilterParams",
        "PageResult",
        "CursorResult",
        "QuerySpec",
        "FilterSpec",
        "FilterGroup",
        "FilterOp",
        "SortSpec",
        "PaginationMode",
        "build_page_result",
        "MutationEvent",
    ],
    "loom.core.repository.abc": [
        "RepoFor",
        "Repository",
        "RepositoryRead",
        "RepositoryWrite",
        "OutputT",
        "CreateT",
        "UpdateT",
        "IdT",
        "QuerySpec",
        "FilterSpec",
        "FilterGroup",
        "FilterOp",
        "SortSpec",
        "PageResult",
        "CursorResult",
        "PaginationMode",
        "PageParams",
        "FilterParams",
        "build_page_result",
        "MutationEvent",
    ],
    "loom.core.repository.abc.query": [
        "QuerySpec",
        "FilterSpec",
        "FilterGroup",
        "FilterOp",
        "SortSpec",
        "PageResult",
        "CursorResult",
        "PaginationMode",
        "PageParams",
        "FilterParams",
        "build_page_result",
    ],
    "loom.core.repository.sqlalchemy": [
        "RepositorySQLAlchemy",
        "repository_for",
        "with_session_scope",
        "transactional",
        "SessionManager",
    ],
    "loom.core.backend.sqlalchemy": [
        "compile_all",
        "compile_model",
        "get_compiled",
        "get_compiled_core",
        "get_metadata",
        "reset_registry",
        "SABase",
    ],
    "loom.testing": ["InMemoryRepository"],
}


@pytest.mark.parametrize("module", sorted(EXPORTS))
def test_every_name_imports(module: str) -> None:
    mod = importlib.import_module(module)
    missing = [name for name in EXPORTS[module] if not hasattr(mod, name)]
    assert missing == []


def _params(obj: Any) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(obj).parameters)


def _pin(obj: Any, expected: list[tuple[str, Any]], *, kw_only: bool = False) -> None:
    """The leading parameters of ``obj`` are ``expected`` (name, default); Loom's own
    extra parameters may follow. ``EMPTY`` pins only the name (0.2 required it; Loom
    may give a default)."""
    params = [p for p in _params(obj).values() if p.name != "self"]
    got = params[: len(expected)]
    assert [p.name for p in got] == [name for name, _ in expected]
    for p, (_, default) in zip(got, expected, strict=True):
        if default is not EMPTY:
            assert p.default == default, p.name
        if kw_only:
            assert p.kind is inspect.Parameter.KEYWORD_ONLY, p.name


def test_query_struct_signatures() -> None:
    _pin(
        QuerySpec,
        [
            ("filters", None),
            ("sort", ()),
            ("pagination", PaginationMode.OFFSET),
            ("limit", 50),
            ("page", 1),
            ("cursor", None),
        ],
    )
    _pin(FilterSpec, [("field", EMPTY), ("op", EMPTY), ("value", None)])
    _pin(FilterGroup, [("filters", EMPTY), ("op", "AND")])
    _pin(SortSpec, [("field", EMPTY), ("direction", "ASC")])
    _pin(PageParams, [("page", 1), ("limit", 50)], kw_only=True)
    _pin(FilterParams, [("filters", EMPTY)], kw_only=True)  # default: a fresh {} each
    _pin(build_page_result, [("items", EMPTY), ("total_count", EMPTY), ("page_params", EMPTY)])
    _pin(
        MutationEvent,
        [
            ("entity", EMPTY),
            ("op", EMPTY),
            ("ids", EMPTY),
            ("changed_fields", frozenset()),
            ("tags", frozenset()),
        ],
    )
    assert {op.name for op in FilterOp} >= {
        "EQ",
        "NE",
        "GT",
        "GTE",
        "LT",
        "LTE",
        "IN",
        "LIKE",
        "ILIKE",
        "IS_NULL",
        "EXISTS",
        "NOT_EXISTS",
    }


def test_repository_method_signatures() -> None:
    from loom.core.repository import RepoFor
    from loom.core.repository.sqlalchemy import RepositorySQLAlchemy

    methods: dict[str, list[tuple[str, Any]]] = {
        "create": [("data", EMPTY)],
        "get_by_id": [("obj_id", EMPTY), ("profile", "default")],
        "get_by": [("field", EMPTY), ("value", EMPTY), ("profile", "default")],
        "list_paginated": [
            ("page_params", EMPTY),
            ("filter_params", None),
            ("profile", "default"),
        ],
        "list_with_query": [("query", EMPTY), ("profile", "default")],
        "update": [("obj_id", EMPTY), ("data", EMPTY)],
        "delete": [("obj_id", EMPTY)],
        "exists_by": [("field", EMPTY), ("value", EMPTY)],
    }
    for cls in (RepoFor, RepositorySQLAlchemy, InMemoryRepository):
        for name, expected in methods.items():
            _pin(getattr(cls, name), expected)
        _pin(cls.count, [])
    for cls in (RepositorySQLAlchemy, InMemoryRepository):
        _pin(cls.exists, [("obj_id", EMPTY)])
    _pin(RepositorySQLAlchemy, [("session_manager", EMPTY), ("model", EMPTY)])
    assert RepositorySQLAlchemy.allowed_filter_fields == ()


def test_session_and_backend_signatures() -> None:
    from loom.core.backend import sqlalchemy as backend
    from loom.core.repository.sqlalchemy import SessionManager, transactional, with_session_scope

    _pin(
        SessionManager,
        [
            ("url", EMPTY),
            ("echo", False),
            ("pool_pre_ping", True),
            ("pool_size", 10),
            ("max_overflow", 20),
            ("pool_timeout", 30),
            ("pool_recycle", 1800),
            ("connect_args", None),
            ("inject_trace_id", True),
        ],
    )
    assert _params(SessionManager)["engine_kwargs"].kind is inspect.Parameter.VAR_KEYWORD
    for attr in ("session", "engine", "session_factory", "dispose"):
        assert hasattr(SessionManager, attr)
    _pin(with_session_scope, [("method", EMPTY)])
    _pin(transactional, [("method", EMPTY)])
    assert _params(backend.compile_all)["models"].kind is inspect.Parameter.VAR_POSITIONAL
    for fn in (backend.compile_model, backend.get_compiled, backend.get_compiled_core):
        _pin(fn, [("cls", EMPTY)])
    assert _params(backend.get_metadata) == {} and _params(backend.reset_registry) == {}


def test_in_memory_repository_signature() -> None:
    _pin(InMemoryRepository, [("entity_type", EMPTY)])
    params = _params(InMemoryRepository)
    assert (
        params["id_field"].default == "id"
        and params["id_field"].kind is params["id_field"].KEYWORD_ONLY
    )
    assert (
        params["creator"].default is None
        and params["creator"].kind is params["creator"].KEYWORD_ONLY
    )
    # Loom's own keywords stay.
    assert {"cursor_secret", "related"} <= set(params)


# -- behaviour -------------------------------------------------------------------------


def test_page_params_validate_and_give_the_offset() -> None:
    assert PageParams().page == 1 and PageParams().limit == 50
    assert PageParams(page=3, limit=20).offset == 40
    for bad in ({"page": 0}, {"limit": 0}, {"limit": 1001}, {"page": -1}):
        with pytest.raises(ValueError):
            PageParams(**bad)
    assert PageParams(limit=1000).limit == 1000
    with pytest.raises(TypeError):
        PageParams(2)


def test_build_page_result_has_next() -> None:
    page = build_page_result(["a", "b"], 5, PageParams(page=2, limit=2))
    assert isinstance(page, PageResult)
    assert (page.items, page.total_count, page.page, page.limit, page.has_next) == (
        ["a", "b"],
        5,
        2,
        2,
        True,
    )
    assert not build_page_result(["e"], 5, PageParams(page=3, limit=2)).has_next
    assert msgspec.json.decode(msgspec.json.encode(page)) == {
        "items": ["a", "b"],
        "total_count": 5,
        "page": 2,
        "limit": 2,
        "has_next": True,
    }


def test_positional_structs() -> None:
    spec = FilterSpec("name", FilterOp.ILIKE, "%a%")
    assert (spec.field, spec.op, spec.value) == ("name", FilterOp.ILIKE, "%a%")
    group = FilterGroup((spec,), "OR")
    assert group.op == "OR" and group.logic == "OR"
    assert FilterGroup(logic="OR").op == "OR"  # Loom's keyword sets the same thing
    with pytest.raises(ValueError):
        FilterGroup((), "XOR")
    with pytest.raises(ValueError):
        FilterGroup((), op="AND", logic="sometimes")
    # 0.2 nests a group among the filters; Loom keeps it in ``groups``.
    nested = FilterGroup((spec, FilterGroup((FilterSpec("a", FilterOp.EQ, 1),), "OR")))
    assert nested.filters == (spec,) and nested.groups[0].op == "OR"
    sort = SortSpec("created_at", "desc")
    assert sort.direction == "DESC"
    query = QuerySpec(group, (sort,), PaginationMode.CURSOR, 10, 1, "tok")
    assert (query.limit, query.cursor, query.pagination) == (10, "tok", PaginationMode.CURSOR)
    assert FilterParams(filters={"a": 1}).filters == {"a": 1} and FilterParams().filters == {}


def test_mutation_event() -> None:
    event = MutationEvent("Product", "update", [1, 2], {"price"})
    assert event.ids == (1, 2) and event.changed_fields == frozenset({"price"})
    assert event.tags == frozenset()
    assert hash(event) == hash(MutationEvent("Product", "update", (1, 2), frozenset({"price"})))


class CpProduct(BaseModel):
    __tablename__ = "cp_products"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=40)
    price: int = ColumnField(default=0)
    note: str | None = None


class CpCreate(msgspec.Struct):
    name: str
    price: int = 0
    extra: str = "ignored"  # no such field on the model: not copied


class CpUpdate(msgspec.Struct):
    name: str | None = None
    price: int | None = None


class PlainItem(msgspec.Struct, frozen=True):
    id: int | None = None
    title: str = ""
    qty: int = 0


async def test_in_memory_seed_create_update_list_on_a_model() -> None:
    repo = InMemoryRepository(CpProduct)
    repo.seed(CpProduct(id=10, name="seeded", price=5))
    created = await repo.create(CpCreate(name="made", price=3))
    assert (created.name, created.price) == ("made", 3) and created.id not in (None, 10)
    # Fields left None in a struct built in code are not sent, so not written.
    updated = await repo.update(created.id, CpUpdate(price=9))
    assert (updated.name, updated.price) == ("made", 9)
    assert (await repo.get_by("name", "seeded")).id == 10
    page = await repo.list_paginated(PageParams(page=1, limit=1))
    assert page == [created.__class__(**{**msgspec.structs.asdict(updated)})]
    assert page.total_count == 2 and page.has_next and page.items == list(page)
    assert await repo.exists(10) and not await repo.exists(11)
    assert await repo.delete(10) and await repo.get_by_id(10) is None


async def test_in_memory_plain_struct_with_id_field_and_creator() -> None:
    repo = InMemoryRepository(PlainItem)
    repo.seed(PlainItem(title="a"), PlainItem(title="b", qty=2))
    assert [i.id for i in repo.all()] == [1, 2]
    made = await repo.create({"title": "c", "qty": 1, "unknown": True})
    assert made == PlainItem(id=3, title="c", qty=1)
    assert (await repo.update(3, {"qty": 7})).qty == 7
    assert await repo.get_by_id(99) is None
    assert [
        i.title for i in await repo.list_paginated(PageParams(), FilterParams(filters={"qty": 2}))
    ] == ["b"]

    def build(data: Any) -> PlainItem:
        return PlainItem(title=data["title"].upper())

    custom = InMemoryRepository(PlainItem, creator=build)
    assert await custom.create({"title": "x"}) == PlainItem(id=1, title="X")

    class Keyed(msgspec.Struct):
        key: str
        value: int = 0

    keyed = InMemoryRepository(Keyed, id_field="key")
    keyed.seed(Keyed("k1", 1))
    assert (await keyed.get_by_id("k1")).value == 1
    with pytest.raises(TypeError, match="no field"):
        InMemoryRepository(Keyed, id_field="id")


async def test_in_memory_creator_on_a_model() -> None:
    def build(data: Any) -> CpProduct:
        return CpProduct(id=None, name=data["name"].strip(), price=data.get("price", 1))  # type: ignore[arg-type]

    repo = InMemoryRepository(CpProduct, creator=build)
    made = await repo.create({"name": "  padded "})
    assert (made.id, made.name, made.price) == (1, "padded", 1)
    assert await repo.get_by_id(1) == made
