"""``RepositorySQLAlchemy``: CRUD and list queries on SQLAlchemy Core.

Statements are built once and reused: CRUD per model, lists per query shape
(``_statements.py``), so a request only binds its values; on asyncpg they run on the
driver connection, compiled once. Rows become model structs through a generated
constructor: no ORM identity map, no intermediate dicts.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import decimal
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import msgspec
import sqlalchemy as sa

from loom.core.model import ModelInfo, model_info
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
    SortSpec,
)
from loom.core.repository.cursor import CursorCodec
from loom.core.repository.sqlalchemy._compat_reads import CompatReads
from loom.core.repository.sqlalchemy._database import Database, SQLAlchemyUnitOfWork
from loom.core.repository.sqlalchemy._errors import translate
from loom.core.repository.sqlalchemy._profiles import (
    ProfileRead,
    default_profile_loader,
    single_row_read,
)
from loom.core.repository.sqlalchemy._query import filter_shape, resolve_sort
from loom.core.repository.sqlalchemy._session import SessionManager
from loom.core.repository.sqlalchemy._statements import (
    KEYS,
    LIMIT,
    OFFSET,
    DriverSQL,
    Prepared,
    Shapes,
    SortKeys,
    driver_sql,
    filter_params,
    keyset_params,
)
from loom.core.repository.sqlalchemy._table import table_for
from loom.core.uow import current_unit_of_work

__all__ = ["RepositorySQLAlchemy", "row_factory"]

_NOT_FAST: Any = object()
_ABSENT: Any = object()
"""An argument not given: ``obj_id``/``data`` (0.2) or ``id``/``patch`` (Loom) is."""
_WRITE_OPS = frozenset({"create", "update", "delete"})

M = TypeVar("M")
Id = TypeVar("Id")
T = TypeVar("T")


def row_factory(info: ModelInfo, names: Sequence[str]) -> Callable[[Sequence[Any]], Any]:
    """``row -> Model(a=row[0], b=row[1], ...)``, generated once per column list."""
    args = ", ".join(f"{name}=row[{i}]" for i, name in enumerate(names))
    source = f"def make(row):\n    return Model({args})\n"
    namespace: dict[str, Any] = {"Model": info.model}
    exec(compile(source, f"<loom row factory {info.name}>", "exec"), namespace)
    return namespace["make"]


class _Plan:
    """Everything about a model that does not change between calls."""

    def __init__(self, info: ModelInfo) -> None:
        self.info = info
        self.table = table = table_for(info.model)
        self.names = [c.name for c in info.columns.values()]
        self.columns = [table.c[n] for n in self.names]
        self.pk = table.c[info.pk.name]
        self.make = row_factory(info, self.names)
        self.select = sa.select(*self.columns)
        self.get = self.select.where(self.pk == sa.bindparam("_loom_pk"))
        self.insert = sa.insert(table).returning(*self.columns)
        self.update = (
            sa.update(table).where(self.pk == sa.bindparam("_loom_pk")).returning(*self.columns)
        )
        self.delete = sa.delete(table).where(self.pk == sa.bindparam("_loom_pk"))
        self.count = sa.select(sa.func.count()).select_from(table)
        self.pk_type = info.pk.python_type
        self.simple_types = all(c.python_type in _DRIVER_SAFE for c in info.columns.values())
        self._prebuilt = {
            "get": self.get,
            "create": self.insert,
            "update": self.update,
            "delete": self.delete,
        }
        self._driver_sql: dict[Any, DriverSQL | None] = {}
        self.shapes = Shapes(table, self.columns, self.count, self.pk, _MAX_DRIVER_STATEMENTS)
        self._sorts: dict[Any, SortKeys] = {}
        # Per profile name that was validated: how to read it (see _profiles.py).
        self.reads: dict[str, ProfileRead] = {}

    def sort_keys(self, sort: tuple[SortSpec, ...]) -> SortKeys:
        """The resolved sort order of a request (unknown fields raise their 422 first)."""
        found = self._sorts.get(sort)
        if found is None:
            found = SortKeys.of(resolve_sort(self.info, self.table, sort))
            if len(self._sorts) < _MAX_DRIVER_STATEMENTS:
                self._sorts[sort] = found
        return found

    def driver_statement(self, kind: str, names: tuple[str, ...], dialect: Any) -> DriverSQL | None:
        """The prebuilt ``kind`` statement (get, create, update, delete) for the
        asyncpg connection, compiled once per set of columns written; None when
        SQLAlchemy must run it (column types needing conversion, Python-side
        defaults)."""
        key = (kind, names, dialect)
        found = self._driver_sql.get(key, _MISSING_SQL)
        if found is not _MISSING_SQL:
            return found
        found = None
        if self.simple_types:
            found = driver_sql(self._prebuilt[kind], dialect, names)
            if found is not None and not set(found.order) <= {*names, "_loom_pk"}:
                found = None
        if len(self._driver_sql) < _MAX_DRIVER_STATEMENTS:
            self._driver_sql[key] = found
        return found


# Types asyncpg returns exactly as the model wants them (datetimes come back UTC-aware).
_DRIVER_SAFE = frozenset({int, str, bool, float, _dt.datetime, _dt.date, decimal.Decimal})
_MISSING_SQL: Any = object()
# Distinct column sets of partial updates kept compiled per model (2^n is possible).
_MAX_DRIVER_STATEMENTS = 256


async def _fetch_planned(driver: Any, sql: str, args: Sequence[Any]) -> Any:
    """The rows of ``sql`` run as an unnamed statement, which PostgreSQL plans for
    these values. A cached statement gets a generic plan after five runs, blind to a
    filter's selectivity and to the OFFSET (it assumes 10% of the rows): on a
    filtered or paged list that costs more than the extra round trip this takes."""
    log = getattr(driver, "_time_and_log", None)
    # asyncpg's query loggers see every statement, this one too (asyncpg logs only
    # the statements it prepares itself).
    watched = getattr(driver, "_query_loggers", None)
    with log(sql, args, None) if log is not None and watched else contextlib.nullcontext():
        return await (await driver.prepare(sql, name="")).fetch(*args)


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


def _plan_for(info: ModelInfo) -> _Plan:
    plan = info.extras.get("sa_plan")
    if plan is None:
        plan = info.extras["sa_plan"] = _Plan(info)
    return plan


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
        self._plan = _plan_for(self.info)
        self._cursors = CursorCodec(cursor_secret or self.default_cursor_secret)
        # Loads the relations/projections of read profiles (see _profiles.py).
        self.profile_loader: Any = default_profile_loader()
        validate_profiles(self.info)
        self._read("default")  # built at start-up, not by the first request

    # -- plumbing ---------------------------------------------------------------------

    @property
    def table(self) -> sa.Table:
        return self._plan.table

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

    async def _on_driver(
        self, uow: SQLAlchemyUnitOfWork, op: str, sql: str, args: Sequence[Any], method: str
    ) -> Any:
        """``sql`` on the unit's asyncpg connection, skipping SQLAlchemy's execute path
        (most of the CPU of a simple statement). ``op`` is ``""`` for a read (in
        autocommit before the unit's first write) or the write's name."""
        async with uow.lock:
            await (uow.open_for_write() if op else uow.open_for_read_on_driver())
            if method == "fetch_planned":
                return await _fetch_planned(uow.driver, sql, args)
            return await getattr(uow.driver, method)(sql, *args)

    def _active_unit(self) -> SQLAlchemyUnitOfWork | None:
        uow = current_unit_of_work()
        if isinstance(uow, SQLAlchemyUnitOfWork) and uow.database is self.database:
            return uow
        return None

    async def _get_row_on_driver(self, key: Any) -> Any:
        """The row by primary key from asyncpg when a unit of work is active and the
        model's types need no conversion; else ``_NOT_FAST``."""
        database = self.database
        uow = self._active_unit() if database.driver_statements else None
        if uow is None:
            return _NOT_FAST
        compiled = self._plan.driver_statement("get", (), database.engine.dialect)
        if compiled is None:
            return _NOT_FAST
        return await self._guarded(
            "", None, self._on_driver(uow, "", compiled.sql, (key,), "fetchrow")
        )

    async def _fetch(
        self,
        prepared: Prepared,
        params: dict[str, Any],
        method: str = "fetch",
        plain: bool | None = None,
    ) -> Any:
        """A prepared read: on the asyncpg connection when it can run there (``fetch``:
        the rows; ``fetch_planned``: the rows, planned for these values; ``fetchval``:
        the first column of the first row), else through SQLAlchemy. ``plain``: the
        rows' columns need no conversion (default: this model's do not)."""
        database = self.database
        if plain is None:
            plain = method == "fetchval" or self._plan.simple_types
        if database.driver_statements and plain:
            compiled = prepared.driver(database.engine.dialect)
            if compiled is not None:
                args = compiled.arguments(params)
                uow = self._active_unit()
                if uow is None:  # a read of its own, as the SQLAlchemy path would do
                    async with database.begin() as own:
                        work = self._on_driver(own, "", compiled.sql, args, method)
                        return await self._guarded("", None, work)
                work = self._on_driver(uow, "", compiled.sql, args, method)
                return await self._guarded("", None, work)
        result = await self._run(prepared.statement, params)
        return result.scalar_one() if method == "fetchval" else result.all()

    async def _write_on_driver(self, kind: str, values: dict[str, Any]) -> Any:
        """The prebuilt ``kind`` statement (create, update, delete) on the driver, in the
        active unit's transaction, or alone in autocommit when the unit declared a
        single statement or there is no unit; ``_NOT_FAST`` when SQLAlchemy must run it
        (someone watches the SQL, column types needing conversion). The RETURNING row,
        or the status line for a delete."""
        database = self.database
        if not database.driver_statements:
            return _NOT_FAST
        compiled = self._plan.driver_statement(kind, tuple(values), database.engine.dialect)
        if compiled is None:
            return _NOT_FAST
        uow = self._active_unit()
        if uow is None:
            # The write is a unit of its own, and one statement needs no BEGIN/COMMIT.
            async with database.begin() as own:
                own.expect_single_statement()
                return await self._write_on_driver(kind, values)
        method = "execute" if kind == "delete" else "fetchrow"
        args = [values[n] for n in compiled.order]
        work = self._on_driver(uow, kind, compiled.sql, args, method)
        result = await self._guarded(kind, values, work)
        if database.write_sinks:
            database.note_write(self.info.table, delete=kind == "delete")
        return result

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
            table=self._plan.table,
            values=params if isinstance(params, Mapping) else None,
        )
        return translated

    def _read(self, profile: str) -> ProfileRead:
        """How to read ``profile`` (an unknown one raises its 422), resolved once."""
        found = self._plan.reads.get(profile)
        if found is None:
            self._check_profile(profile)
            plan = self._plan
            found = plan.reads[profile] = single_row_read(self.info, profile, plan.get, plan.table)
        return found

    async def _with_profile(self, items: list[Any], profile: str) -> list[Any]:
        read = self._plan.reads.get(profile) or self._read(profile)
        if not items or not read.loads or self.profile_loader is None:
            return items
        return await self.profile_loader.load(self, items, profile)

    async def _get_with_scalars(self, read: ProfileRead, key: Any, profile: str) -> Any:
        """The row with the profile's counts and existence tests read in its own
        SELECT; the rest of the profile (relations, joined columns) loaded after."""
        assert read.get is not None
        rows = await self._fetch(read.get, {"_loom_pk": key})
        if not rows:
            return None
        row = rows[0]
        plan = self._plan
        first = len(plan.names)
        values = {
            name: bool(row[first + i]) if exists else int(row[first + i])
            for i, (name, exists) in enumerate(read.scalars)
        }
        item = plan.make(row)
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
        row = await self._write_on_driver("create", values)
        if row is _NOT_FAST:
            row = (await self._run(self._plan.insert, values, "create")).one()
        return self._plan.make(row)

    async def get_by_id(
        self, obj_id: Id = _ABSENT, profile: str = "default", *, id: Id = _ABSENT
    ) -> M | None:
        key = coerce_id(self.info, obj_id if id is _ABSENT else id)
        read = self._plan.reads.get(profile) or self._read(profile)
        if key is MISSING:
            return None
        if read.get is not None and isinstance(self.profile_loader, ProfileLoader):
            return await self._get_with_scalars(read, key, profile)
        row = await self._get_row_on_driver(key)
        if row is _NOT_FAST:
            row = (await self._run(self._plan.get, {"_loom_pk": key})).first()
        if row is None:
            return None
        item = self._plan.make(row)
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
        row = await self._write_on_driver("update", values)
        if row is _NOT_FAST:
            row = (await self._run(self._plan.update, values, "update")).first()
        return self._plan.make(row) if row is not None else None

    async def delete(self, obj_id: Id = _ABSENT, *, id: Id = _ABSENT) -> bool:
        key = coerce_id(self.info, obj_id if id is _ABSENT else id)
        if key is MISSING:
            return False
        params = {"_loom_pk": key}
        status = await self._write_on_driver("delete", params)
        if status is not _NOT_FAST:
            return status.rpartition(" ")[2] not in ("", "0")  # "DELETE <count>"
        result = await self._run(self._plan.delete, params, "delete")
        return bool(result.rowcount)

    async def count(self, filters: FilterGroup | None = None) -> int:
        shape, values = filter_shape(self.info, filters)
        prepared = self._plan.shapes.count(shape)
        return int(await self._fetch(prepared, filter_params(values), "fetchval"))

    async def list_by(self, field: str, values: Sequence[Any]) -> list[M]:
        """Every row whose ``field`` is one of ``values`` (used for batched loading)."""
        if not values:
            return []
        col = resolve_column(self.info, field, purpose="lookup")
        keys = [coerce_value(col, v, field) for v in values]
        return await self._rows_by(self._plan, col.name, keys)

    async def _rows_by(self, plan: _Plan, column: str, keys: list[Any]) -> list[Any]:
        """The entities of ``plan``'s model whose ``column`` is one of ``keys``, in
        primary-key order, read through this repository's database and unit of work
        (the profile loader reads related models this way)."""
        prepared = plan.shapes.rows_by(column, self.database.dialect)
        rows = await self._fetch(prepared, {KEYS: keys}, plain=plan.simple_types)
        make = plan.make
        return [make(r) for r in rows]

    # -- lists ------------------------------------------------------------------------

    async def list_with_query(
        self, query: QuerySpec, profile: str = "default"
    ) -> PageResult[M] | CursorResult[M]:
        self._check_profile(profile)
        if self.allowed_filter_fields:
            self._check_allowed_filters(query.filters)
        limit = check_limit(query)
        plan = self._plan
        shape, values = filter_shape(self.info, query.filters)
        params = filter_params(values)
        sort = plan.sort_keys(query.sort)
        if query.pagination is PaginationMode.CURSOR:
            return await self._list_cursor(query, profile, limit, shape, params, sort)
        page, offset = check_page(query, limit)
        params[LIMIT] = limit
        params[OFFSET] = offset
        rows = await self._fetch(plan.shapes.page(shape, sort), params, self._list_method(shape))
        if len(rows) < limit and (rows or not offset):
            total_count = offset + len(rows)  # the last page tells the total itself
        else:
            # Its own statement, cached: on PostgreSQL a count folded into the page
            # as a scalar subquery is parsed and planned again with every page that
            # is planned for its values (10-20% more database CPU per page,
            # ``python -m benchmarks.plans``). Like
            # every two-statement paginator, a write landing between the two can
            # make the total disagree with the rows by that write.
            count = plan.shapes.count(shape)
            total_count = int(await self._fetch(count, params, "fetchval"))
        make = plan.make
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
        plan = self._plan
        keys = sort.keys
        signature = cursor_signature(self.info, keys, query.filters)
        nulls = None
        if query.cursor:
            after = decode_cursor(self._cursors, query.cursor, signature, keys)
            nulls = tuple(value is None for value in after)
            params.update(keyset_params(after))
        params[LIMIT] = limit + 1
        prepared = plan.shapes.cursor_page(shape, sort, nulls)
        rows = await self._fetch(prepared, params, self._list_method(shape))
        has_next = len(rows) > limit
        rows = rows[:limit]
        make = plan.make
        items = [make(r) for r in rows]
        next_cursor = None
        if has_next and items:
            next_cursor = encode_cursor(self._cursors, signature, keys, items[-1])
        items = await self._with_profile(items, profile)
        return CursorResult(items=items, next_cursor=next_cursor, has_next=has_next)
