"""``RepositorySQLAlchemy``: CRUD and list queries on SQLAlchemy Core.

Statements are built once and reused: CRUD per model (``_model_sql.py``), lists per
query shape (``_statements.py``), so a request only binds its values. They run
through the unit of work's statement runner (``_runner.py``), which decides how they
reach the database (on asyncpg: on the driver connection, compiled once). Rows
become model structs through a generated constructor: no ORM identity map, no
intermediate dicts.
"""

from __future__ import annotations

import typing
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import msgspec
import sqlalchemy as sa

from loom.core.model import model_info
from loom.core.model._write import prepare_create, prepare_patch
from loom.core.observability.tracing import repository_span, tracing_enabled
from loom.core.projection import validate_profiles
from loom.core.projection.loading import ProfileLoader
from loom.core.repository._coerce import coerce_value, resolve_column
from loom.core.repository._listing import (
    MISSING,
    check_limit,
    check_page,
    check_profile,
    coerce_id,
    cursor_signature,
    decode_cursor,
    encode_cursor,
)
from loom.core.repository.abc.query import (
    CursorResult,
    FilterGroup,
    PageResult,
    PaginationMode,
    QuerySpec,
)
from loom.core.repository.cursor import CursorCodec
from loom.core.repository.sqlalchemy._compat_reads import CompatReads
from loom.core.repository.sqlalchemy._database import Database
from loom.core.repository.sqlalchemy._errors import translate
from loom.core.repository.sqlalchemy._model_sql import ModelSQL, model_sql, row_factory
from loom.core.repository.sqlalchemy._profiles import (
    ProfileRead,
    default_profile_loader,
    single_row_read,
)
from loom.core.repository.sqlalchemy._query import filter_shape
from loom.core.repository.sqlalchemy._session import SessionManager
from loom.core.repository.sqlalchemy._statements import (
    KEYS,
    LIMIT,
    OFFSET,
    Prepared,
    SortKeys,
    filter_params,
    keyset_params,
)

__all__ = ["RepositorySQLAlchemy", "row_factory"]

_ABSENT: Any = object()
"""An argument not given: ``obj_id``/``data`` (0.2) or ``id``/``patch`` (Loom) is."""
_WRITE_OPS = frozenset({"create", "update", "delete"})

M = TypeVar("M")
Id = TypeVar("Id")
T = TypeVar("T")


def _database_arg(cls: type, first: Any, database: Database | None) -> Database:
    """The database of ``RepositorySQLAlchemy(first, ..., database=)``."""
    if database is None:
        database = first.database if isinstance(first, SessionManager) else first
    if not isinstance(database, Database):
        raise TypeError(
            f"{cls.__name__}: pass a Database or a SessionManager as the first argument "
            f"(or database=), got {type(database).__name__}"
        )
    return database


class RepositorySQLAlchemy(CompatReads, Generic[M, Id]):
    """The default repository of a model.

    Subclass it to add queries or to adjust CRUD, and register the subclass with
    ``@repository_for(Model, contract=Proto)``; the generic arguments name the model::

        class ProductRepository(RepositorySQLAlchemy[Product, int]): ...
    """

    model: ClassVar[type[Any]]
    default_cursor_secret: ClassVar[str] = "loom-default-cursor-secret"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            if typing.get_origin(base) is RepositorySQLAlchemy:
                arg = typing.get_args(base)[0]
                if isinstance(arg, type):
                    cls.model = arg

    def __init__(
        self,
        session_manager: Database | SessionManager | None = None,
        model: type[M] | None = None,
        *,
        database: Database | None = None,
        cursor_secret: str | None = None,
    ) -> None:
        """``(database, model)`` or, as the 0.2 API built it, ``(session_manager,
        model)``: the first argument may be either."""
        database = _database_arg(type(self), session_manager, database)
        if isinstance(session_manager, SessionManager):
            self._session_manager = session_manager
        target = model if model is not None else getattr(type(self), "model", None)
        if target is None:
            raise TypeError(
                f"{type(self).__name__} does not know its model: subclass "
                "RepositorySQLAlchemy[Model, Id] or pass model="
            )
        self.model = target  # type: ignore[misc]
        self.database = database
        self.info = model_info(target)
        self._sql = model_sql(self.info)
        self._cursors = CursorCodec(cursor_secret or self.default_cursor_secret)
        # Loads the relations/projections of read profiles (see _profiles.py).
        self.profile_loader: Any = default_profile_loader()
        validate_profiles(self.info)
        self._read("default")  # built at start-up, not by the first request

    # -- plumbing ---------------------------------------------------------------------

    @property
    def table(self) -> sa.Table:
        return self._sql.table

    async def _guarded(self, op: str, values: Any, work: Awaitable[T]) -> T:
        """``work`` (one statement) in its span, driver errors as framework errors."""
        try:
            if tracing_enabled():
                with repository_span(self.info.table, op or "read"):
                    return await work
            return await work
        except Exception as exc:
            translated = self._translated(exc, op, values)
            if translated is exc:
                raise
            raise translated from exc

    async def _statement(
        self, how: str, statement: Any, params: Any, op: str = "", planned: bool = False
    ) -> Any:
        """``statement`` through the active unit of work's runner (``how``: fetch,
        fetchrow, fetchval or execute), else through a unit of its own; ``op`` names
        a write (``create``, ``update``, ``delete``), which alone in its unit needs no
        BEGIN/COMMIT. In its span, driver errors as framework errors."""
        runner = self.database.active_runner()
        if runner is None:
            async with self.database.begin() as own:
                if op:
                    own.expect_single_statement()
                return await self._statement(how, statement, params, op, planned)
        if planned:
            work = runner.fetch(statement, params, planned=True)
        else:
            work = getattr(runner, how)(statement, params)
        return await self._guarded(op, params, work)

    async def _fetch(
        self, prepared: Prepared, params: dict[str, Any], method: str = "fetch"
    ) -> Any:
        """A prepared read: ``fetch`` (the rows), ``fetch_planned`` (the rows, planned
        by PostgreSQL for these values) or ``fetchval`` (the first column of the first
        row)."""
        if method == "fetch_planned":
            return await self._statement("fetch", prepared, params, planned=True)
        return await self._statement(method, prepared, params)

    async def _execute(self, stmt: Any, params: Any, op: str) -> sa.CursorResult[Any]:
        if op:
            async with self.database.connection() as conn:
                return await conn.execute(stmt, params)
        async with self.database.read_connection() as conn:
            return await conn.execute(stmt, params)

    async def _run(self, stmt: Any, params: Any = None, op: str = "") -> sa.CursorResult[Any]:
        return await self._guarded(op, params, self._execute(stmt, params, op))

    def _translated(self, exc: Exception, op: str, params: Any = None) -> BaseException:
        """The framework error for a driver error (``exc`` itself when it is a bug)."""
        translated = translate(
            exc,
            self.database.metadata,
            op,
            table=self._sql.table,
            values=params if isinstance(params, Mapping) else None,
        )
        return translated

    @property
    def _plan(self) -> ModelSQL:
        """The model's SQL (the name custom repositories written before knew)."""
        return self._sql

    def _read(self, profile: str) -> ProfileRead:
        """How to read ``profile`` (an unknown one raises its 422), resolved once."""
        found = self._sql.reads.get(profile)
        if found is None:
            self._check_profile(profile)
            sql = self._sql
            found = sql.reads[profile] = single_row_read(self.info, profile, sql)
        return found

    async def _with_profile(self, items: list[Any], profile: str) -> list[Any]:
        read = self._sql.reads.get(profile) or self._read(profile)
        if not items or not read.loads or self.profile_loader is None:
            return items
        return await self.profile_loader.load(self, items, profile)

    async def _get_with_scalars(self, read: ProfileRead, key: Any, profile: str) -> Any:
        """The row with the profile's counts and existence tests read in its own
        SELECT; the rest of the profile (relations, joined columns) loaded after."""
        assert read.get is not None
        row = await self._statement("fetchrow", read.get, {"_loom_pk": key})
        if row is None:
            return None
        sql = self._sql
        first = len(sql.names)
        values = {
            name: bool(row[first + i]) if exists else int(row[first + i])
            for i, (name, exists) in enumerate(read.scalars)
        }
        item = sql.make(row)
        if read.only_scalars:
            return msgspec.structs.replace(item, **values)
        preloaded = {name: [value] for name, value in values.items()}
        return (await self.profile_loader.load(self, [item], profile, preloaded))[0]

    def _check_profile(self, profile: str) -> None:
        check_profile(self.info, profile)

    def single_statement(self, op: str) -> bool:
        """Whether ``op`` (``create``, ``update``, ``delete``) is the stock one, which
        issues exactly one write statement: then a unit of work doing nothing else may
        run it alone, without BEGIN/COMMIT. A subclass overriding it may write more."""
        stock = getattr(RepositorySQLAlchemy, op, None) if op in _WRITE_OPS else None
        return stock is not None and getattr(type(self), op, None) is stock

    # -- CRUD -------------------------------------------------------------------------

    async def create(self, data: msgspec.Struct | Mapping[str, Any]) -> M:
        values = prepare_create(self.info, data)
        sql = self._sql
        return sql.make(await self._statement("fetchrow", sql.insert, values, "create"))

    async def get_by_id(
        self, obj_id: Id = _ABSENT, profile: str = "default", *, id: Id = _ABSENT
    ) -> M | None:
        key = coerce_id(self.info, obj_id if id is _ABSENT else id)
        sql = self._sql
        read = sql.reads.get(profile) or self._read(profile)
        if key is MISSING:
            return None
        if read.get is not None and isinstance(self.profile_loader, ProfileLoader):
            return await self._get_with_scalars(read, key, profile)
        row = await self._statement("fetchrow", sql.get, {"_loom_pk": key})
        if row is None:
            return None
        item = sql.make(row)
        if read.loads:
            return (await self._with_profile([item], profile))[0]
        return item

    async def update(
        self,
        obj_id: Id = _ABSENT,
        data: msgspec.Struct | Mapping[str, Any] = _ABSENT,
        *,
        id: Id = _ABSENT,
        patch: msgspec.Struct | Mapping[str, Any] = _ABSENT,
    ) -> M | None:
        values = prepare_patch(self.info, data if patch is _ABSENT else patch)
        key = coerce_id(self.info, obj_id if id is _ABSENT else id)
        if key is MISSING:
            return None
        if not values:
            return await self.get_by_id(key)
        values["_loom_pk"] = key
        sql = self._sql
        row = await self._statement("fetchrow", sql.update, values, "update")
        return sql.make(row) if row is not None else None

    async def delete(self, obj_id: Id = _ABSENT, *, id: Id = _ABSENT) -> bool:
        key = coerce_id(self.info, obj_id if id is _ABSENT else id)
        if key is MISSING:
            return False
        params = {"_loom_pk": key}
        return bool(await self._statement("execute", self._sql.delete, params, "delete"))

    async def count(self, filters: FilterGroup | None = None) -> int:
        shape, values = filter_shape(self.info, filters)
        prepared = self._sql.shapes.count(shape)
        return int(await self._fetch(prepared, filter_params(values), "fetchval"))

    async def list_by(self, field: str, values: Sequence[Any]) -> list[M]:
        """Every row whose ``field`` is one of ``values`` (used for batched loading)."""
        if not values:
            return []
        col = resolve_column(self.info, field, purpose="lookup")
        keys = [coerce_value(col, v, field) for v in values]
        return await self._rows_by(self._sql, col.name, keys)

    async def _rows_by(self, sql: ModelSQL, column: str, keys: list[Any]) -> list[Any]:
        """The entities of ``sql``'s model whose ``column`` is one of ``keys``, in
        primary-key order, read through this repository's database and unit of work
        (the profile loader reads related models this way)."""
        prepared = sql.shapes.rows_by(column, self.database.dialect)
        rows = await self._fetch(prepared, {KEYS: keys})
        make = sql.make
        return [make(r) for r in rows]

    # -- lists ------------------------------------------------------------------------

    async def list_with_query(
        self, query: QuerySpec, profile: str = "default"
    ) -> PageResult[M] | CursorResult[M]:
        self._check_profile(profile)
        if self.allowed_filter_fields:
            self._check_allowed_filters(query.filters)
        limit = check_limit(query)
        sql = self._sql
        shape, values = filter_shape(self.info, query.filters)
        params = filter_params(values)
        sort = sql.sort_keys(query.sort)
        if query.pagination is PaginationMode.CURSOR:
            return await self._list_cursor(query, profile, limit, shape, params, sort)
        page, offset = check_page(query, limit)
        params[LIMIT] = limit
        params[OFFSET] = offset
        rows = await self._fetch(sql.shapes.page(shape, sort), params, self._list_method(shape))
        if len(rows) < limit and (rows or not offset):
            total_count = offset + len(rows)  # the last page tells the total itself
        else:
            # Its own statement, cached: on PostgreSQL a count folded into the page
            # as a scalar subquery is parsed and planned again with every page that
            # is planned for its values (10-20% more database CPU per page,
            # ``python -m benchmarks.plans``). Like
            # every two-statement paginator, a write landing between the two can
            # make the total disagree with the rows by that write.
            count = sql.shapes.count(shape)
            total_count = int(await self._fetch(count, params, "fetchval"))
        make = sql.make
        items = await self._with_profile([make(r) for r in rows], profile)
        return PageResult(
            items=items,
            total_count=total_count,
            page=page,
            limit=limit,
            has_next=offset + len(rows) < total_count,
        )

    def _list_method(self, shape: Any) -> str:
        """A filtered list is planned for its values (``_fetch_planned``)."""
        planned = shape is not None and self.database.plan_lists_for_values
        return "fetch_planned" if planned else "fetch"

    async def _list_cursor(
        self,
        query: QuerySpec,
        profile: str,
        limit: int,
        shape: Any,
        params: dict[str, Any],
        sort: SortKeys,
    ) -> CursorResult[M]:
        sql = self._sql
        keys = sort.keys
        signature = cursor_signature(self.info, keys, query.filters)
        nulls = None
        if query.cursor:
            after = decode_cursor(self._cursors, query.cursor, signature, keys)
            nulls = tuple(value is None for value in after)
            params.update(keyset_params(after))
        params[LIMIT] = limit + 1
        prepared = sql.shapes.cursor_page(shape, sort, nulls)
        rows = await self._fetch(prepared, params, self._list_method(shape))
        has_next = len(rows) > limit
        rows = rows[:limit]
        make = sql.make
        items = [make(r) for r in rows]
        next_cursor = None
        if has_next and items:
            next_cursor = encode_cursor(self._cursors, signature, keys, items[-1])
        items = await self._with_profile(items, profile)
        return CursorResult(items=items, next_cursor=next_cursor, has_next=has_next)
