"""Statements built once with named bind parameters, and their SQL for asyncpg.

A list request used to build its SELECT per call (one expression per filter, the
sort keys, a cache key walk over the whole tree): most of the CPU a filtered list
costs outside the database. Here a statement is built once per *shape* (which
columns are filtered with which operators, the sort order, NULL tests, the number
of values of an ``in``); a request with the same shape only binds its values.

SQLAlchemy runs a :class:`Prepared` like any statement (``execute(stmt, params)``);
on asyncpg it is compiled once per dialect to ``$n`` SQL whose arguments come from
the same parameter dict, so both paths read the values from one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.util import LRUCache

from loom.core.repository.sqlalchemy._query import SortKey, build_where, keyset_predicate

__all__ = [
    "KEYS",
    "LIMIT",
    "OFFSET",
    "DriverSQL",
    "Hop",
    "Prepared",
    "Shapes",
    "SortKeys",
    "driver_sql",
    "filter_params",
    "keyset_params",
]

LIMIT = "_loom_limit"
OFFSET = "_loom_offset"
KEYS = "_loom_keys"


class DriverSQL(NamedTuple):
    """A statement compiled for asyncpg: ``$n`` SQL and where each argument comes from."""

    sql: str
    order: tuple[str, ...]
    constants: dict[str, Any]
    """Values the statement carries itself (e.g. the ``1`` of a NULL-ordering flag)."""
    processors: tuple[Callable[[Any], Any] | None, ...] | None
    """Per argument, the column type's bind processor (e.g. naive datetimes read as
    UTC), applied as SQLAlchemy would; None when no argument has one."""

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        merged = {**self.constants, **values} if self.constants else values
        args = [merged[name] for name in self.order]
        if self.processors is not None:
            args = [
                value if process is None or value is None else process(value)
                for process, value in zip(self.processors, args, strict=True)
            ]
        return args


def driver_sql(
    statement: Any, dialect: Any, column_keys: Sequence[str] | None = None
) -> DriverSQL | None:
    """``statement`` compiled for the asyncpg connection, or None when only
    SQLAlchemy can run it (expanding or literal-rendered parameters)."""
    compiled = statement.compile(
        dialect=dialect, column_keys=list(column_keys) if column_keys is not None else None
    )
    if compiled.post_compile_params or compiled.literal_execute_params:
        return None
    order = tuple(compiled.positiontup or ())
    try:  # private API: without it, SQLAlchemy runs the statement itself
        found = compiled._bind_processors
    except AttributeError:  # pragma: no cover - a future SQLAlchemy
        return None
    processors = tuple(found.get(name) for name in order)
    if any(isinstance(process, tuple) for process in processors):
        return None  # tuple-typed parameters: SQLAlchemy's business
    constants = {
        name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required
    }
    has_processors = any(process is not None for process in processors)
    return DriverSQL(compiled.string, order, constants, processors if has_processors else None)


class Prepared:
    """A statement whose request values are named bind parameters, built once."""

    __slots__ = ("_driver", "statement")

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._driver: dict[Any, DriverSQL | None] = {}

    def driver(self, dialect: Any) -> DriverSQL | None:
        try:
            return self._driver[dialect]
        except KeyError:
            found = self._driver[dialect] = driver_sql(self.statement, dialect)
            return found


def filter_params(values: list[Any]) -> dict[str, Any]:
    """The parameter dict of a filter shape's values (``f0``, ``f1``, ...)."""
    return {f"f{i}": value for i, value in enumerate(values)}


def keyset_params(values: list[Any]) -> dict[str, Any]:
    """The parameter dict of a cursor's non-NULL sort-key values (``k0``, ...)."""
    return {f"k{i}": value for i, value in enumerate(values) if value is not None}


def _filter_bind(i: int, column: sa.Column[Any]) -> Any:
    return sa.bindparam(f"f{i}", type_=column.type)


def _keyset_bind(i: int, column: Any) -> Any:
    return sa.bindparam(f"k{i}", type_=column.type)


def _in_keys(column: Any, dialect: str) -> Any:
    """``column`` is one of the ``KEYS`` parameter's values: on PostgreSQL one array
    (``= ANY($1)``, one statement for any number of keys, runs on the driver),
    elsewhere an expanding ``IN``."""
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(KEYS, type_=postgresql.ARRAY(column.type)))
    return column.in_(sa.bindparam(KEYS, expanding=True))


class Hop(NamedTuple):
    """A many-to-many link's association table: ``table.remote`` references the
    target's ``column``, ``table.local`` holds the owner's key."""

    table: sa.Table
    local: str
    remote: str
    column: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.table.name, self.local, self.remote, self.column)


class SortKeys(NamedTuple):
    """A resolved sort order: its keys, ORDER BY clauses and hashable shape."""

    keys: list[SortKey]
    order: list[Any]
    shape: tuple[tuple[str, bool], ...]

    @classmethod
    def of(cls, keys: list[SortKey]) -> SortKeys:
        order = [part for key in keys for part in key.order_by()]
        return cls(keys, order, tuple((key.col.name, key.desc) for key in keys))


class Shapes:
    """A model's read statements by shape, kept in an LRU (a shape's cost is one
    build and one compile; the number of shapes a client can ask for is unbounded)."""

    def __init__(
        self,
        table: sa.Table,
        columns: list[sa.Column[Any]],
        count: Any,
        pk: sa.Column[Any],
        size: int,
    ) -> None:
        self.table = table
        self.columns = columns
        self.count_base = count
        self.pk = pk
        self._cache: LRUCache[Any, Prepared] = LRUCache(size)

    def _prepared(self, key: Any, build: Callable[[], Any]) -> Prepared:
        """The statement ``build()`` makes, built once per ``key`` (everything the
        statement depends on)."""
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = Prepared(build())
        return found

    def rows_by(self, column: str, dialect: str) -> Prepared:
        """Every row whose ``column`` is one of the ``KEYS`` parameter's values, in
        primary-key order (batched loads: ``list_by``, profile relations)."""

        def build() -> Any:
            where = _in_keys(self.table.c[column], dialect)
            return sa.select(*self.columns).where(where).order_by(self.pk)

        return self._prepared(("rows_by", column, dialect), build)

    def rows_through(self, hop: Hop, dialect: str) -> Prepared:
        """Every row joined by ``hop``'s association table to an owner key among the
        ``KEYS`` values, with that key as the last column, in primary-key order (a
        many-to-many relation: one statement per page)."""

        def build() -> Any:
            link = hop.table
            owner = link.c[hop.local]
            joined = self.table.join(link, link.c[hop.remote] == self.table.c[hop.column])
            stmt = sa.select(*self.columns, owner).select_from(joined)
            return stmt.where(_in_keys(owner, dialect)).order_by(self.pk, owner)

        return self._prepared(("rows_through", hop.key, dialect), build)

    def _source(self, column: str, hop: Hop | None) -> tuple[Any, Any]:
        """The FROM clause and the owner-key column of a profile aggregate: this
        table's ``column``, or ``hop``'s association table joined to this one."""
        if hop is None:
            return self.table, self.table.c[column]
        link = hop.table
        joined = link.join(self.table, self.table.c[hop.column] == link.c[hop.remote])
        return joined, link.c[hop.local]

    def grouped(
        self, column: str, dialect: str, *, count: bool = False, hop: Hop | None = None
    ) -> Prepared:
        """Per ``KEYS`` value of ``column`` (or of ``hop``'s owner column) that has rows:
        the value, with the number of rows when ``count`` (profile counts and
        existence tests)."""

        def build() -> Any:
            source, col = self._source(column, hop)
            where = _in_keys(col, dialect)
            if count:
                stmt = sa.select(col, sa.func.count()).select_from(source)
                return stmt.where(where).group_by(col)
            return sa.select(col).select_from(source).where(where).distinct()

        key = hop.key if hop is not None else None
        return self._prepared(("grouped", column, dialect, count, key), build)

    def joined(
        self, column: str, names: tuple[str, ...], dialect: str, hop: Hop | None = None
    ) -> Prepared:
        """The owner key (``column``, or ``hop``'s owner column) and the columns
        ``names`` of the related rows of the ``KEYS`` values, in (key, primary key)
        order (joined projections)."""

        def build() -> Any:
            source, col = self._source(column, hop)
            picked = (self.table.c[n] for n in names)
            stmt = sa.select(col, *picked).select_from(source).where(_in_keys(col, dialect))
            return stmt.order_by(col, self.pk)

        key = hop.key if hop is not None else None
        return self._prepared(("joined", column, names, dialect, key), build)

    def count(self, shape: Any) -> Prepared:
        """``SELECT count(*)`` of the rows matching the filter shape."""

        def build() -> Any:
            where = build_where(self.table, shape, _filter_bind)
            return self.count_base if where is None else self.count_base.where(where)

        return self._prepared(("count", shape), build)

    def page(self, shape: Any, sort: SortKeys) -> Prepared:
        """An offset page (its total comes from :meth:`count`, when the page does
        not tell it)."""

        def build() -> Any:
            stmt = sa.select(*self.columns)
            where = build_where(self.table, shape, _filter_bind)
            if where is not None:
                stmt = stmt.where(where)
            stmt = stmt.order_by(*sort.order)
            return stmt.limit(sa.bindparam(LIMIT, type_=sa.Integer())).offset(
                sa.bindparam(OFFSET, type_=sa.Integer())
            )

        return self._prepared(("page", shape, sort.shape), build)

    def cursor_page(self, shape: Any, sort: SortKeys, nulls: tuple[bool, ...] | None) -> Prepared:
        """A keyset page: rows after the cursor's sort-key values (``k0``, ``k1``, ...;
        ``nulls`` says which of them are NULL, which changes the predicate), or the
        first page when ``nulls`` is None."""

        def build() -> Any:
            conditions = []
            where = build_where(self.table, shape, _filter_bind)
            if where is not None:
                conditions.append(where)
            if nulls is not None:
                binds = [
                    None if null else _keyset_bind(i, key.column)
                    for i, (key, null) in enumerate(zip(sort.keys, nulls, strict=True))
                ]
                conditions.append(keyset_predicate(sort.keys, binds))
            stmt = sa.select(*self.columns)
            if conditions:
                stmt = stmt.where(*conditions)
            return stmt.order_by(*sort.order).limit(sa.bindparam(LIMIT, type_=sa.Integer()))

        return self._prepared(("cursor", shape, sort.shape, nulls), build)
