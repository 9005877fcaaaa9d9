"""Default pool settings under sustained concurrency: connections are kept, not
opened per request (issue 15, item 1)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from scaling_app import serve, write_config

pytestmark = pytest.mark.postgres

WAVES = 4
"""Waves of requests at 50 clients (200 clients make two)."""


async def _sessions(dsn: str, name: str) -> int:
    """PostgreSQL's count of sessions ever opened on database ``name``."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        return int(
            await conn.fetchval("SELECT sessions FROM pg_stat_database WHERE datname = $1", name)
        )
    finally:
        await conn.close()


async def _load(client: Any, clients: int, ids: list[int]) -> None:
    """Waves of ``clients`` concurrent callers, each reading and writing: within a
    wave every connection is busy, between waves they all come back (where a pool
    that closes its extra connections at check-in opens them again next wave)."""

    async def caller(n: int, i: int) -> None:
        key = ids[(n + i) % len(ids)]
        got = await client.get(f"/items/{key}")
        assert got.status_code == 200, got.text
        restocked = await client.post(f"/items/{key}/restock")
        assert restocked.status_code == 200, restocked.text
        patched = await client.patch(f"/items/{key}", json={"qty": i})
        assert patched.status_code == 200, patched.text
        page = await client.get("/items?limit=5")
        assert page.status_code == 200, page.text

    for wave in range(WAVES if clients <= 50 else 2):
        await asyncio.gather(*(caller(n, wave) for n in range(clients)))


def _admin_dsn(url: str) -> tuple[str, str]:
    plain = url.replace("postgresql+asyncpg://", "postgresql://")
    base, name = plain.rsplit("/", 1)
    return f"{base}/postgres", name


@pytest.mark.parametrize(
    "settings,clients,maximum",
    [
        ("", 50, 15),  # no pool settings: SQLAlchemy's 5 + 10
        ("", 200, 15),
        ("  pool_size: 5\n  max_overflow: 10", 50, 15),  # the same, written out
    ],
    ids=["defaults-50", "defaults-200", "sqlalchemy-defaults-written-50"],
)
async def test_new_sessions_stay_within_the_pool_maximum(
    fresh_pg_url: str, tmp_path: Path, settings: str, clients: int, maximum: int
) -> None:
    # A database of its own: the count must not see other tests' sessions end.
    url = fresh_pg_url
    admin, name = _admin_dsn(url)
    config = write_config(tmp_path, url, settings + "\nlogger:\n  level: WARNING\n")
    async with serve(config) as (client, _app):
        ids = []
        for n in range(10):
            created = await client.post("/items", json={"name": f"item {n}", "qty": n})
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
        others = await _backends(admin, name)
        before = await _sessions(admin, name)
        await _load(client, clients, ids)
        # Nothing left open beyond the maximum either (closing a connection outside
        # SQLAlchemy's greenlet fails and leaves it open, unseen by the count below).
        assert len(await _backends(admin, name) - others) <= maximum
    # Disposed at shutdown: every backend has exited and reported its session.
    await asyncio.sleep(0.3)
    opened = await _sessions(admin, name) - before
    assert opened <= maximum, f"{opened} sessions opened for a pool of at most {maximum}"


async def _backends(dsn: str, name: str) -> set[int]:
    """The sessions open on database ``name`` now (PgBouncer's, from other tests of the
    session, among them: compare sets taken before and after)."""
    conn = await asyncpg.connect(dsn)
    try:
        query = "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'loom'"
        return {int(row[0]) for row in await conn.fetch(query, name)}
    finally:
        await conn.close()


async def test_connections_beyond_pool_size_close_once_idle(
    db_url_factory: Callable[[str], str], database_factory: Any
) -> None:
    from sqlalchemy import text

    url = db_url_factory("postgres")
    admin, name = _admin_dsn(url)
    async with database_factory(url, pool_size=2, max_overflow=4, pool_idle_timeout=0.3) as db:
        await db.engine.dispose()  # none of ours open: the rest is other tests'
        pool = db.engine.pool
        others = await _backends(admin, name)

        async def hold() -> None:
            async with db.connection() as conn:
                await conn.execute(text("SELECT pg_sleep(0.05)"))

        await asyncio.gather(*(hold() for _ in range(12)))
        assert pool.checkedin() == 6  # all kept while in use, never more than 2 + 4
        assert len(await _backends(admin, name) - others) == 6
        await asyncio.sleep(1.0)
        assert pool.checkedin() == 2  # down to pool_size once idle
        assert len(await _backends(admin, name) - others) == 2
        await asyncio.gather(*(hold() for _ in range(3)))  # the pool still serves
        assert pool.checkedout() == 0


async def test_a_cancelled_or_timed_out_wait_loses_no_connection(
    db_url_factory: Callable[[str], str], database_factory: Any
) -> None:
    from sqlalchemy import exc, text

    url = db_url_factory("postgres")
    async with database_factory(url, pool_size=1, max_overflow=0, pool_timeout=0.3) as db:
        pool = db.engine.pool
        held = await db.raw_connect()  # the only connection
        waiter = asyncio.create_task(db.raw_connect())
        await asyncio.sleep(0.05)
        waiter.cancel()  # a client gone while its request waited for a connection
        with pytest.raises(asyncio.CancelledError):
            await waiter
        with pytest.raises(exc.TimeoutError, match=r"pool_size 1 \+ max_overflow 0"):
            await db.raw_connect()
        held.close()
        async with db.connection() as conn:  # served at once: nothing was lost
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
        assert (pool.checkedout(), pool.checkedin()) == (0, 1)
