"""Sessions for custom SQL, as the 0.2 API wrote it: ``SessionManager``,
``with_session_scope`` and ``transactional``.

A 0.2 repository method takes an ``AsyncSession``::

    @with_session_scope
    async def top_sellers(self, session: AsyncSession, n: int) -> list[Product]:
        rows = await session.execute(select(...))

Loom runs every use case in a unit of work (``Database.begin()``) on one connection.
The session given to such a method is bound to *that* connection, inside its
transaction: what the method reads and writes commits or rolls back with the use
case. Without an active unit the method gets a unit of its own, committed when it
returns. A ``commit()`` on the injected session never commits the unit early (the
session only joins the unit's transaction); the unit decides.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from loom.core.repository.sqlalchemy._database import Database, SQLAlchemyUnitOfWork
from loom.core.uow import current_unit_of_work

__all__ = ["SessionManager", "current_session", "transactional", "with_session_scope"]

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")

_active: contextvars.ContextVar[tuple[SQLAlchemyUnitOfWork, AsyncSession] | None] = (
    contextvars.ContextVar("loom_active_session", default=None)
)


class SessionManager:
    """An async engine and its session factory (0.2's database handle), on a Loom
    :class:`Database`: repositories built from it share the database's units of work.

    Pool arguments the :class:`Database` does not take are ignored (see the "coming
    from 0.2" notes); ``inject_trace_id`` is accepted for compatibility: Loom tags
    statements through its own tracing.
    """

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        pool_pre_ping: bool = True,
        pool_size: int = 10,
        max_overflow: int = 20,
        pool_timeout: float = 30,
        pool_recycle: int = 1800,
        connect_args: dict[str, Any] | None = None,
        inject_trace_id: bool = True,
        **engine_kwargs: Any,
    ) -> None:
        wanted: dict[str, Any] = {
            "echo": echo,
            "pool_pre_ping": pool_pre_ping,
            "pool_size": pool_size,
            "max_overflow": max_overflow,
            "pool_timeout": float(pool_timeout),
            "pool_recycle": pool_recycle,
            "connect_args": connect_args,
            **engine_kwargs,
        }
        accepted = inspect.signature(Database).parameters
        takes_any = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
        options = {
            k: v for k, v in wanted.items() if (takes_any or k in accepted) and v is not None
        }
        self.database = Database(url, **options)
        self.inject_trace_id = inject_trace_id
        self._factory: async_sessionmaker[AsyncSession] | None = None

    @classmethod
    def for_database(cls, database: Database) -> SessionManager:
        """A manager over an existing Loom database (the application's)."""
        manager = cls.__new__(cls)
        manager.database = database
        manager.inject_trace_id = True
        manager._factory = None
        return manager

    @property
    def engine(self) -> AsyncEngine:
        return self.database.engine

    @property
    def session_factory(self) -> async_sessionmaker[AsyncSession]:
        """Plain sessions on the engine, outside any unit of work."""
        if self._factory is None:
            self._factory = async_sessionmaker(self.engine, expire_on_commit=False)
        return self._factory

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """The active session (inside a ``with_session_scope`` method), else one on the
        active unit of work's connection, else a plain session the caller commits."""
        found = _session_for(self.database)
        if found is not None:
            yield found
            return
        uow = current_unit_of_work()
        if isinstance(uow, SQLAlchemyUnitOfWork) and uow.database is self.database:
            async with _joined(uow) as session:
                yield session
            return
        async with self.session_factory() as session:
            yield session

    async def dispose(self) -> None:
        await self.database.dispose()

    def __repr__(self) -> str:
        return f"SessionManager({self.database.url.render_as_string(hide_password=True)!r})"


def _session_for(database: Database) -> AsyncSession | None:
    """The session of the innermost ``with_session_scope`` call on this unit of work."""
    active = _active.get()
    if active is None:
        return None
    uow, session = active
    if uow.database is database and current_unit_of_work() is uow:
        return session
    return None


def current_session() -> AsyncSession | None:
    """The session a ``with_session_scope`` method is running with, if any."""
    active = _active.get()
    if active is None or current_unit_of_work() is not active[0]:
        return None
    return active[1]


@asynccontextmanager
async def _joined(uow: SQLAlchemyUnitOfWork) -> AsyncIterator[AsyncSession]:
    """A session on ``uow``'s connection, inside its transaction (begun now if need
    be); pending ORM changes are flushed into it at the end."""
    runner = uow.runner
    async with runner.lock:
        # Only the opening is serialised: the method may call other repository methods,
        # which take the lock themselves (holding it across the method would deadlock).
        connection = await runner.sqlalchemy(write=True)
    # A session joined to a connection already in a transaction never commits it
    # (and on asyncpg, where the unit drives the transaction on the driver, there is
    # nothing for it to commit); the unit of work commits or rolls back.
    session = AsyncSession(bind=connection, expire_on_commit=False)
    token = _active.set((uow, session))
    try:
        yield session
        await session.flush()
    finally:
        _active.reset(token)
        await session.close()


def _database_of(owner: Any) -> Database:
    database = getattr(owner, "database", None)
    if isinstance(database, Database):
        return database
    manager = getattr(owner, "session_manager", None)
    database = getattr(manager, "database", None)
    if isinstance(database, Database):
        return database
    raise TypeError(
        f"{type(owner).__name__}: with_session_scope/transactional need self.database "
        "(a Loom Database) or self.session_manager (a SessionManager)"
    )


def with_session_scope(
    method: Callable[Concatenate[S, AsyncSession, P], Awaitable[R]],
) -> Callable[Concatenate[S, P], Awaitable[R]]:
    """Give ``async def m(self, session, *args)`` the active session, or one on the
    active unit of work, or one in a unit of its own (committed when ``m`` returns)."""
    if not inspect.iscoroutinefunction(method):
        raise TypeError(f"with_session_scope: {method.__qualname__} must be an async def")

    @functools.wraps(method)
    async def scoped(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        database = _database_of(self)
        found = _session_for(database)
        if found is not None:
            return await method(self, found, *args, **kwargs)
        async with database.begin() as uow, _joined(uow) as session:
            return await method(self, session, *args, **kwargs)

    return scoped


def transactional(
    method: Callable[Concatenate[S, P], Awaitable[R]],
) -> Callable[Concatenate[S, P], Awaitable[R]]:
    """One transaction around a service method (joining an active one). Once it has
    committed, ``self.on_transaction_committed()`` runs when ``self`` defines it."""
    if not inspect.iscoroutinefunction(method):
        raise TypeError(f"transactional: {method.__qualname__} must be an async def")

    @functools.wraps(method)
    async def wrapped(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        database = _database_of(self)
        async with database.begin() as uow:
            hook = getattr(self, "on_transaction_committed", None)
            if callable(hook):
                uow.after_commit(hook)
            return await method(self, *args, **kwargs)

    return wrapped
