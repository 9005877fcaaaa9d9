"""Statements built once with named bind parameters.

A list request used to build its SELECT per call (one expression per filter, the
sort keys, a cache key walk over the whole tree): most of the CPU a filtered list
costs outside the database. Here a statement is built once per *shape* (which
columns are filtered with which operators, the sort order, NULL tests, the number
of values of an ``in``); a request with the same shape only binds its values.

A statement runner (``_runner.py``) runs a :class:`Prepared` through SQLAlchemy like
any statement (``execute(stmt, params)``); the asyncpg runner compiles it once to
``$n`` SQL whose arguments come from the same parameter dict, so both paths read the
values from one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.util import LRUCache

from loom.core.repository.sqlalchemy._query import SortKey, build_where, keyset_predicate

__all__ = [
    "KEYS",
    "LIMIT",
    "OFFSET",
    "Hop",
    "Prepared",
    "Shapes",
    "SortKeys",
    "filter_params",
    "keyset_params",
]

LIMIT = "_loom_limit"
OFFSET = "_loom_offset"
KEYS = "_loom_keys"


class Prepared:
    """A statement whose request values are named bind parameters, built once.

    What a statement runner needs to know about it is worked out here, once: whether
    it writes (and which table, for the cache), and whether its rows come back from
    the driver as the model wants them (``plain``: no column needs SQLAlchemy's
    result conversion), which lets a runner skip SQLAlchemy's execute path.
    """

    __slots__ = ("compiled", "delete", "plain", "reads", "statement", "table")

    def __init__(self, statement: Any, *, plain: bool = False) -> None:
        self.statement = statement
        self.plain = plain
        self.reads = bool(getattr(statement, "is_select", False))
        """The statement only reads (a SELECT)."""
        dml = bool(getattr(statement, "is_dml", False))
        table = getattr(statement, "table", None) if dml else None
        self.table: str | None = getattr(table, "name", None)
        """The table an INSERT, UPDATE or DELETE writes, else None."""
        self.delete = bool(getattr(statement, "is_delete", False))
        self.compiled: dict[Any, Any] = {}
        """A runner's own compiled forms of the statement, by whatever key it needs
        (the asyncpg runner: dialect and written columns)."""


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
    plain: bool = False
    """The association table's columns need no result conversion (see ``Prepared``)."""

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
        plain: bool = False,
    ) -> None:
        self.plain = plain
        """The model's columns need no result conversion (see ``Prepared``)."""
        self.table = table
        self.columns = columns
        self.count_base = count
        self.pk = pk
        self._cache: LRUCache[Any, Prepared] = LRUCache(size)

    def _prepared(self, key: Any, build: Callable[[], Any], plain: bool | None = None) -> Prepared:
        """The statement ``build()`` makes, built once per ``key`` (everything the
        statement depends on). ``plain``: its rows need no conversion (default: as
        the model's columns)."""
        found = self._cache.get(key)
        if found is None:
            found = Prepared(build(), plain=self.plain if plain is None else plain)
            self._cache[key] = found
        return found

    def _through(self, hop: Hop | None) -> bool:
        """Whether rows with ``hop``'s association columns need no conversion."""
        return self.plain and (hop is None or hop.plain)

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

        return self._prepared(("rows_through", hop.key, dialect), build, self._through(hop))

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
        return self._prepared(("grouped", column, dialect, count, key), build, self._through(hop))

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
        return self._prepared(("joined", column, names, dialect, key), build, self._through(hop))

    def count(self, shape: Any) -> Prepared:
        """``SELECT count(*)`` of the rows matching the filter shape."""

        def build() -> Any:
            where = build_where(self.table, shape, _filter_bind)
            return self.count_base if where is None else self.count_base.where(where)

        return self._prepared(("count", shape), build, plain=True)

    def exists_pk(self) -> Prepared:
        """``SELECT 1 ... LIMIT 1`` of the row with the ``_loom_pk`` parameter's key."""

        def build() -> Any:
            where = self.pk == sa.bindparam("_loom_pk", type_=self.pk.type)
            return sa.select(sa.literal(1)).select_from(self.table).where(where).limit(1)

        return self._prepared(("exists_pk",), build, plain=True)

    def exists(self, shape: Any) -> Prepared:
        """``SELECT 1 ... LIMIT 1`` of the rows matching the filter shape."""

        def build() -> Any:
            select = sa.select(sa.literal(1)).select_from(self.table)
            where = build_where(self.table, shape, _filter_bind)
            return (select if where is None else select.where(where)).limit(1)

        return self._prepared(("exists", shape), build, plain=True)

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
