"""Faults: the API's own PostgreSQL stopped, restarted and frozen while it is under load.

Requests during an outage fail fast with a 503 problem+json (within the configured
timeouts), readiness says 503, and the API recovers by itself when the database is
back: no restart, no 500, nothing acknowledged lost.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_service
from tests.reliability._pgcluster import PgCluster, unavailable_reason
from tests.reliability.conftest import (
    STORE_CONFIG,
    StoreClient,
    assert_problem,
    open_client,
    store_settings,
    write_override,
)

CONNECT_TIMEOUT = 2.0
POOL_TIMEOUT = 2.0
STATEMENT_TIMEOUT_MS = 2000
# Nothing may take longer than the configured timeouts plus scheduling slack.
FAIL_FAST_BOUND = CONNECT_TIMEOUT + POOL_TIMEOUT + STATEMENT_TIMEOUT_MS / 1000 + 3.0


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[PgCluster]:
    reason = unavailable_reason()
    require_service(reason is None, reason or "")
    cluster = PgCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
async def api(pg_cluster: PgCluster, tmp_path: Path) -> AsyncIterator[StoreClient]:
    from loom.rest.fastapi.auto import create_app

    settings = store_settings(
        pg_cluster.url,
        {
            "database": {
                "connect_timeout": CONNECT_TIMEOUT,
                "pool_timeout": POOL_TIMEOUT,
                "statement_timeout_ms": STATEMENT_TIMEOUT_MS,
                "pool_size": 5,
                "max_overflow": 5,
            }
        },
    )
    app = create_app(STORE_CONFIG, write_override(tmp_path, settings))
    async for client in open_client(app):
        yield client


@dataclass
class Load:
    """A few clients hammering reads and writes, recording every answer."""

    client: StoreClient
    product_id: int
    results: list[tuple[float, str, int, float, str]] = field(default_factory=list)
    created: set[str] = field(default_factory=set)
    attempted: set[str] = field(default_factory=set)
    running: bool = True
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    problems: list[str] = field(default_factory=list)

    async def worker(self, n: int) -> None:
        i = 0
        while self.running:
            i += 1
            kind = ("read", "list", "write")[i % 3]
            started = time.monotonic()
            if kind == "read":
                resp = await self.client.get(f"/products/{self.product_id}")
            elif kind == "list":
                resp = await self.client.get("/users", params={"limit": "5"})
            else:
                email = f"load-{self.tag}-{n}-{i}@example.com"
                self.attempted.add(email)
                resp = await self.client.post("/users", json={"fullName": "L", "email": email})
                if resp.status_code == 201:
                    self.created.add(email)
            elapsed = time.monotonic() - started
            self.results.append((started, kind, resp.status_code, elapsed, resp.text))
            if resp.status_code not in (200, 201):
                try:
                    assert_problem(resp, 503, "service_unavailable")
                except AssertionError as exc:
                    self.problems.append(str(exc))
            await asyncio.sleep(0.005)

    def since(self, t: float) -> list[tuple[float, str, int, float, str]]:
        return [r for r in self.results if r[0] >= t]


async def _wait_until_ok(client: StoreClient, product_id: int, limit: float = 30.0) -> float:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if (await client.get(f"/products/{product_id}")).status_code == 200:
            return time.monotonic()
        await asyncio.sleep(0.1)
    raise AssertionError(f"the API did not recover within {limit}s of the database")


async def _stored_emails(client: StoreClient, tag: str) -> set[str]:
    listing = await client.get("/users", params={"email__like": f"load-{tag}-%", "limit": "1000"})
    assert listing.status_code == 200, listing.text
    return {u["email"] for u in listing.json()["items"]}


async def _run(cmd: Any, *args: Any) -> None:
    await asyncio.get_running_loop().run_in_executor(None, cmd, *args)


async def _assert_steady(load: Load, seconds: float) -> None:
    t = time.monotonic()
    await asyncio.sleep(seconds)
    window = load.since(t)
    assert window, "no traffic"
    bad = [(kind, status, text[:200]) for _, kind, status, _, text in window if status >= 300]
    assert not bad, bad[:5]


async def test_restart_under_load_fails_fast_and_recovers(
    api: StoreClient, pg_cluster: PgCluster
) -> None:
    product = await api.product("FAULT-1", stock=3)
    load = Load(api, product["id"])
    workers = [asyncio.create_task(load.worker(n)) for n in range(6)]
    try:
        await _assert_steady(load, 1.0)

        outage_started = time.monotonic()
        await _run(pg_cluster.stop, "fast")
        await asyncio.sleep(2.0)
        ready = await api.get("/health/ready")
        assert ready.status_code == 503, ready.text
        assert ready.headers["content-type"].startswith("application/problem+json")
        during = load.since(outage_started + 0.5)
        assert during and all(r[2] == 503 for r in during), [r[:4] for r in during][:10]

        await _run(pg_cluster.start)
        recovered = await _wait_until_ok(api, product["id"])
        assert (await api.get("/health/ready")).status_code == 200
        await asyncio.sleep(0.5)  # connections broken by the restart are replaced
        await _assert_steady(load, 1.5)
    finally:
        load.running = False
        await asyncio.gather(*workers)

    assert not load.problems, load.problems[:3]
    assert all(r[2] != 500 for r in load.results)
    slowest = max(r[3] for r in load.results)
    assert slowest <= FAIL_FAST_BOUND, f"a request took {slowest:.1f}s"
    assert recovered - outage_started < 40
    # Nothing acknowledged is lost; nothing unasked-for appears.
    stored = await _stored_emails(api, load.tag)
    assert load.created <= stored
    assert stored <= load.attempted


async def test_a_frozen_database_fails_fast_and_recovers(
    api: StoreClient, pg_cluster: PgCluster
) -> None:
    """A database that accepts connections but never answers (SIGSTOP) must not hang
    requests past the configured connect/statement timeouts."""
    product = await api.product("FROZEN-1", stock=3)
    load = Load(api, product["id"])
    workers = [asyncio.create_task(load.worker(n)) for n in range(4)]
    try:
        await _assert_steady(load, 0.5)
        frozen_at = time.monotonic()
        pids = await asyncio.get_running_loop().run_in_executor(None, pg_cluster.freeze)
        await asyncio.sleep(FAIL_FAST_BOUND + 1.0)
        ready = await asyncio.wait_for(api.get("/health/ready"), timeout=FAIL_FAST_BOUND)
        assert ready.status_code == 503, ready.text
        answered = load.since(frozen_at + 0.5)  # requests already in flight may finish
        assert answered, "every request hung while the database was frozen"
        assert all(r[2] == 503 for r in answered), [r[:4] for r in answered][:10]
        pg_cluster.thaw(pids)
        await _wait_until_ok(api, product["id"])
        await asyncio.sleep(0.5)
        await _assert_steady(load, 1.0)
    finally:
        pg_cluster.thaw()
        load.running = False
        await asyncio.gather(*workers)

    assert not load.problems, load.problems[:3]
    slowest = max(r[3] for r in load.results)
    assert slowest <= FAIL_FAST_BOUND, f"a request took {slowest:.1f}s"
    assert load.created <= await _stored_emails(api, load.tag)
