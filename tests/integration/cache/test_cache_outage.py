"""A cache that fails never fails a request: reads and writes fall back to the database."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiocache import SimpleMemoryCache
from cache_support import Repos, open_cache, redis_backend, selects

from loom.core.cache import RepositoryCache
from loom.core.cache.serializer import MsgspecSerializer
from loom.core.repository.abc.query import QuerySpec

pytestmark = pytest.mark.redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A throwaway ``redis-server`` of this test (never the shared one)."""

    def __init__(self, port: int, directory: Path) -> None:
        self.port = port
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if self.process.poll() is not None:
                break
            subprocess.run(["sleep", "0.05"], check=False)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def sqlite_db(db_url_factory: Any, database_factory: Any) -> AsyncIterator[Any]:
    async with database_factory(db_url_factory("sqlite")) as db:
        yield db


async def test_an_unreachable_redis_answers_from_the_database(database: Any) -> None:
    async with open_cache(redis_backend(f"redis://127.0.0.1:{free_port()}/0")) as cache:
        repos = Repos(database, cache)
        author = await repos.authors.create({"name": "a"})
        assert await repos.authors.get_by_id(author.id) == author
        await repos.authors.update(author.id, {"name": "b"})
        assert (await repos.authors.get_by_id(author.id)).name == "b"
        page = await repos.authors.list_with_query(QuerySpec(), profile="with_books")
        assert page.items[0].books_count == 0
        assert cache.stats.errors >= 1 and cache.stats.hits == 0


async def test_redis_stopped_mid_test_then_restarted(
    sqlite_db: Any, redis_server: RedisServer
) -> None:
    async with open_cache(redis_backend(redis_server.url), retry_after=0.0) as cache:
        repos = Repos(sqlite_db, cache)
        author = await repos.authors.create({"name": "before"})
        await repos.authors.get_by_id(author.id)
        with selects(sqlite_db) as counter:
            await repos.authors.get_by_id(author.id)
        assert counter.count == 0  # served by Redis

        redis_server.stop()
        assert (await repos.authors.get_by_id(author.id)).name == "before"
        await repos.authors.update(author.id, {"name": "during"})  # its bump fails
        assert (await repos.authors.get_by_id(author.id)).name == "during"
        assert (await repos.authors.list_with_query(QuerySpec())).items[0].name == "during"
        assert cache.stats.errors >= 1

        redis_server.start()
        assert (await repos.authors.get_by_id(author.id)).name == "during"
        with selects(sqlite_db) as counter:
            assert (await repos.authors.get_by_id(author.id)).name == "during"
        assert counter.count == 0  # caching again


class FlakyMemory(SimpleMemoryCache):  # type: ignore[misc]
    """A memory backend whose bumps can be made to fail while reads keep working."""

    fail_increments = False

    async def _increment(self, key: str, delta: int, _conn: Any = None) -> Any:
        if self.fail_increments:
            raise ConnectionError("simulated cache outage")
        return await super()._increment(key, delta, _conn=_conn)


async def test_a_lost_bump_is_resent_before_the_cache_is_trusted_again(
    sqlite_db: Any,
) -> None:
    backend = FlakyMemory(serializer=MsgspecSerializer())
    cache = RepositoryCache(backend, namespace="flaky", retry_after=0.0)
    repos = Repos(sqlite_db, cache)
    author = await repos.authors.create({"name": "cached"})
    await repos.authors.get_by_id(author.id)
    backend.fail_increments = True
    await repos.authors.update(author.id, {"name": "fresh"})  # succeeds; the bump is lost
    # the cached entry is still under the current tokens, but is not served
    assert (await repos.authors.get_by_id(author.id)).name == "fresh"
    backend.fail_increments = False
    assert (await repos.authors.get_by_id(author.id)).name == "fresh"
    with selects(sqlite_db) as counter:
        assert (await repos.authors.get_by_id(author.id)).name == "fresh"
    assert counter.count == 0
    await asyncio.sleep(0)
    await cache.close()
