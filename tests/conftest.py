"""Shared test infrastructure: real PostgreSQL / Redis when reachable, SQLite always.

Fixtures
--------
``db_url``
    Parametrised ``sqlite`` (a fresh file per test) and ``postgres`` (a database created
    for this test session). Tests using it run once per backend.
``database``
    A :class:`~loom.core.repository.sqlalchemy.Database` on ``db_url`` with every
    registered model's table created (``create_all``) and no rows: each SQLite file is
    new (copied from a schema template, which is much faster than the DDL), and the
    PostgreSQL database is truncated after every test that used it. Its tables are
    kept between tests (re-creating them per test would dominate the suite's time).
``db_url_factory`` / ``database_factory``
    The same two things as callables, for fixtures that parametrise backends themselves.
``redis_url``
    ``redis://127.0.0.1:6379/15``.

A service that is not reachable skips its tests with the reason, unless
``LOOM_REQUIRE_SERVICES=1`` (CI), where the same reason fails them instead.

Test modules declare their models into the one shared metadata, so table names must
be unique across the suite: prefix them with something specific to the module.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import itertools
import os
import secrets
import shutil
import socket
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

PG_HOST = os.environ.get("LOOM_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("LOOM_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("LOOM_TEST_PG_USER", "postgres")
REDIS_HOST = os.environ.get("LOOM_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("LOOM_TEST_REDIS_PORT", "6379"))
REDIS_DB = 15

T = TypeVar("T")

SQL_BACKENDS = (
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
)
"""Parameters for fixtures that run a test once per SQL backend."""


# -- service switches -------------------------------------------------------------------


def services_required() -> bool:
    return os.environ.get("LOOM_REQUIRE_SERVICES", "").strip() in ("1", "true", "yes")


def require_service(available: bool, reason: str) -> None:
    """Skip (or, with ``LOOM_REQUIRE_SERVICES=1``, fail) when a service is missing."""
    if available:
        return
    if services_required():
        pytest.fail(f"{reason} (LOOM_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


def run_blocking(fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``fn()`` to completion on a private event loop in a worker thread.

    Safe from sync code and from inside a running loop (an async fixture asking for a
    session fixture lazily), which ``asyncio.run`` is not.
    """
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, fn()).result()


def _pg_dsn(database: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


@functools.cache
def pg_problem() -> str | None:
    """``None`` when PostgreSQL answers, else why it does not (probed once per session)."""
    try:
        import asyncpg
    except ImportError:
        return "asyncpg is not installed"

    async def probe() -> None:
        conn = await asyncpg.connect(_pg_dsn("postgres"), timeout=3)
        await conn.close()

    try:
        run_blocking(probe)
    except Exception as exc:
        return f"PostgreSQL at {PG_HOST}:{PG_PORT} is unreachable: {type(exc).__name__}: {exc}"
    return None


def pg_available() -> bool:
    return pg_problem() is None


@functools.cache
def redis_problem() -> str | None:
    """``None`` when Redis answers PING, else why it does not (probed once per session)."""
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError as exc:
        return f"Redis at {REDIS_HOST}:{REDIS_PORT} is unreachable: {exc}"
    if not reply.startswith(b"+PONG"):
        return f"Redis at {REDIS_HOST}:{REDIS_PORT} answered {reply!r} to PING"
    return None


def redis_available() -> bool:
    return redis_problem() is None


# -- PostgreSQL test database -----------------------------------------------------------


def _pg_admin(sql: str) -> None:
    import asyncpg

    async def execute() -> None:
        conn = await asyncpg.connect(_pg_dsn("postgres"), timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    run_blocking(execute)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """The name of a PostgreSQL database created for this session, dropped at its end."""
    require_service(pg_available(), pg_problem() or "")
    name = f"loom_test_{secrets.token_hex(6)}"
    _pg_admin(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'")
    try:
        yield name
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def own_pg_database(prefix: str = "loom_own") -> Iterator[str]:
    """A new, empty PostgreSQL database (its ``postgresql+asyncpg://`` URL), dropped when
    the block ends: for an app or a migration run that needs a database nobody else
    writes to. Skips (or, with LOOM_REQUIRE_SERVICES, fails) without PostgreSQL."""
    require_service(pg_available(), pg_problem() or "")
    name = f"{prefix}_{secrets.token_hex(5)}"
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
    try:
        yield _pg_dsn(name).replace("postgresql://", "postgresql+asyncpg://")
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    """A PostgreSQL database of the test's own, dropped after it: for tests that count
    what happens on a database (sessions, autogenerated revisions), which the session
    database shares with every other test."""
    with own_pg_database() as url:
        yield url


# -- database URLs and Database objects ---------------------------------------------------


def _pg_truncate_all(name: str) -> None:
    """Empty every table of the test database and restart its sequences; keep the schema.

    ``DELETE`` with foreign-key triggers off (``session_replication_role``) is an order
    of magnitude faster than ``TRUNCATE`` on the handful of rows a test writes; without
    the privilege for that, ``TRUNCATE ... CASCADE`` does the same job.
    """
    import asyncpg

    async def execute() -> None:
        conn = await asyncpg.connect(_pg_dsn(name), timeout=5)
        try:
            # A test that leaked an open transaction must not hang the suite.
            await conn.execute("SET lock_timeout = '10s'")
            rows = await conn.fetch(
                "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'"
            )
            tables = [r[0] for r in rows]
            if not tables:
                return
            try:
                async with conn.transaction():
                    await conn.execute("SET LOCAL session_replication_role = replica")
                    await conn.execute("".join(f"DELETE FROM {t};" for t in tables))
                    await conn.execute(
                        "SELECT setval(c.oid::regclass, 1, false) FROM pg_class c "
                        "WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace"
                    )
            except asyncpg.InsufficientPrivilegeError:
                await conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        finally:
            await conn.close()

    run_blocking(execute)


@pytest.fixture
def db_url_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[str], str]]:
    """``factory("sqlite" | "postgres") -> url``; skips/fails when the server is missing.

    Each SQLite URL names a new file in the test's ``tmp_path``. PostgreSQL URLs all
    point at the session's test database, whose tables are emptied after the test.
    """
    counter = itertools.count()
    used_pg: list[str] = []

    def make(kind: str) -> str:
        if kind == "sqlite":
            n = next(counter)
            return f"sqlite+aiosqlite:///{tmp_path / ('t.db' if n == 0 else f't{n}.db')}"
        if kind == "postgres":
            name = request.getfixturevalue("pg_database")
            if not used_pg:
                used_pg.append(name)
            return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
        raise ValueError(f"unknown database kind {kind!r}")

    yield make
    for name in used_pg:
        _pg_truncate_all(name)


@pytest.fixture(params=SQL_BACKENDS)
def db_url(request: pytest.FixtureRequest, db_url_factory: Callable[[str], str]) -> str:
    return db_url_factory(request.param)


def register_all_tables() -> None:
    """Build the table of every model declared so far into the shared metadata.

    Models that cannot be compiled (tests of invalid declarations) are skipped.
    """
    from loom.core.model import all_models
    from loom.core.repository.sqlalchemy import table_for

    for model in all_models():
        with contextlib.suppress(TypeError, ValueError):
            table_for(model)


class SchemaTemplates:
    """Pre-built SQLite files holding every table, copied instead of re-running the DDL."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files: dict[frozenset[str], Path] = {}

    async def seed(self, url: str) -> None:
        """Put the current schema into ``url``'s SQLite file if it does not exist yet."""
        from sqlalchemy.engine import make_url

        from loom.core.repository.sqlalchemy import Database, metadata

        parsed = make_url(url)
        target = parsed.database
        if parsed.get_backend_name() != "sqlite" or not target or target == ":memory:":
            return
        if Path(target).exists():
            return
        key = frozenset(metadata.tables)
        template = self._files.get(key)
        if template is None:
            template = self.directory / f"schema{len(self._files)}.db"
            db = Database(f"sqlite+aiosqlite:///{template}")
            try:
                await db.create_all()
            finally:
                await db.dispose()  # the last connection's close checkpoints the WAL
            self._files[key] = template
        shutil.copyfile(template, target)


@pytest.fixture(scope="session")
def schema_templates(tmp_path_factory: pytest.TempPathFactory) -> SchemaTemplates:
    return SchemaTemplates(tmp_path_factory.mktemp("schema"))


@pytest.fixture
def database_factory(
    schema_templates: SchemaTemplates,
) -> Callable[..., AbstractAsyncContextManager[Any]]:
    """``async with database_factory(url, **kwargs) as db``: a ``Database`` with all tables.

    Every registered model's table exists (``create_all``); the engine is disposed on
    exit. Rows do not outlive the test: SQLite files are per test and the PostgreSQL
    database is truncated by ``db_url_factory`` after each test.
    """

    @asynccontextmanager
    async def open_database(url: str, **kwargs: Any) -> AsyncIterator[Any]:
        from loom.core.repository.sqlalchemy import Database

        register_all_tables()
        await schema_templates.seed(url)
        db = Database(url, **kwargs)
        try:
            await db.create_all()
            yield db
        finally:
            await db.dispose()

    return open_database


@pytest.fixture
async def database(
    db_url: str, database_factory: Callable[..., AbstractAsyncContextManager[Any]]
) -> AsyncIterator[Any]:
    """A ``Database`` on ``db_url`` with every registered model's table created."""
    async with database_factory(db_url) as db:
        yield db


# -- Redis ----------------------------------------------------------------------------


@pytest.fixture
def redis_url() -> str:
    require_service(redis_available(), redis_problem() or "")
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"


@asynccontextmanager
async def on_the_driver(database: Any, *verbs: str) -> AsyncIterator[list[str]]:
    """The statements starting with one of ``verbs`` run on the asyncpg connection
    itself (asyncpg's query logger; SQLAlchemy's statements run as prepared
    statements, which it does not log). Always empty on SQLite."""
    seen: list[str] = []

    def log(record: Any) -> None:
        if record.query.lstrip().upper().startswith(verbs):
            seen.append(record.query)

    def checkout(dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(log)

    def checkin(dbapi_connection: Any, *_: Any) -> None:
        if dbapi_connection is not None:
            dbapi_connection.driver_connection.remove_query_logger(log)

    from sqlalchemy import event

    pool = database.engine.sync_engine.pool
    if database.dialect == "postgresql":
        event.listen(pool, "checkout", checkout)
        event.listen(pool, "checkin", checkin)
    try:
        yield seen
        await asyncio.sleep(0)  # asyncpg calls its query loggers on the next loop turn
    finally:
        if database.dialect == "postgresql":
            event.remove(pool, "checkout", checkout)
            event.remove(pool, "checkin", checkin)
