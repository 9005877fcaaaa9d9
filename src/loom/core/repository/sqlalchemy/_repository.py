"""``RepositorySQLAlchemy``: CRUD and list queries on SQLAlchemy Core.

Statements for the common operations are built once per model and reused (so
SQLAlchemy's compiled cache always hits), and rows become model structs through a
generated constructor: no ORM identity map, no intermediate dicts.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import msgspec
import sqlalchemy as sa
from sqlalchemy.util import LRUCache

from loom.core.model import ModelInfo, model_info
from loom.core.model._write import prepare_create, prepare_patch
from loom.core.observability.tracing import repository_span, tracing_enabled
from loom.core.projection import validate_profiles
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
    FilterOp,
    FilterSpec,
    PageResult,
    PaginationMode,
    QuerySpec,
)
from loom.core.repository.cursor import CursorCodec
from loom.core.repository.sqlalchemy._database import Database, SQLAlchemyUnitOfWork
from loom.core.repository.sqlalchemy._errors import translate
from loom.core.repository.sqlalchemy._profiles import default_profile_loader
from loom.core.repository.sqlalchemy._query import (
    compile_filters,
    keyset_predicate,
    resolve_sort,
)
from loom.core.repository.sqlalchemy._table import table_for
from loom.core.uow import current_unit_of_work

__all__ = ["RepositorySQLAlchemy", "row_factory"]

_NOT_FAST: Any = object()
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
        self._driver_sql: dict[Any, tuple[str, tuple[str, ...]] | None] = {}
        self._select_caches: dict[Any, LRUCache[Any, Any]] = {}

    def driver_select(self, stmt: Any, dialect: Any) -> tuple[str, list[Any]] | None:
        """``(sql, arguments)`` of a read built per request (lists, counts), for the
        asyncpg connection; None when SQLAlchemy must run it (expanding ``IN``
        parameters, values needing conversion).

        Compiled through SQLAlchemy's own statement cache (``_compile_w_cache``: one
        compile per statement shape, then the cache key's extracted values), the
        path ``Connection.execute`` takes. It is private API, so anything unexpected
        falls back to the ordinary path instead of failing.
        """
        cache = self._select_caches.get(dialect)
        if cache is None:
            cache = self._select_caches[dialect] = LRUCache(_MAX_DRIVER_STATEMENTS)
        try:
            compiled, extracted, *_ = stmt._compile_w_cache(
                dialect=dialect,
                compiled_cache=cache,
                column_keys=[],
                for_executemany=False,
                schema_translate_map=None,
            )
            if (
                compiled.post_compile_params
                or compiled.literal_execute_params
                or compiled._bind_processors
            ):
                return None
            params = compiled.construct_params(extracted_parameters=extracted)
            return compiled.string, [params[name] for name in compiled.positiontup or ()]
        except (AttributeError, TypeError, KeyError, ValueError):  # pragma: no cover
            return None

    def driver_statement(
        self, kind: str, names: tuple[str, ...], dialect: Any
    ) -> tuple[str, tuple[str, ...]] | None:
        """``(sql, parameter names in order)`` of the prebuilt ``kind`` statement (get,
        create, update, delete) for the asyncpg connection, compiled once per set of
        columns written; None when SQLAlchemy must run it (column types needing
        conversion, Python-side defaults)."""
        key = (kind, names, dialect)
        found = self._driver_sql.get(key, _MISSING_SQL)
        if found is not _MISSING_SQL:
            return found
        found = None
        if self.simple_types:
            compiled = self._prebuilt[kind].compile(dialect=dialect, column_keys=list(names))
            order = tuple(compiled.positiontup or ())
            if set(order) <= {*names, "_loom_pk"}:
                found = (compiled.string, order)
        if len(self._driver_sql) < _MAX_DRIVER_STATEMENTS:
            self._driver_sql[key] = found
        return found


# Types asyncpg returns exactly as the model wants them (datetimes come back UTC-aware).
_DRIVER_SAFE = frozenset({int, str, bool, float, _dt.datetime, _dt.date, decimal.Decimal})
_MISSING_SQL: Any = object()
# Distinct column sets of partial updates kept compiled per model (2^n is possible).
_MAX_DRIVER_STATEMENTS = 256


def _plan_for(info: ModelInfo) -> _Plan:
    plan = info.extras.get("sa_plan")
    if plan is None:
        plan = info.extras["sa_plan"] = _Plan(info)
    return plan


class RepositorySQLAlchemy(Generic[M, Id]):
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
        database: Database,
        model: type[M] | None = None,
        *,
        cursor_secret: str | None = None,
    ) -> None:
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
        # Loads relations/projections of non-default profiles (see _profiles.py).
        self.profile_loader: Any = default_profile_loader()
        validate_profiles(self.info)

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
            "", None, self._on_driver(uow, "", compiled[0], (key,), "fetchrow")
        )

    async def _fetch(self, stmt: Any, method: str = "fetch") -> Any:
        """A read built per request: on the asyncpg connection when it can run there
        (``fetch``: the rows; ``fetchval``: the first column of the first row), else
        through SQLAlchemy."""
        database = self.database
        if database.driver_statements and (method == "fetchval" or self._plan.simple_types):
            prepared = self._plan.driver_select(stmt, database.engine.dialect)
            if prepared is not None:
                uow = self._active_unit()
                if uow is None:  # a read of its own, as the SQLAlchemy path would do
                    async with database.begin() as own:
                        work = self._on_driver(own, "", *prepared, method)
                        return await self._guarded("", None, work)
                return await self._guarded("", None, self._on_driver(uow, "", *prepared, method))
        result = await self._run(stmt)
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
        sql, order = compiled
        method = "execute" if kind == "delete" else "fetchrow"
        args = [values[n] for n in order]
        result = await self._guarded(kind, values, self._on_driver(uow, kind, sql, args, method))
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

    async def _with_profile(self, items: list[Any], profile: str) -> list[Any]:
        if profile == "default" or not items:
            self._check_profile(profile)
            return items
        self._check_profile(profile)
        if self.profile_loader is None:
            return items
        return await self.profile_loader.load(self, items, profile)

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

    async def get_by_id(self, id: Id, profile: str = "default") -> M | None:
        key = coerce_id(self.info, id)
        if key is MISSING:
            self._check_profile(profile)
            return None
        row = await self._get_row_on_driver(key)
        if row is _NOT_FAST:
            row = (await self._run(self._plan.get, {"_loom_pk": key})).first()
        if row is None:
            self._check_profile(profile)
            return None
        item = self._plan.make(row)
        if profile != "default":
            return (await self._with_profile([item], profile))[0]
        return item

    async def update(self, id: Id, patch: msgspec.Struct | Mapping[str, Any]) -> M | None:
        values = prepare_patch(self.info, patch)
        key = coerce_id(self.info, id)
        if key is MISSING:
            return None
        if not values:
            return await self.get_by_id(key)
        values["_loom_pk"] = key
        row = await self._write_on_driver("update", values)
        if row is _NOT_FAST:
            row = (await self._run(self._plan.update, values, "update")).first()
        return self._plan.make(row) if row is not None else None

    async def delete(self, id: Id) -> bool:
        key = coerce_id(self.info, id)
        if key is MISSING:
            return False
        params = {"_loom_pk": key}
        status = await self._write_on_driver("delete", params)
        if status is not _NOT_FAST:
            return status.rpartition(" ")[2] not in ("", "0")  # "DELETE <count>"
        result = await self._run(self._plan.delete, params, "delete")
        return bool(result.rowcount)

    async def count(self, filters: FilterGroup | None = None) -> int:
        stmt = self._plan.count
        where = compile_filters(self.info, self._plan.table, filters)
        if where is not None:
            stmt = stmt.where(where)
        return int(await self._fetch(stmt, "fetchval"))

    async def exists_by(self, field: str, value: Any) -> bool:
        where = compile_filters(
            self.info,
            self._plan.table,
            FilterGroup(filters=(FilterSpec(field=field, op=FilterOp.EQ, value=value),)),
        )
        stmt = sa.select(sa.literal(1)).select_from(self._plan.table).where(where).limit(1)  # type: ignore[arg-type]
        result = await self._run(stmt)
        return result.first() is not None

    async def list_by(self, field: str, values: Sequence[Any]) -> list[M]:
        """Every row whose ``field`` is one of ``values`` (used for batched loading)."""
        if not values:
            return []
        col = resolve_column(self.info, field, purpose="lookup")
        keys = [coerce_value(col, v, field) for v in values]
        stmt = self._plan.select.where(self._plan.table.c[col.name].in_(keys))
        result = await self._run(stmt.order_by(self._plan.pk))
        make = self._plan.make
        return [make(r) for r in result.all()]

    # -- lists ------------------------------------------------------------------------

    async def list_with_query(
        self, query: QuerySpec, profile: str = "default"
    ) -> PageResult[M] | CursorResult[M]:
        self._check_profile(profile)
        limit = check_limit(query)
        plan = self._plan
        where = compile_filters(self.info, plan.table, query.filters)
        keys = resolve_sort(self.info, plan.table, query.sort)
        order: list[Any] = [part for key in keys for part in key.order_by()]
        if query.pagination is PaginationMode.CURSOR:
            return await self._list_cursor(query, profile, limit, where, keys, order)
        page, offset = check_page(query, limit)
        # The page with the total as an uncorrelated scalar subquery: one statement,
        # one round trip, one snapshot (count and rows agree), and the database counts
        # once (an InitPlan). A window ``count(*) OVER ()`` instead makes it build every
        # matching row before OFFSET/LIMIT (3-5x slower on a filtered list).
        count_stmt = plan.count if where is None else plan.count.where(where)
        stmt = sa.select(*plan.columns, count_stmt.scalar_subquery())
        if where is not None:
            stmt = stmt.where(where)
        rows = await self._fetch(stmt.order_by(*order).limit(limit).offset(offset))
        if rows:
            total_count = int(rows[0][-1])
        elif offset:  # past the last page: the count alone
            total_count = int(await self._fetch(count_stmt, "fetchval"))
        else:
            total_count = 0
        make = plan.make  # reads the model's columns by position; the total is last
        items = await self._with_profile([make(r) for r in rows], profile)
        return PageResult(
            items=items,
            total_count=total_count,
            page=page,
            limit=limit,
            has_next=offset + len(rows) < total_count,
        )

    async def _list_cursor(
        self,
        query: QuerySpec,
        profile: str,
        limit: int,
        where: Any,
        keys: list[Any],
        order: list[Any],
    ) -> CursorResult[M]:
        plan = self._plan
        signature = cursor_signature(self.info, keys, query.filters)
        stmt = plan.select
        conditions = [where] if where is not None else []
        if query.cursor:
            values = decode_cursor(self._cursors, query.cursor, signature, keys)
            conditions.append(keyset_predicate(keys, values))
        if conditions:
            stmt = stmt.where(*conditions)
        stmt = stmt.order_by(*order).limit(limit + 1)
        rows = await self._fetch(stmt)
        has_next = len(rows) > limit
        rows = rows[:limit]
        make = plan.make
        items = [make(r) for r in rows]
        next_cursor = None
        if has_next and items:
            next_cursor = encode_cursor(self._cursors, signature, keys, items[-1])
        items = await self._with_profile(items, profile)
        return CursorResult(items=items, next_cursor=next_cursor, has_next=has_next)
