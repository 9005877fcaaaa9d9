"""The asyncpg statement runner: the fast path, its pool checkout and PgBouncer mode.

SQLAlchemy's execute path is most of the CPU a simple statement costs. On asyncpg
the prebuilt statements (``Prepared``) are compiled once to ``$n`` SQL and run on
the driver connection itself; whatever else the unit runs goes through SQLAlchemy on
the same connection and transaction. So that SQLAlchemy never opens a transaction
behind Loom's back, the engine's connections live in autocommit and the unit's
transaction is driven on the driver (``BEGIN``/``COMMIT`` by asyncpg).

The pooled connection is checked out raw and wrapped in SQLAlchemy's
``AsyncConnection`` only if a SQLAlchemy statement needs it (checking out through
``engine.connect()`` costs about three times as much, on every request).

Every use of a private attribute of asyncpg or SQLAlchemy in Loom is in this module:
a new release of either that moves one breaks here only (each use degrades to the
SQLAlchemy path where it can).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool.base import _AsyncConnDialect
from sqlalchemy.util import await_only, greenlet_spawn

from loom.core.repository.sqlalchemy._errors import translate
from loom.core.repository.sqlalchemy._runner import Params, Statement, StatementRunner
from loom.core.repository.sqlalchemy._statements import Prepared

if TYPE_CHECKING:
    from loom.core.repository.sqlalchemy._database import Database

__all__ = [
    "ASYNC_POOL_DIALECT",
    "UNPREPARED",
    "AsyncpgRunner",
    "DriverSQL",
    "behind_pooler",
    "configure_pooler",
    "driver_sql",
]

_log = logging.getLogger("loom.database")

ASYNC_POOL_DIALECT: Any = _AsyncConnDialect()
"""What SQLAlchemy's own pools use to talk to an asyncio driver's connections
(``KeepAlivePool._dialect``): private to SQLAlchemy, hence kept here."""

# Compiled forms kept per prepared statement (a partial update has one per set of
# columns written, 2^n is possible).
_MAX_COMPILED = 256
_MISSING: Any = object()


# -- statements compiled for the driver ----------------------------------------------


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
    SQLAlchemy can run it (expanding or literal-rendered parameters; for a write
    given ``column_keys``, a column filled by a Python-side default)."""
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
    if column_keys is not None and not set(order) <= {*column_keys, *constants}:
        return None  # a value SQLAlchemy would compute (a Python-side default)
    has_processors = any(process is not None for process in processors)
    return DriverSQL(compiled.string, order, constants, processors if has_processors else None)


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


def _deleted(status: str) -> int:
    """The row count of a command status (``"DELETE 3"``)."""
    count = status.rpartition(" ")[2]
    return int(count) if count.isdigit() else 0


# -- the runner ----------------------------------------------------------------------


class AsyncpgRunner(StatementRunner):
    """Prebuilt statements on the asyncpg connection, the rest through SQLAlchemy on it."""

    __slots__ = ("_connection", "_fairy", "driver")

    def __init__(self, database: Database) -> None:
        # Not through super(): one unit (one runner) per request, and every call counts.
        self.database = database
        self._lock = None
        self._transaction = None
        self._autocommit = False
        self._one_write = False
        self._wrote_alone = False
        self._fairy: Any = None
        self._connection: AsyncConnection | None = None
        self.driver: Any = None

    @staticmethod
    def direct_statements(database: Database) -> bool:
        """Yes, unless someone watches SQLAlchemy's statements (``echo``, SQL logging,
        an instrumentation's ``before/after_cursor_execute`` listener), who must then
        see every one of them go through SQLAlchemy."""
        engine = database.engine.sync_engine
        dispatch = engine.dispatch
        watchers = len(dispatch.before_cursor_execute) + len(dispatch.after_cursor_execute)
        own = 1 if database.writes.listening else 0
        return watchers <= own and not engine._should_log_info()

    @property
    def is_open(self) -> bool:
        return self._fairy is not None

    @property
    def connection(self) -> AsyncConnection | None:
        return self._connection

    # -- opening ------------------------------------------------------------------------

    async def _checkout(self) -> None:
        database = self.database
        try:
            fairy = await database.raw_connect()
        except Exception as exc:
            raise translate(exc, database.metadata) from exc
        self._fairy = fairy
        self.driver = fairy.driver_connection

    async def _read(self) -> None:
        """The connection, in autocommit before the unit's first write."""
        if self._fairy is None:
            await self._checkout()
            self._autocommit = True

    async def begin(self) -> None:
        if self._fairy is not None and not self._autocommit:
            return
        if self._writes_alone():
            await self._read()
            return
        if self._fairy is None:
            await self._checkout()
        try:
            transaction = self.driver.transaction()
            await transaction.start()
        except Exception as exc:
            raise translate(exc, self.database.metadata) from exc
        self._transaction = transaction
        self._autocommit = False

    async def sqlalchemy(self, *, write: bool = True) -> AsyncConnection:
        await (self.begin() if write else self._read())
        conn = self._connection
        if conn is None:
            engine = self.database.engine
            conn = AsyncConnection(engine, Connection(engine.sync_engine, connection=self._fairy))
            self._connection = conn
        return conn

    # -- statements ---------------------------------------------------------------------

    def _direct(self, statement: Statement, params: Params) -> DriverSQL | None:
        """How ``statement`` runs on the driver, or None when SQLAlchemy must run it
        (not prebuilt, rows needing conversion, someone watching the SQL)."""
        if statement.__class__ is not Prepared or not statement.plain:
            return None
        database = self.database
        if not self.direct_statements(database):
            return None
        # Compiled once per dialect and, for a write, per set of columns it sets.
        names = tuple(params or ()) if statement.table is not None else None
        key = (database.engine.dialect, names)
        cache = statement.compiled
        found = cache.get(key, _MISSING)
        if found is _MISSING:
            found = driver_sql(statement.statement, key[0], names)
            if len(cache) < _MAX_COMPILED:
                cache[key] = found
        return found

    async def _on_driver(
        self, prepared: Prepared, compiled: DriverSQL, params: Params, method: str
    ) -> Any:
        values = params or {}
        if compiled.constants or compiled.processors is not None:
            args = compiled.arguments(values)
        else:  # the common case, inline: this runs for every statement
            args = [values[name] for name in compiled.order]
        async with self.lock:
            await (self._read() if prepared.reads else self.begin())
            if method == "planned":
                result = await _fetch_planned(self.driver, compiled.sql, args)
            else:
                result = await getattr(self.driver, method)(compiled.sql, *args)
        table = prepared.table
        if table is not None:
            writes = self.database.writes
            if writes.sinks:
                writes.report((table,), delete=prepared.delete)
        return result

    async def fetch(
        self, statement: Statement, params: Params = None, *, planned: bool = False
    ) -> Sequence[Any]:
        compiled = self._direct(statement, params)
        if compiled is None:
            return (await self._result(statement, params)).all()
        method = "planned" if planned else "fetch"
        return await self._on_driver(statement, compiled, params, method)

    async def fetchrow(self, statement: Statement, params: Params = None) -> Any:
        compiled = self._direct(statement, params)
        if compiled is None:
            return (await self._result(statement, params)).first()
        return await self._on_driver(statement, compiled, params, "fetchrow")

    async def fetchval(self, statement: Statement, params: Params = None) -> Any:
        compiled = self._direct(statement, params)
        if compiled is None:
            return (await self._result(statement, params)).scalar()
        return await self._on_driver(statement, compiled, params, "fetchval")

    async def execute(self, statement: Statement, params: Params = None) -> int:
        compiled = self._direct(statement, params)
        if compiled is None:
            return int((await self._result(statement, params)).rowcount or 0)
        return _deleted(await self._on_driver(statement, compiled, params, "execute"))

    # -- closing ------------------------------------------------------------------------

    async def end(self, commit: bool) -> None:
        fairy, self._fairy = self._fairy, None
        if fairy is None:
            return
        conn, self._connection = self._connection, None
        driver, self.driver = self.driver, None
        transaction, self._transaction = self._transaction, None
        autocommit, self._autocommit = self._autocommit, False
        try:
            if transaction is None or autocommit:
                return  # nothing to commit; the pool restores the connection's settings
            if commit:
                await transaction.commit()
            else:
                await transaction.rollback()
        finally:
            await _release(conn, fairy, driver, self.database.checkin_closes)


async def _release(
    conn: AsyncConnection | None, fairy: Any, driver: Any, checkin_closes: bool = False
) -> None:
    """Back to the pool; invalidated instead when COMMIT/ROLLBACK never completed
    (cancelled, timed out) or the driver dropped the connection: never pooled
    mid-transaction, and always released."""
    try:
        if _unusable(driver):
            if conn is not None:
                await conn.invalidate()
            else:
                await greenlet_spawn(fairy.invalidate)
    finally:
        if conn is not None:
            await conn.close()  # checks the wrapped raw connection in as well
        elif checkin_closes:
            # SQLAlchemy's own pool may close the connection at check-in, which
            # awaits the driver: outside a greenlet that fails (MissingGreenlet)
            # and leaves the connection open, unpooled.
            await greenlet_spawn(fairy.close)
        else:
            fairy.close()  # autocommit, no SQLAlchemy transaction: nothing to await


def _unusable(driver: Any) -> bool:
    """An asyncpg connection that is closed or still inside a transaction (asyncpg
    raises on ``is_in_transaction()`` once it has aborted the connection)."""
    try:
        return bool(driver.is_closed() or driver.is_in_transaction())
    except Exception:
        return True


# -- behind a transaction pooler (PgBouncer) ------------------------------------------


def _unnamed() -> str:
    return ""


UNPREPARED: dict[str, Any] = {
    "statement_cache_size": 0,
    "prepared_statement_cache_size": 0,
    "prepared_statement_name_func": _unnamed,
}
"""Connect arguments behind a transaction pooler: asyncpg keeps no named statement
(its own cache off) and neither does SQLAlchemy's asyncpg dialect (its cache off, and
the statements it prepares itself named ``""``, the unnamed statement)."""


async def behind_pooler(driver: Any) -> bool:
    """Whether the asyncpg connection ``driver`` reaches PostgreSQL through a pooler.

    At start-up PostgreSQL tells the client its backend's process id (for cancel
    requests), the same the session reports with ``pg_backend_pid()``. A pooler such
    as PgBouncer answers the start-up itself with a made-up id of its own, so the two
    differ; a plain TCP proxy (a port mapping, HAProxy) passes the server's through.
    Asked as an unnamed statement, which leaves nothing behind on a pooled server.
    """
    statement = await driver.prepare("SELECT pg_backend_pid()", name="")
    return bool(await statement.fetchval() != driver.get_server_pid())


def configure_pooler(database: Database) -> None:
    """Unprepared statements behind a transaction pooler (``database.pgbouncer``),
    told by the setting or, when it is unset, by the first connection.

    A transaction pooler hands each transaction (each autocommit statement) to
    whichever server connection is free, so a statement prepared under a name on
    one is unknown on the next, and names collide between clients sharing a
    server. asyncpg's statement cache off makes it send every statement unnamed:
    parsed, described and bound within one pooled transaction.
    """

    @event.listens_for(database.engine.sync_engine, "do_connect")
    def _do_connect(dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        if database.pgbouncer:
            cparams.update(UNPREPARED)
            return None
        if database.pgbouncer is False:
            return None
        connection = dialect.connect(*cargs, **cparams)
        try:
            pooled = await_only(behind_pooler(connection.driver_connection))
        except BaseException:
            connection.close()
            raise
        if not pooled:
            database.pgbouncer = False
            return connection
        _log.info(
            "loom: PostgreSQL is reached through a transaction pooler (PgBouncer): "
            "statements are sent unprepared (database.pgbouncer: false keeps them)"
        )
        database.pgbouncer = True
        connection.close()
        return dialect.connect(*cargs, **{**cparams, **UNPREPARED})
