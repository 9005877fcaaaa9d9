"""The engine, its connections, and the SQLAlchemy unit of work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import Pool, StaticPool
from sqlalchemy.util import await_only, greenlet_spawn

from loom.core.repository.sqlalchemy._asyncpg import (
    ASYNC_POOL_DIALECT,
    AsyncpgRunner,
    configure_pooler,
)
from loom.core.repository.sqlalchemy._errors import translate
from loom.core.repository.sqlalchemy._runner import SQLAlchemyRunner, StatementRunner
from loom.core.repository.sqlalchemy._table import metadata as default_metadata
from loom.core.repository.sqlalchemy._write_tracking import WriteChannel
from loom.core.uow import UnitOfWork, current_unit_of_work
from loom.core.uow import _current as _CURRENT_UNIT  # set per request: no wrapper call

__all__ = ["Database", "KeepAlivePool", "SQLAlchemyUnitOfWork"]

_log = logging.getLogger("loom.database")


class SQLAlchemyUnitOfWork(UnitOfWork):
    """A unit of work on a :class:`Database`: it holds the database's statement
    runner (``_runner.py``), which takes a connection on the first statement, and
    ends it: commit or rollback, hooks around them.

    ``async with database.begin() as uow``: the unit is its own context manager (one
    object per request, not a scope object and a unit; every request enters one).
    Commits when the block succeeds (before-commit hooks first, after-commit hooks
    once committed), rolls back when it raises; a block inside another unit of the
    same database joins it (``__aenter__`` returns the outer unit).
    """

    __slots__ = ("_outer", "_runner", "_token", "database")

    def __init__(self, database: Database) -> None:
        # UnitOfWork.__init__ inlined: one unit per request.
        self._after_commit = None
        self._before_commit = None
        self.depth = 0
        self.database = database
        self._outer: SQLAlchemyUnitOfWork | None = None
        self._runner: StatementRunner | None = None

    @property
    def runner(self) -> StatementRunner:
        """The unit's statement runner, made on first use: a use case that never
        reaches the database (a ping, a pure computation) never makes one."""
        runner = self._runner
        if runner is None:
            runner = self._runner = self.database.runner_type(self.database)
        return runner

    async def __aenter__(self) -> SQLAlchemyUnitOfWork:
        database = self.database
        active = _CURRENT_UNIT.get()
        if isinstance(active, SQLAlchemyUnitOfWork) and active.database is database:
            active.depth += 1
            self._outer = active
            return active
        self._token = _CURRENT_UNIT.set(self)
        lock = database._memory_lock
        if lock is not None:
            try:
                await lock.acquire()
            except BaseException:
                _CURRENT_UNIT.reset(self._token)
                raise
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        outer = self._outer
        if outer is not None:
            outer.depth -= 1
            return
        database = self.database
        runner = self._runner
        if (
            (runner is None or not runner.is_open)
            and self._before_commit is None
            and self._after_commit is None
            and database._memory_lock is None
        ):
            # Nothing ran and nothing waits: a use case that never reached the
            # database (a ping, a pure computation) ends here, without three awaits.
            _CURRENT_UNIT.reset(self._token)
            return
        runner = self.runner
        try:
            if exc_type is not None:
                # The original error matters more than a failed rollback.
                with contextlib.suppress(Exception):
                    await runner.end(commit=False)
                return
            try:
                await self.run_before_commit()
            except BaseException:
                with contextlib.suppress(Exception):
                    await runner.end(commit=False)
                raise
            try:
                await runner.end(commit=True)
            except Exception as error:
                translated = translate(error, database.metadata)
                if translated is error:
                    raise
                raise translated from error
        finally:
            _CURRENT_UNIT.reset(self._token)
            if database._memory_lock is not None:
                database._memory_lock.release()
        await self.run_after_commit()

    @property
    def lock(self) -> asyncio.Lock:
        """Serialises statements of concurrent tasks sharing this unit (``gather``)."""
        return self.runner.lock

    @property
    def is_open(self) -> bool:
        """Whether the unit holds a connection."""
        return self._runner is not None and self._runner.is_open

    @property
    def connection(self) -> AsyncConnection | None:
        """The unit's SQLAlchemy connection, once a SQLAlchemy statement needed it."""
        return None if self._runner is None else self._runner.connection

    @property
    def driver(self) -> Any:
        """The unit's asyncpg connection (asyncpg, once open), else None."""
        return None if self._runner is None else self._runner.driver

    def expect_single_statement(self) -> None:
        """The caller guarantees this unit issues at most one write statement (an
        auto-CRUD create, update or delete on a stock repository). A single statement
        is atomic on its own, so on PostgreSQL it runs in autocommit: one round trip
        instead of BEGIN, statement, COMMIT. Ignored for a unit already in use or
        joined by an outer one (an idempotent request stores its key beside it)."""
        if self.depth == 0 and not self.runner.is_open:
            self.runner.single_statement()


DEFAULT_POOL_SIZE = 5
DEFAULT_MAX_OVERFLOW = 10
DEFAULT_IDLE_TIMEOUT = 60.0
"""SQLAlchemy's own pool defaults, and how long a connection beyond ``pool_size`` is
kept once idle (``database.pool_idle_timeout``)."""


def _expire(future: asyncio.Future[Any]) -> None:
    """The pool timeout of one waiting checkout."""
    if not future.done():
        future.set_exception(TimeoutError())


class KeepAlivePool(Pool):
    """At most ``pool_size + max_overflow`` connections, all kept while they are used.

    SQLAlchemy's queue pool closes a connection beyond ``pool_size`` at check-in, so
    under more concurrent requests than ``pool_size`` every extra request opens and
    closes a PostgreSQL session (a quarter of the process in ``asyncpg.connect``
    with the defaults and 50 clients). Here every connection goes back to the pool,
    which hands out the most recently returned one first: when the load drops the
    least recently used sink to the bottom, and a timer closes those idle for
    ``idle_timeout`` seconds, down to ``pool_size``. ``pool_size`` and
    ``max_overflow`` keep their meaning: the first is what stays open at rest, their
    sum what may be open at once.

    Requests waiting for a connection are served first come, first served: a
    returned connection goes to the longest waiter, never to a newcomer (asyncio's
    queue lets a newcomer take it and sends the woken waiter to the back of the line,
    which under 200 clients on 15 connections starved some past the pool timeout).
    """

    _is_asyncio = True
    _dialect = ASYNC_POOL_DIALECT

    def __init__(
        self,
        creator: Any,
        pool_size: int = DEFAULT_POOL_SIZE,
        max_overflow: int = DEFAULT_MAX_OVERFLOW,
        timeout: float = 30.0,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        **kw: Any,
    ) -> None:
        kw.pop("use_lifo", None)
        super().__init__(creator, **kw)
        self._keep = pool_size
        self._extra = max_overflow
        self._max = pool_size + max_overflow
        self._timeout = timeout
        self._idle_timeout = idle_timeout
        self._opened = 0
        """Connections open or being opened, checked out or not."""
        self._idle: deque[tuple[Any, float]] = deque()
        """Checked-in connections and when they came back, the most recent last."""
        self._waiters: deque[asyncio.Future[Any]] = deque()
        self._handed: Any = None
        """A connection served in line to :meth:`checkout`, taken by its ``connect``."""
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None
        self._sweeps: set[asyncio.Task[None]] = set()

    # -- checkout and check-in (called from SQLAlchemy's pool, in a greenlet) -------

    def _do_get(self) -> Any:
        handed = self._handed
        if handed is not None:  # served to a checkout that waited outside SQLAlchemy
            self._handed = None
            return handed
        idle = self._idle
        if idle:
            waiters = self._waiters
            while waiters and idle:  # normally empty: a check-in serves waiters first
                future = waiters.popleft()
                if not future.done():
                    future.set_result(idle.pop()[0])
            if idle:
                return idle.pop()[0]
        if self._opened < self._max:
            self._opened += 1
            try:
                return self._create_connection()
            except BaseException:
                self._opened -= 1
                raise
        return self._wait()

    async def checkout(self) -> Any | None:
        """A checkout outside SQLAlchemy's greenlet, or None for its usual path.

        Entering SQLAlchemy's async pool goes through ``greenlet_spawn``: a new
        greenlet per checkout, ~11 us on the benchmark machine, a tenth of a get by
        id's CPU. Most checkouts need no greenlet: either an idle connection is there
        for the taking, or all are in use and the request waits in line for one (the
        usual case under load: 50 clients on the default 15 connections), which a
        plain future does. What needs one is opening a connection, and reconnecting
        one (pool invalidation, recycling, pre-ping, a checkout listener): then None
        (the connection served in line, if any, is left for that path to take).
        """
        idle = self._idle
        if idle:
            if self._waiters:  # others first (a moment's state: check-ins serve them)
                return None
            record = idle[-1][0]
        elif self._opened < self._max:
            return None
        else:
            record = self._handed = await self._in_line()
        return self.connect() if self._ready(record) else None

    def _ready(self, record: Any) -> bool:
        """Whether SQLAlchemy hands ``record`` over as it is, awaiting nothing."""
        if self._pre_ping or self.dispatch.checkout:
            return False
        started = record.starttime
        return not (
            record.dbapi_connection is None
            or self._invalidate_time > started
            or record._soft_invalidate_time > started
            or (self._recycle > -1 and time.time() - started > self._recycle)
        )

    def _wait(self) -> Any:
        return await_only(self._in_line())

    async def _in_line(self) -> Any:
        # A plain future with a timer, not asyncio.wait_for: every request waits here
        # once under contention (first come, first served), and wait_for's extra
        # coroutine and resume cost ~10-15 us per request (profiled at 50 clients).
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._waiters.append(future)
        timer = loop.call_later(self._timeout, _expire, future)
        try:
            return await future
        except TimeoutError:
            raise sa_exc.TimeoutError(
                f"pool limit of {self._max} connections (pool_size {self._keep} + "
                f"max_overflow {self._extra}) reached, no connection free within "
                f"{self._timeout:g}s",
                code="3o7r",
            ) from None
        except BaseException:
            # Cancelled after a connection was handed over: it goes to the next one.
            if future.done() and not future.cancelled() and future.exception() is None:
                self._do_return_conn(future.result())
            raise
        finally:
            timer.cancel()
            # A future that got its connection was already popped by _do_return_conn;
            # searching the deque for it would raise (and format the future) every
            # time. A timed-out or cancelled one stays until _do_return_conn skips it.
            if not future.done():
                with contextlib.suppress(ValueError):
                    self._waiters.remove(future)

    def _do_return_conn(self, record: Any) -> None:
        waiters = self._waiters
        while waiters:
            future = waiters.popleft()
            if not future.done():
                future.set_result(record)
                return
        self._idle.append((record, time.monotonic()))
        if self._opened > self._keep:
            self._arm()

    # -- closing idle connections ------------------------------------------------------

    def _arm(self) -> None:
        timer, loop = self._timer, self._timer_loop
        if timer is not None and loop is not None and not loop.is_closed():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a check-in from garbage collection: the next one arms it
            return
        # Half the timeout: a connection closes between one and one and a half
        # timeouts after its last use, with one timer per pool rather than per check-in.
        self._timer = loop.call_later(max(self._idle_timeout / 2, 0.01), self._on_timer)
        self._timer_loop = loop

    def _on_timer(self) -> None:
        self._timer = None
        loop = self._timer_loop
        if loop is None or loop.is_closed():
            return
        task = loop.create_task(self._close_idle())
        self._sweeps.add(task)
        task.add_done_callback(self._sweeps.discard)

    def _take_idle(self) -> list[Any]:
        """Out of the pool: the connections idle for ``idle_timeout``, beyond
        ``pool_size``, least recently used first."""
        deadline = time.monotonic() - self._idle_timeout
        taken: list[Any] = []
        idle = self._idle
        while idle and self._opened - len(taken) > self._keep and idle[0][1] <= deadline:
            taken.append(idle.popleft()[0])
        return taken

    async def _close_idle(self) -> None:
        for record in self._take_idle():
            try:
                await greenlet_spawn(record.close)
            except Exception:  # already broken: it leaves the pool all the same
                _log.debug("closing an idle connection failed", exc_info=True)
            finally:
                self._opened -= 1
        if self._opened > self._keep:
            self._arm()

    # -- the Pool interface ------------------------------------------------------------

    def dispose(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._idle:
            record, _ = self._idle.popleft()
            self._opened -= 1
            record.close()
        self.logger.info("Pool disposed. %s", self.status())

    def recreate(self) -> KeepAlivePool:
        self.logger.info("Pool recreating")
        return self.__class__(
            self._creator,
            pool_size=self._keep,
            max_overflow=self._extra,
            timeout=self._timeout,
            idle_timeout=self._idle_timeout,
            pre_ping=self._pre_ping,
            recycle=self._recycle,
            echo=self.echo,
            logging_name=self._orig_logging_name,
            reset_on_return=self._reset_on_return,
            _dispatch=self.dispatch,
            dialect=self._dialect,
        )

    def status(self) -> str:
        return (
            f"Pool size: {self._keep}  Maximum: {self._max}  Connections in pool: "
            f"{self.checkedin()} Current Checked out connections: {self.checkedout()}"
        )

    def size(self) -> int:
        """``pool_size``: the connections kept at rest."""
        return self._keep

    def maximum(self) -> int:
        """``pool_size + max_overflow``: the connections open at most."""
        return self._max

    def timeout(self) -> float:
        return self._timeout

    def checkedin(self) -> int:
        return len(self._idle)

    def overflow(self) -> int:
        return max(self._opened - self._keep, 0)

    def checkedout(self) -> int:
        return self._opened - len(self._idle)


_SOLE: dict[tuple[str, str], list[Any]] = {}
"""Locks of :meth:`Database.claim_sole_process` this process holds, with their count."""

PLAN_LISTS = ("values", "cached")
"""``database.plan_lists``: how PostgreSQL plans list statements (see ``Database``)."""


class Database:
    """An async engine configured the way Loom needs on each backend.

    SQLite gets foreign keys switched on for every connection (so ``ON DELETE``
    actions are enforced), WAL journaling for file databases and a busy timeout;
    PostgreSQL gets a connect timeout so an outage fails fast instead of hanging.

    The pool (:class:`KeepAlivePool`) opens at most ``pool_size + max_overflow``
    connections (SQLAlchemy's defaults, 5 and 10) and keeps every one while it is
    used; those beyond ``pool_size`` close after ``pool_idle_timeout`` seconds idle.
    ``pgbouncer``: True when a transaction pooler sits in front of PostgreSQL
    (statements then go unprepared), False when not, None to tell from the first
    connection.
    """

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        pool_size: int | None = None,
        max_overflow: int | None = None,
        pool_pre_ping: bool = False,
        pool_timeout: float = 10.0,
        pool_idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        connect_timeout: float = 5.0,
        statement_timeout_ms: int | None = None,
        plan_lists: str = "values",
        pgbouncer: bool | None = None,
        metadata: sa.MetaData | None = None,
    ) -> None:
        if plan_lists not in PLAN_LISTS:
            allowed = ", ".join(PLAN_LISTS)
            raise ValueError(f"plan_lists must be one of {allowed}, not {plan_lists!r}")
        self.url = make_url(url)
        self.metadata = metadata if metadata is not None else default_metadata
        self.dialect = self.url.get_backend_name()
        self.autocommit_reads = self.dialect == "postgresql"
        """Reads before a unit's first write skip BEGIN/COMMIT (PostgreSQL only: SQLite
        serialises its transactions with BEGIN IMMEDIATE, which reads must take too)."""
        self.driver_transactions = self.autocommit_reads and self.url.get_driver_name() == "asyncpg"
        """asyncpg: connections live in autocommit and units of work run BEGIN/COMMIT on
        the driver connection, where the repositories' prebuilt statements run too."""
        self.plan_lists_for_values = plan_lists == "values"
        """PostgreSQL plans a filtered list for its values (an unnamed statement, one
        more round trip) instead of reusing a generic plan; ``"cached"`` keeps every
        list a cached prepared statement."""
        kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": pool_pre_ping}
        if self.driver_transactions:
            kwargs["isolation_level"] = "AUTOCOMMIT"
        connect_args: dict[str, Any] = {}
        if self.dialect == "sqlite":
            connect_args["timeout"] = 30
            self._memory = self.url.database in (None, "", ":memory:")
            if self._memory:
                kwargs["poolclass"] = StaticPool
        else:
            self._memory = False
            kwargs["pool_timeout"] = pool_timeout
            size = DEFAULT_POOL_SIZE if pool_size is None else int(pool_size)
            overflow = DEFAULT_MAX_OVERFLOW if max_overflow is None else int(max_overflow)
            if size > 0 and overflow >= 0:
                kwargs["poolclass"] = KeepAlivePool
                kwargs["idle_timeout"] = float(pool_idle_timeout)
            # else SQLAlchemy's meanings: size 0 or overflow -1 is "no limit"
            kwargs["pool_size"] = size
            kwargs["max_overflow"] = overflow
            if self.dialect == "postgresql":
                connect_args["timeout"] = connect_timeout
                connect_args["command_timeout"] = (
                    statement_timeout_ms / 1000 if statement_timeout_ms else 30
                )
                settings: dict[str, str] = {"application_name": "loom"}
                connect_args["server_settings"] = settings
        self.pgbouncer: bool | None = pgbouncer if self.dialect == "postgresql" else False
        """Whether a transaction pooler sits in front of PostgreSQL (statements then go
        unnamed and unprepared); None until the first connection tells (auto)."""
        kwargs["connect_args"] = connect_args
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        self.writes = WriteChannel(self.engine.sync_engine)
        """Every write on this database, told to those who track them (the cache)."""
        self.runner_type: type[StatementRunner] = (
            AsyncpgRunner if self.driver_transactions else SQLAlchemyRunner
        )
        """How units of work run their statements, chosen once (see ``_runner.py``)."""
        pool = self.engine.pool
        self._pool_checkout = pool.checkout if isinstance(pool, KeepAlivePool) else None
        """The pool's checkout without a greenlet, when it has one."""
        self.checkin_closes = not isinstance(pool, (KeepAlivePool, StaticPool))
        """Whether checking a connection in may close it (SQLAlchemy's queue pool beyond
        ``pool_size``): it must then happen in a greenlet."""
        if self.dialect == "postgresql" and self.url.get_driver_name() == "asyncpg":
            configure_pooler(self)
        self._connect_timeout = connect_timeout
        # An in-memory SQLite database is one shared connection: serialise units of work.
        self._memory_lock: asyncio.Lock | None = asyncio.Lock() if self._memory else None
        if self.dialect == "sqlite":
            self._configure_sqlite()

    def _configure_sqlite(self) -> None:
        memory = self._memory

        @event.listens_for(self.engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Take transaction control away from pysqlite so BEGIN/COMMIT are ours.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            # LIKE is case-sensitive as on PostgreSQL; ILIKE is the case-blind one.
            cursor.execute("PRAGMA case_sensitive_like=ON")
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(self.engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            # IMMEDIATE takes the write lock up front (waiting up to busy_timeout). A
            # deferred transaction that reads, then writes after another writer
            # committed, fails at once with "database is locked" (no busy wait in WAL).
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    async def connect(self) -> AsyncConnection:
        # asyncio.timeout, not wait_for: no extra task per checkout (measurable per request).
        async with asyncio.timeout(self._connect_timeout + 5):
            return await self.engine.connect()

    async def raw_connect(self) -> Any:
        """A pooled DBAPI connection, without SQLAlchemy's ``Connection`` around it.

        A failed connect raises SQLAlchemy's exception for it, as ``connect()`` does
        (the pool alone raises the driver's), so it translates to the same 503.
        """
        # No asyncio timeout around it: cancelling a checkout midway loses the
        # connection it was setting up. The pool's own timeout bounds the wait for a
        # free connection, the driver's connect timeout a new connection's set-up.
        checkout = self._pool_checkout
        if checkout is not None:
            fairy = await checkout()
            if fairy is not None:
                return fairy
        dialect = self.engine.dialect
        try:
            return await self.engine.raw_connection()
        except dialect.loaded_dbapi.Error as exc:
            raise sa_exc.DBAPIError.instance(
                None, None, exc, dialect.loaded_dbapi.Error, dialect=dialect
            ) from exc

    def begin(self) -> SQLAlchemyUnitOfWork:
        """One transaction for the block; nested ``begin`` calls join the outer one."""
        return SQLAlchemyUnitOfWork(self)

    def active_runner(self) -> StatementRunner | None:
        """The runner of the active unit of work on this database, if any."""
        active = current_unit_of_work()
        if isinstance(active, SQLAlchemyUnitOfWork) and active.database is self:
            return active.runner
        return None

    @asynccontextmanager
    async def runner(self) -> AsyncIterator[StatementRunner]:
        """The active unit of work's runner, or that of a unit of its own for the
        block (committed when it ends)."""
        active = self.active_runner()
        if active is not None:
            yield active
            return
        async with self.begin() as uow:
            yield uow.runner

    @asynccontextmanager
    async def read_connection(self) -> AsyncIterator[AsyncConnection]:
        """Like :meth:`connection`, for statements that only read (in autocommit
        before the unit's first write, on PostgreSQL)."""
        async with self.runner() as runner, runner.lock:
            yield await runner.sqlalchemy(write=False)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """The active unit of work's connection, or a short transaction of its own."""
        async with self.runner() as runner, runner.lock:
            yield await runner.sqlalchemy(write=True)

    @property
    def driver_statements(self) -> bool:
        """Whether prebuilt statements skip SQLAlchemy's execute path (asyncpg, while
        nobody watches SQLAlchemy's statements: see ``AsyncpgRunner``)."""
        return self.runner_type.direct_statements(self)

    def _transactional(self) -> AsyncEngine:
        """The engine for DDL: in one transaction even where connections autocommit."""
        if self.driver_transactions:
            return self.engine.execution_options(isolation_level="READ COMMITTED")
        return self.engine

    async def create_all(self) -> None:
        """Create the tables that do not exist yet (existing ones are left alone)."""
        async with self._transactional().begin() as conn:
            if self.dialect == "postgresql":
                # Worker processes start together: one creates, the others then find
                # the tables (two CREATE TABLE at once fail on PostgreSQL's catalog).
                lock = sa.text("SELECT pg_advisory_xact_lock(hashtext('loom:create_all'))")
                await conn.execute(lock)
            await conn.run_sync(self.metadata.create_all)

    async def missing_tables(self, names: list[str]) -> list[str]:
        """Which of ``names`` the database does not have."""
        async with self.engine.connect() as conn:
            existing = set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
        return [name for name in names if name not in existing]

    async def drop_all(self) -> None:
        async with self._transactional().begin() as conn:
            await conn.run_sync(self.metadata.drop_all)

    async def claim_sole_process(self, purpose: str) -> bool:
        """Whether this is the only process using the database for ``purpose`` (a
        per-process cache, say); it stays so until :meth:`release_sole_process`.

        PostgreSQL: a session advisory lock on a connection of its own, taken out of
        the pool for the process's lifetime (a second process's try fails at once,
        and a dead process's lock goes with its connection). Behind a transaction
        pooler a session lock means nothing, so the answer is no. SQLite: an
        exclusive ``flock`` on a file beside the database. Several claims of one
        process (several apps in it) share the one lock.
        """
        key = (str(self.url), purpose)
        held = _SOLE.get(key)
        if held is not None:
            held[1] += 1
            return True
        lock: Any = None
        if self.dialect == "postgresql":
            if self.pgbouncer is None:
                await self.ping()  # the first connection tells whether a pooler is there
            if self.pgbouncer:
                return False
            fairy = await self.raw_connect()
            driver = fairy.driver_connection
            fairy.detach()  # outside the pool's count, for the process's lifetime
            statement = await driver.prepare("SELECT pg_try_advisory_lock(hashtext($1))", name="")
            if not await statement.fetchval(f"loom:{purpose}"):
                await greenlet_spawn(fairy.close)
                return False
            lock = fairy
        elif self.dialect == "sqlite" and not self._memory and self.url.database:
            try:
                import fcntl
            except ImportError:  # no flock (Windows): cannot tell
                return True
            handle = open(f"{self.url.database}.loom-{purpose}.lock", "a")  # noqa: SIM115
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                return False
            lock = handle
        _SOLE[key] = [lock, 1]
        return True

    async def release_sole_process(self, purpose: str) -> None:
        key = (str(self.url), purpose)
        held = _SOLE.get(key)
        if held is None:
            return
        held[1] -= 1
        if held[1] > 0:
            return
        del _SOLE[key]
        lock = held[0]
        if lock is None:
            return
        if self.dialect == "postgresql":
            with contextlib.suppress(Exception):
                await greenlet_spawn(lock.close)  # the lock goes with the session
        else:
            lock.close()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
