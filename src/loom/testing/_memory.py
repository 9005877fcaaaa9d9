"""``InMemoryRepository``: the repository protocol over a dict, for fast unit tests.

It validates writes exactly as the SQL repository does (the same write structs), and
gives ``QuerySpec`` the same meaning: the same filter operators (``like`` / ``ilike``
with ``%`` and ``_`` wildcards, a backslash escaping them), SQL's NULL logic (a
comparison with NULL matches nothing), the same sort order (primary key as the
tie-breaker, NULLs last ascending and first descending), offset pages and signed
cursor tokens. Unique columns raise :class:`~loom.core.errors.Conflict`.

What it does not model: foreign keys, transactions, and database collations (text
sorts by code point, as PostgreSQL's ``C`` collation or SQLite do).

The 0.2 form ``InMemoryRepository(entity_type, id_field=, creator=)`` works too, with
``seed`` and ``list_paginated``; an ``entity_type`` that is a plain struct rather than a
model gets a simpler store (``_memory_plain.py``).
"""

from __future__ import annotations

import functools
import inspect
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import msgspec

from loom.core.errors import Conflict
from loom.core.model import ModelInfo, model_info
from loom.core.model._write import prepare_create, prepare_patch
from loom.core.projection.loading import ProfileLoader
from loom.core.repository._coerce import (
    FilterPath,
    coerce_filter_value,
    coerce_value,
    normalise_spec,
    relation_exists,
    resolve_column,
    resolve_path,
)
from loom.core.repository._listing import (
    MISSING,
    SortColumn,
    check_limit,
    check_page,
    check_profile,
    coerce_id,
    cursor_signature,
    decode_cursor,
    encode_cursor,
    sort_columns,
)
from loom.core.repository.abc.query import (
    CursorResult,
    FilterGroup,
    FilterOp,
    FilterParams,
    FilterSpec,
    PageParams,
    PageResult,
    PaginationMode,
    QuerySpec,
)
from loom.core.repository.cursor import CursorCodec

__all__ = ["InMemoryRepository", "PageList"]

_ABSENT: Any = object()
"""An argument not given: ``obj_id``/``data`` (0.2) or ``id``/``patch`` (Loom) is."""


def is_model(entity_type: Any) -> bool:
    try:
        model_info(entity_type)
    except TypeError:
        return False
    return True


M = TypeVar("M")


class PageList(list[M]):
    """A page of entities that is also a list (``list_paginated`` of the fakes)."""

    __slots__ = ("has_next", "limit", "page", "total_count")

    def __init__(self, items: Sequence[M], total_count: int, page: int, limit: int) -> None:
        super().__init__(items)
        self.total_count = total_count
        self.page = page
        self.limit = limit
        self.has_next = (page - 1) * limit + len(items) < total_count

    @property
    def items(self) -> list[M]:
        return list(self)


Row = dict[str, Any]
Predicate = Callable[[Row], bool]


@functools.lru_cache(maxsize=256)
def _like_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    out: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            out.append(re.escape(next(chars, "\\")))
        elif ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("".join(out), flags)


def _compare(op: FilterOp, left: Any, right: Any) -> bool:
    """SQL three-valued logic folded to a bool: anything compared with NULL is false."""
    if left is None or right is None:
        return False
    if op is FilterOp.EQ:
        return bool(left == right)
    if op is FilterOp.NE:
        return bool(left != right)
    if op is FilterOp.GT:
        return bool(left > right)
    if op is FilterOp.GTE:
        return bool(left >= right)
    if op is FilterOp.LT:
        return bool(left < right)
    return bool(left <= right)


class MemoryProfileLoader(ProfileLoader):
    """Read profiles over in-memory repositories: the related rows come from the
    related model's repository (``list_by``), distributed like the SQL adapter's."""

    def __init__(self, related: Callable[[type], Any]) -> None:
        self._related = related

    async def related(self, repo: Any, target: Any, column: str, keys: list[Any]) -> list[Any]:
        return await self._related(target.model).list_by(column, keys)


class InMemoryRepository(Generic[M]):
    """Rows of ``model`` kept in a dict; the same contract as ``RepositorySQLAlchemy``."""

    default_cursor_secret = "loom-default-cursor-secret"
    plain_store: ClassVar[type[Any] | None] = None
    """The store of a plain struct that is not a model: ``_memory_plain`` registers
    its subclass here when ``loom.testing`` is imported (it subclasses this one, so
    importing it from here would be an import cycle)."""

    def __new__(cls, entity_type: Any = None, *args: Any, **kwargs: Any) -> Any:
        # A plain struct (not a model) gets the simpler store; ``__signature__`` below
        # keeps ``inspect.signature(InMemoryRepository)`` showing ``__init__``'s.
        target = entity_type if entity_type is not None else kwargs.get("model")
        plain = InMemoryRepository.plain_store
        if cls is InMemoryRepository and target is not None and not is_model(target):
            if plain is None:  # pragma: no cover - loom.testing imports it
                raise TypeError(f"{target!r} is not a Loom model (import loom.testing)")
            return super().__new__(plain)
        return super().__new__(cls)

    def __init__(
        self,
        entity_type: type[M] | None = None,
        *,
        id_field: str = "id",
        creator: Callable[[Any], M] | None = None,
        cursor_secret: str | None = None,
        related: Callable[[type], Any] | None = None,
        model: type[M] | None = None,
    ) -> None:
        """``related(Model)`` gives the repository of a related model (anything with
        ``list_by``, e.g. another ``InMemoryRepository``): with it, reads load their
        profile's relations and projections as the SQL repository does, and filters
        may follow relations (``"category.name"``, ``exists``).

        ``creator(data)`` (0.2) builds the entity ``create`` stores instead of the
        model's own validation; an id it leaves empty is assigned. ``id_field`` names
        the key of a plain-struct ``entity_type`` (a model knows its own).
        """
        if entity_type is None:
            entity_type = model
        if entity_type is None:
            raise TypeError("InMemoryRepository needs the entity type (or model=)")
        model = entity_type
        self.model = model
        self.id_field = id_field
        self.creator = creator
        self.related = related
        self.info: ModelInfo = model_info(model)
        self._rows: dict[Any, Row] = {}
        self._ids = itertools.count(1)
        self._cursors = CursorCodec(cursor_secret or self.default_cursor_secret)
        self._names = list(self.info.columns)
        self._unique = [
            c.name for c in self.info.columns.values() if c.decl.unique or c.decl.primary_key
        ]
        self.profile_loader: Any = MemoryProfileLoader(related) if related is not None else None

    # -- helpers ----------------------------------------------------------------------

    def _make(self, row: Row) -> M:
        return self.model(**row)

    def _check_unique(self, row: Row, exclude: Any = MISSING) -> None:
        pk = self.info.pk.name
        for name in self._unique:
            value = row.get(name)
            if value is None:
                continue  # NULLs never collide, as in SQL
            for other in self._rows.values():
                if other[pk] != exclude and other.get(name) == value:
                    raise Conflict(f"a record with the same {name} already exists", fields=[name])

    def _predicate(self, group: FilterGroup | None) -> Predicate | None:
        if group is None:
            return None
        parts: list[Predicate] = [self._spec_predicate(f) for f in group.filters]
        for sub in group.groups:
            compiled = self._predicate(sub)
            if compiled is not None:
                parts.append(compiled)
        if not parts:
            return None
        if group.logic.upper() == "OR":
            return lambda row: any(p(row) for p in parts)
        return lambda row: all(p(row) for p in parts)

    def _spec_predicate(self, spec: FilterSpec) -> Predicate:
        spec = normalise_spec(spec)
        col = self.info.column(spec.field)
        if col is None:
            path = resolve_path(self.info, spec.field, purpose="filter")
            if path.links:
                return self._relation_predicate(path, spec)
            col = path.column
            assert col is not None
        name = col.name
        value = coerce_filter_value(col, spec)
        op = spec.op
        if op in (FilterOp.EXISTS, FilterOp.NOT_EXISTS):
            op = FilterOp.IS_NULL  # on a column: NOT NULL / NULL (``value`` says which)
        if op is FilterOp.IS_NULL or (value is None and op in (FilterOp.EQ, FilterOp.NE)):
            want_null = value if op is FilterOp.IS_NULL else op is FilterOp.EQ
            return lambda row: (row[name] is None) is bool(want_null)
        if op is FilterOp.IN:
            options = [v for v in value if v is not None]
            return lambda row: row[name] is not None and row[name] in options
        if op in (FilterOp.LIKE, FilterOp.ILIKE):
            regex = _like_regex(value, op is FilterOp.ILIKE)
            return lambda row: row[name] is not None and regex.fullmatch(row[name]) is not None
        return lambda row: _compare(op, row[name], value)

    def _relation_predicate(self, path: FilterPath, spec: FilterSpec) -> Predicate:
        """Some row of the first relation matches the rest of the path (or, for
        ``exists``, the sub-filter), as the SQL repository's EXISTS subquery."""
        link = path.links[0]
        target = self._related_repository(link.target.model, spec.field)
        rest = spec.field.split(".", 1)[1] if "." in spec.field else None
        inner: Predicate | None = None
        negated = False
        if rest is not None:
            inner = target._spec_predicate(FilterSpec(rest, spec.op, spec.value))
        else:
            sub, negated = relation_exists(spec)
            if sub is not None:
                inner = target._predicate(sub)
        local, remote = link.local_column, link.remote_column
        hop = link.through
        if hop is not None:  # many-to-many: through the association's rows
            pairs = self._related_repository(hop.table.model, spec.field)

            def linked(row: Row) -> bool:
                key = row[local]
                refs = {p[hop.remote] for p in pairs._rows.values() if p[hop.local] == key}
                found = key is not None and any(
                    other[remote] in refs and (inner is None or inner(other))
                    for other in target._rows.values()
                )
                return found is not negated

            return linked

        def matches(row: Row) -> bool:
            key = row[local]
            found = key is not None and any(
                other[remote] == key and (inner is None or inner(other))
                for other in target._rows.values()
            )
            return found is not negated

        return matches

    def _related_repository(self, model: type, field: str) -> InMemoryRepository[Any]:
        repo = self.related(model) if self.related is not None else None
        if not isinstance(repo, InMemoryRepository):
            raise TypeError(
                f"InMemoryRepository({self.info.name}): filtering on {field!r} reads "
                f"{model.__name__} rows; build it with related=<Model -> its "
                "InMemoryRepository>"
            )
        return repo

    def _select(self, group: FilterGroup | None) -> list[Row]:
        predicate = self._predicate(group)
        rows = list(self._rows.values())
        return rows if predicate is None else [r for r in rows if predicate(r)]

    @staticmethod
    def _order(keys: Sequence[SortColumn]) -> Callable[[Sequence[Any], Sequence[Any]], int]:
        """Compares key tuples: NULL above every value, then each key's direction."""

        def cmp(a: Sequence[Any], b: Sequence[Any]) -> int:
            for key, x, y in zip(keys, a, b, strict=True):
                if x == y or (x is None and y is None):
                    continue
                if x is None:
                    result = 1
                elif y is None:
                    result = -1
                else:
                    result = 1 if x > y else -1
                return -result if key.desc else result
            return 0

        return cmp

    async def _with_profile(self, items: list[M], profile: str) -> list[M]:
        check_profile(self.info, profile)
        if not items or self.profile_loader is None:
            return items
        return await self.profile_loader.load(self, items, profile)

    # -- CRUD -------------------------------------------------------------------------

    async def create(self, data: msgspec.Struct | Mapping[str, Any]) -> M:
        if self.creator is not None:
            values = self._row_of(self.creator(data))
        else:
            values = prepare_create(self.info, data)
        row: Row = dict.fromkeys(self._names)
        row.update(values)
        pk = self.info.pk
        if pk.decl.autoincrement and row.get(pk.name) is None:
            row[pk.name] = next(self._ids)
            while row[pk.name] in self._rows:
                row[pk.name] = next(self._ids)
        self._check_unique(row)
        self._rows[row[pk.name]] = row
        return self._make(row)

    async def get_by_id(
        self, obj_id: Any = _ABSENT, profile: str = "default", *, id: Any = _ABSENT
    ) -> M | None:
        check_profile(self.info, profile)
        key = coerce_id(self.info, obj_id if id is _ABSENT else id)
        row = self._rows.get(key) if key is not MISSING else None
        if row is None:
            return None
        return (await self._with_profile([self._make(row)], profile))[0]

    async def update(
        self,
        obj_id: Any = _ABSENT,
        data: msgspec.Struct | Mapping[str, Any] = _ABSENT,
        *,
        id: Any = _ABSENT,
        patch: msgspec.Struct | Mapping[str, Any] = _ABSENT,
    ) -> M | None:
        values = prepare_patch(self.info, data if patch is _ABSENT else patch)
        key = coerce_id(self.info, obj_id if id is _ABSENT else id)
        row = self._rows.get(key) if key is not MISSING else None
        if row is None:
            return None
        updated = {**row, **values}
        self._check_unique(updated, exclude=key)
        self._rows[key] = updated
        return self._make(updated)

    async def delete(self, obj_id: Any = _ABSENT, *, id: Any = _ABSENT) -> bool:
        key = coerce_id(self.info, obj_id if id is _ABSENT else id)
        return key is not MISSING and self._rows.pop(key, None) is not None

    async def count(self, filters: FilterGroup | None = None) -> int:
        return len(self._select(filters))

    async def exists_by(self, field: str, value: Any) -> bool:
        spec = FilterSpec(field=field, op=FilterOp.EQ, value=value)
        return bool(self._select(FilterGroup(filters=(spec,))))

    async def exists(self, obj_id: Any) -> bool:
        key = coerce_id(self.info, obj_id)
        return key is not MISSING and key in self._rows

    async def get_by(self, field: str, value: Any, profile: str = "default") -> M | None:
        """The first row (in primary-key order) whose ``field`` equals ``value``."""
        check_profile(self.info, profile)
        spec = FilterSpec(field, FilterOp.EQ, value)
        rows = self._select(FilterGroup((spec,)))
        if not rows:
            return None
        pk = self.info.pk.name
        first = min(rows, key=lambda r: r[pk])
        return (await self._with_profile([self._make(first)], profile))[0]

    async def list_paginated(
        self,
        page_params: PageParams,
        filter_params: FilterParams | Mapping[str, Any] | None = None,
        profile: str = "default",
    ) -> PageList[M]:
        """One offset page in primary-key order: a list (as 0.2's fake returned) that
        also carries the page's ``items``, ``total_count``, ``page``, ``limit`` and
        ``has_next``, like the SQL repository's ``PageResult``."""
        page = page_params if page_params is not None else PageParams()
        if isinstance(filter_params, Mapping):
            filter_params = FilterParams(filters=dict(filter_params))
        group = filter_params.group() if filter_params is not None else None
        result = await self.list_with_query(
            QuerySpec(group, (), limit=page.limit, page=page.page), profile
        )
        assert isinstance(result, PageResult)
        return PageList(result.items, result.total_count, result.page, result.limit)

    def seed(self, *entities: M | Mapping[str, Any]) -> list[M]:
        """Store ``entities`` as they are (no validation; an empty auto id is assigned)
        and return them as stored."""
        stored: list[M] = []
        pk = self.info.pk.name
        for entity in entities:
            row: Row = dict.fromkeys(self._names)
            row.update(self._row_of(entity))
            if row.get(pk) is None:
                row[pk] = self._next_id()
            self._rows[row[pk]] = row
            stored.append(self._make(row))
        return stored

    def _next_id(self) -> Any:
        key = next(self._ids)
        while key in self._rows:
            key = next(self._ids)
        return key

    def _row_of(self, entity: Any) -> Row:
        """The column values of an entity, a struct with same-named fields or a mapping."""
        if isinstance(entity, Mapping):
            by_wire = self.info.by_wire_name
            items = ((by_wire.get(k), v) for k, v in entity.items())
        else:
            items = ((n, getattr(entity, n, msgspec.UNSET)) for n in self._names)
        return {n: v for n, v in items if n is not None and v is not msgspec.UNSET}

    async def list_by(self, field: str, values: Sequence[Any]) -> list[M]:
        """Every row whose ``field`` is one of ``values``, in primary-key order."""
        if not values:
            return []
        col = resolve_column(self.info, field, purpose="lookup")
        wanted = [coerce_value(col, v, field) for v in values]
        rows = [r for r in self._rows.values() if r[col.name] is not None and r[col.name] in wanted]
        rows.sort(key=lambda r: r[self.info.pk.name])
        return [self._make(r) for r in rows]

    # -- lists ------------------------------------------------------------------------

    async def list_with_query(
        self, query: QuerySpec, profile: str = "default"
    ) -> PageResult[M] | CursorResult[M]:
        check_profile(self.info, profile)
        limit = check_limit(query)
        rows = self._select(query.filters)
        keys = sort_columns(self.info, query.sort)
        cmp = self._order(keys)
        names = [k.col.name for k in keys]

        def key_of(row: Row) -> list[Any]:
            return [row[n] for n in names]

        rows.sort(key=functools.cmp_to_key(lambda a, b: cmp(key_of(a), key_of(b))))
        if query.pagination is PaginationMode.CURSOR:
            signature = cursor_signature(self.info, keys, query.filters)
            if query.cursor:
                after = decode_cursor(self._cursors, query.cursor, signature, keys)
                rows = [r for r in rows if cmp(key_of(r), after) > 0]
            has_next = len(rows) > limit
            items = [self._make(r) for r in rows[:limit]]
            next_cursor = (
                encode_cursor(self._cursors, signature, keys, items[-1])
                if has_next and items
                else None
            )
            items = await self._with_profile(items, profile)
            return CursorResult(items=items, next_cursor=next_cursor, has_next=has_next)
        page, offset = check_page(query, limit)
        window = rows[offset : offset + limit]
        items = await self._with_profile([self._make(r) for r in window], profile)
        return PageResult(
            items=items,
            total_count=len(rows),
            page=page,
            limit=limit,
            has_next=offset + len(window) < len(rows),
        )

    # -- test conveniences ------------------------------------------------------------

    def all(self) -> list[M]:
        """Every stored entity, in primary-key order."""
        return [self._make(self._rows[k]) for k in sorted(self._rows)]

    def clear(self) -> None:
        self._rows.clear()
        self._ids = itertools.count(1)


InMemoryRepository.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    list(inspect.signature(InMemoryRepository.__init__).parameters.values())[1:]
)
