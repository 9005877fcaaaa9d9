"""Statement runners: how a unit of work's statements reach the database.

As httpx sends every request through a transport and SQLAlchemy talks to every
database through a dialect, every statement of the SQL adapter goes through one
:class:`StatementRunner`: ``fetch``, ``fetchrow``, ``fetchval`` and ``execute``, with
``begin``/``commit``/``rollback`` around them. A :class:`~._database.Database`
chooses its implementation once:

- :class:`SQLAlchemyRunner` (here): statements through SQLAlchemy's
  ``AsyncConnection``, for SQLite and every driver but asyncpg;
- ``AsyncpgRunner`` (``_asyncpg.py``): prebuilt statements on the asyncpg connection
  itself, the rest through SQLAlchemy on the same connection and transaction.

A runner holds at most one connection, taken on the first statement and given back
by ``commit``/``rollback``. On PostgreSQL it reads in autocommit until the first
write (one round trip per read, no BEGIN/COMMIT; under READ COMMITTED every
statement takes its own snapshot inside a transaction too), then runs every write of
the unit in one transaction. A unit known to hold a single write statement
(:meth:`StatementRunner.single_statement`) runs that write alone in autocommit.

A statement is a :class:`~._statements.Prepared` (built once; a runner may compile
it for its driver) or any SQLAlchemy executable. Writes reach the cache through the
database's one write channel (``Database.writes``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from loom.core.repository.sqlalchemy._errors import translate
from loom.core.repository.sqlalchemy._statements import Prepared

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult

    from loom.core.repository.sqlalchemy._database import Database

__all__ = ["Params", "SQLAlchemyRunner", "Statement", "StatementRunner"]

Statement = Any
"""A :class:`Prepared` or a SQLAlchemy executable."""
Params = Mapping[str, Any] | None


def _reads(statement: Statement) -> bool:
    if isinstance(statement, Prepared):
        return statement.reads
    return bool(getattr(statement, "is_select", False))


class StatementRunner:
    """The statements of one unit of work, on one connection (see the module doc)."""

    __slots__ = (
        "_autocommit",
        "_lock",
        "_one_write",
        "_transaction",
        "_wrote_alone",
        "database",
    )

    driver: Any = None
    """The asyncpg connection (``AsyncpgRunner``, once open), else None."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._lock: asyncio.Lock | None = None
        self._transaction: Any = None
        self._autocommit = False
        self._one_write = False
        self._wrote_alone = False

    @staticmethod
    def direct_statements(database: Database) -> bool:
        """Whether prebuilt statements of ``database`` may skip SQLAlchemy."""
        return False

    @property
    def lock(self) -> asyncio.Lock:
        """Serialises statements of concurrent tasks sharing the unit (``gather``):
        one connection runs one statement at a time, and only one task may open it."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    @property
    def is_open(self) -> bool:
        """Whether the runner holds a connection."""
        raise NotImplementedError

    @property
    def connection(self) -> AsyncConnection | None:
        """The SQLAlchemy connection, once a statement needed one."""
        raise NotImplementedError

    def single_statement(self) -> None:
        """The unit will issue at most one write: it may run alone in autocommit.
        Ignored where reads do not run in autocommit either (SQLite)."""
        if self.database.autocommit_reads:
            self._one_write = True

    def _writes_alone(self) -> bool:
        """True for the one write of a single-statement unit (it runs in autocommit);
        raises for a second write of such a unit, whose first is already committed."""
        if self._one_write:
            self._one_write = False
            self._wrote_alone = True
            return True
        if self._wrote_alone:
            raise RuntimeError(
                "a unit of work declared single-statement issued a second write; "
                "its first write is already committed"
            )
        return False

    # -- lifecycle ---------------------------------------------------------------------

    async def begin(self) -> None:
        """The connection inside the unit's transaction, begun now if need be (or in
        autocommit for the one write of a single-statement unit)."""
        raise NotImplementedError

    async def commit(self) -> None:
        """Commit what the unit wrote and give the connection back."""
        await self.end(commit=True)

    async def rollback(self) -> None:
        """Roll back what the unit wrote and give the connection back."""
        await self.end(commit=False)

    async def end(self, commit: bool) -> None:
        """``commit`` or roll back, then give the connection back (the unit of work's
        one call at its end; nothing to do when no statement ran)."""
        raise NotImplementedError

    async def sqlalchemy(self, *, write: bool = True) -> AsyncConnection:
        """The unit's connection as SQLAlchemy's, for custom SQL: inside the unit's
        transaction for ``write``, else as a read (in autocommit before the first
        write on PostgreSQL). Callers hold :attr:`lock` while they use it."""
        raise NotImplementedError

    # -- statements --------------------------------------------------------------------

    async def fetch(
        self, statement: Statement, params: Params = None, *, planned: bool = False
    ) -> Sequence[Any]:
        """Every row. ``planned``: PostgreSQL plans the statement for these values
        instead of reusing a generic plan (filtered lists; asyncpg only)."""
        return (await self._result(statement, params)).all()

    async def fetchrow(self, statement: Statement, params: Params = None) -> Any:
        """The first row, or None."""
        return (await self._result(statement, params)).first()

    async def fetchval(self, statement: Statement, params: Params = None) -> Any:
        """The first column of the first row, or None."""
        return (await self._result(statement, params)).scalar()

    async def execute(self, statement: Statement, params: Params = None) -> int:
        """Run a statement for its effect: the number of rows it changed."""
        return int((await self._result(statement, params)).rowcount or 0)

    async def _result(self, statement: Statement, params: Params) -> CursorResult[Any]:
        """``statement`` through SQLAlchemy, on the unit's connection."""
        stmt = statement.statement if isinstance(statement, Prepared) else statement
        async with self.lock:
            conn = await self.sqlalchemy(write=not _reads(statement))
            return await conn.execute(stmt, params)


class SQLAlchemyRunner(StatementRunner):
    """Every statement through SQLAlchemy's ``AsyncConnection`` (SQLite, psycopg, ...)."""

    __slots__ = ("_connection",)

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self._connection: AsyncConnection | None = None

    @property
    def is_open(self) -> bool:
        return self._connection is not None

    @property
    def connection(self) -> AsyncConnection | None:
        return self._connection

    async def begin(self) -> None:
        await self.sqlalchemy(write=True)

    async def sqlalchemy(self, *, write: bool = True) -> AsyncConnection:
        conn = self._connection
        database = self.database
        if not write or not database.autocommit_reads:
            if conn is not None:
                return conn
            if not database.autocommit_reads:
                write = True  # SQLite: every statement inside the transaction
            else:
                try:
                    conn = await database.connect()
                    await conn.execution_options(isolation_level="AUTOCOMMIT")
                except Exception as exc:
                    raise translate(exc, database.metadata) from exc
                self._connection = conn
                self._autocommit = True
                return conn
        if conn is not None and not self._autocommit:
            return conn
        if self._writes_alone():
            return await self.sqlalchemy(write=False)
        try:
            if conn is None:
                conn = await database.connect()
            else:
                # Reads so far ran in autocommit; the first write starts the transaction.
                await conn.commit()
                await conn.execution_options(isolation_level=conn.default_isolation_level)
                self._autocommit = False
            self._transaction = await conn.begin()
        except Exception as exc:
            raise translate(exc, database.metadata) from exc
        self._connection = conn
        return conn

    async def end(self, commit: bool) -> None:
        conn, self._connection = self._connection, None
        if conn is None:
            return
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
            await conn.close()
