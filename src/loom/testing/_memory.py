"""``InMemoryRepository``: the repository protocol over a dict, for fast unit tests.

It validates writes exactly as the SQL repository does (the same write structs), and
gives ``QuerySpec`` the same meaning: the same filter operators (``like`` / ``ilike``
with ``%`` and ``_`` wildcards, a backslash escaping them), SQL's NULL logic (a
comparison with NULL matches nothing), the same sort order (primary key as the
tie-breaker, NULLs last ascending and first descending), offset pages and signed
cursor tokens. Unique columns raise :class:`~loom.core.errors.Conflict`.

What it does not model: foreign keys, transactions, and database collations (text
sorts by code point, as PostgreSQL's ``C`` collation or SQLite do).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import msgspec

from loom.core.errors import Conflict
from loom.core.model import ModelInfo, model_info
from loom.core.model._write import prepare_create, prepare_patch
from loom.core.projection.loading import ProfileLoader
from loom.core.repository._coerce import (
    coerce_filter_value,
    coerce_value,
    normalise_spec,
    resolve_column,
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
    FilterSpec,
    PageResult,
    PaginationMode,
    QuerySpec,
)
from loom.core.repository.cursor import CursorCodec

__all__ = ["InMemoryRepository"]

M = TypeVar("M")

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

    def __init__(
        self,
        model: type[M],
        *,
        cursor_secret: str | None = None,
        related: Callable[[type], Any] | None = None,
    ) -> None:
        """``related(Model)`` gives the repository of a related model (anything with
        ``list_by``, e.g. another ``InMemoryRepository``): with it, reads load their
        profile's relations and projections as the SQL repository does."""
        self.model = model
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
        col = resolve_column(self.info, spec.field, purpose="filter")
        name = col.name
        value = coerce_filter_value(col, spec)
        op = spec.op
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
        if profile == "default" or not items or self.profile_loader is None:
            return items
        return await self.profile_loader.load(self, items, profile)

    # -- CRUD -------------------------------------------------------------------------

    async def create(self, data: msgspec.Struct | Mapping[str, Any]) -> M:
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

    async def get_by_id(self, id: Any, profile: str = "default") -> M | None:
        check_profile(self.info, profile)
        key = coerce_id(self.info, id)
        row = self._rows.get(key) if key is not MISSING else None
        if row is None:
            return None
        return (await self._with_profile([self._make(row)], profile))[0]

    async def update(self, id: Any, patch: msgspec.Struct | Mapping[str, Any]) -> M | None:
        values = prepare_patch(self.info, patch)
        key = coerce_id(self.info, id)
        row = self._rows.get(key) if key is not MISSING else None
        if row is None:
            return None
        updated = {**row, **values}
        self._check_unique(updated, exclude=key)
        self._rows[key] = updated
        return self._make(updated)

    async def delete(self, id: Any) -> bool:
        key = coerce_id(self.info, id)
        return key is not MISSING and self._rows.pop(key, None) is not None

    async def count(self, filters: FilterGroup | None = None) -> int:
        return len(self._select(filters))

    async def exists_by(self, field: str, value: Any) -> bool:
        spec = FilterSpec(field=field, op=FilterOp.EQ, value=value)
        return bool(self._select(FilterGroup(filters=(spec,))))

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
