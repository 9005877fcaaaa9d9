"""The memory cache is refused when another process uses the same database: it would
serve reads older than that process's commits (issue 15, item 4)."""

from __future__ import annotations

import fcntl
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest
from scaling_app import serve, write_config

from loom.core.config.loader import ConfigError

MEMORY = "cache:\n  enabled: true\n  backend: memory\nlogger:\n  level: WARNING\n"


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.mark.postgres
async def test_a_second_process_on_postgresql_is_refused_with_the_fix(
    db_url_factory: Callable[[str], str], tmp_path: Path
) -> None:
    url = db_url_factory("postgres")
    config = write_config(tmp_path, url, MEMORY)
    async with serve(config) as (client, _app):
        assert (await client.get("/items")).status_code == 200
        async with serve(config) as (again, _):  # a second app in this process shares it
            assert (await again.get("/items")).status_code == 200
    # Another process holding the database (here: its lock, on a session of its own).
    other = await asyncpg.connect(_plain(url))
    try:
        assert await other.fetchval("SELECT pg_try_advisory_lock(hashtext('loom:memory-cache'))")
        with pytest.raises(ConfigError, match=r"cache\.backend.*cache\.backend: redis"):
            async with serve(config):
                pass
    finally:
        await other.close()
    async with serve(config) as (client, _app):  # that process is gone: fine again
        assert (await client.get("/items")).status_code == 200


async def test_a_second_process_on_sqlite_is_refused(tmp_path: Path) -> None:
    database = tmp_path / "shared.db"
    config = write_config(tmp_path, f"sqlite+aiosqlite:///{database}", MEMORY)
    with open(f"{database}.loom-memory-cache.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ConfigError, match="memory cache is per process"):
            async with serve(config):
                pass
    async with serve(config) as (client, _app):
        assert (await client.get("/items")).status_code == 200


@pytest.mark.postgres
async def test_behind_pgbouncer_the_memory_cache_is_refused(
    pgbouncer_url: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path, pgbouncer_url, MEMORY)
    with pytest.raises(ConfigError, match="PgBouncer"):
        async with serve(config):
            pass
