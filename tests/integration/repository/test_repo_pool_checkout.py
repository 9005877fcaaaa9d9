"""Checkouts that need no greenlet (an idle connection, or one waited for in line)
skip SQLAlchemy's, and only those: a connection the server dropped, a pool
invalidation, recycling or a pre-ping still take the path that reconnects, so the
application sees the same answers as before."""

from __future__ import annotations

import asyncio
from typing import Any

import greenlet
import pytest
import sqlalchemy as sa
from tests.conftest import _pg_admin

from loom.core.repository.sqlalchemy import Database
from loom.core.repository.sqlalchemy._database import KeepAlivePool

pytestmark = pytest.mark.postgres


def _drop_connections(url: str) -> None:
    """The server ends every session of the database (a restart, a failover)."""
    name = url.rsplit("/", 1)[1]
    _pg_admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    )


async def _backend_pid(database: Database) -> int:
    async with database.runner() as run:
        pid = await run.fetchval(sa.select(sa.func.pg_backend_pid()))
    return int(pid)


async def _fails_once_then_serves(database: Database) -> None:
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver says of a dead socket
        await _backend_pid(database)
    await _backend_pid(database)


async def test_the_idle_connection_is_handed_over_without_an_await(fresh_pg_url: str) -> None:
    database = Database(fresh_pg_url, pool_size=1, max_overflow=0)
    try:
        pool = database.engine.pool
        assert isinstance(pool, KeepAlivePool)
        assert await pool.checkout() is None  # nothing idle yet: the usual path opens one
        first = await _backend_pid(database)
        fairy = await pool.checkout()
        assert fairy is not None  # outside any greenlet
        fairy.close()
        assert await _backend_pid(database) == first  # the same session, kept
    finally:
        await database.dispose()


async def test_a_connection_dropped_by_the_server_is_replaced(fresh_pg_url: str) -> None:
    database = Database(fresh_pg_url, pool_size=1, max_overflow=0)
    try:
        first = await _backend_pid(database)
        _drop_connections(fresh_pg_url)
        await _fails_once_then_serves(database)  # as without the awaitless checkout
        assert await _backend_pid(database) != first
    finally:
        await database.dispose()


@pytest.mark.parametrize("setting", ["pre_ping", "invalidated", "recycle"])
async def test_what_may_reconnect_takes_the_usual_path(fresh_pg_url: str, setting: str) -> None:
    options: dict[str, Any] = {"pool_size": 1, "max_overflow": 0}
    if setting == "pre_ping":
        options["pool_pre_ping"] = True
    database = Database(fresh_pg_url, **options)
    try:
        pool = database.engine.pool
        assert isinstance(pool, KeepAlivePool)
        first = await _backend_pid(database)
        if setting == "pre_ping":
            _drop_connections(fresh_pg_url)  # the ping finds out and reconnects
        elif setting == "invalidated":
            pool._invalidate(None)  # what SQLAlchemy does after a disconnect error
        else:
            pool._recycle = 0  # pool_recycle: every connection is too old
        assert await pool.checkout() is None
        assert await _backend_pid(database) != first
    finally:
        await database.dispose()


@pytest.mark.parametrize("reconnect", [False, True], ids=["as_is", "invalidated_meanwhile"])
async def test_a_checkout_waits_in_line_for_the_connection_in_use(
    fresh_pg_url: str, reconnect: bool
) -> None:
    database = Database(fresh_pg_url, pool_size=1, max_overflow=0, pool_timeout=5)
    try:
        pool = database.engine.pool
        assert isinstance(pool, KeepAlivePool)
        holder = await pool.checkout() or await database.raw_connect()
        first = holder.driver_connection.get_server_pid()
        switches: list[str] = []
        greenlet.settrace(lambda event, args: switches.append(event))
        try:
            waiting = asyncio.create_task(database.raw_connect())
            await asyncio.sleep(0.05)
            assert not waiting.done() and len(pool._waiters) == 1  # in line
            if reconnect:
                pool._invalidate(None)
            holder.close()
            served = await asyncio.wait_for(waiting, 5)
        finally:
            greenlet.settrace(None)
        pid = served.driver_connection.get_server_pid()
        served.close()
        # Served as it is, the whole wait ran outside SQLAlchemy's greenlet; a connection
        # that must reconnect is opened again in one.
        assert bool(switches) is reconnect
        assert (pid != first) if reconnect else (pid == first)
        assert await _backend_pid(database) == pid  # one connection, still pooled
    finally:
        await database.dispose()
