"""How PostgreSQL's plan choice moves the list and single-row statements, on the
benchmark database and without any app: the measurements behind Loom's choices for
lists (benchmarks/README.md, items 15 and 16).

    .venv/bin/python -m benchmarks.plans [--seconds 5]

Ten asyncpg connections (the apps' pool size) run each variant in turn; it prints
statements per second and the CPU each costs this client and PostgreSQL (all its
processes, from ``/proc``). The variants:

- the offset page of ``status = 'archived'`` (5,000 rows) at a random page, with its
  count: as a cached prepared statement (PostgreSQL switches it to a generic plan
  after five runs), as an unnamed statement planned for its values (Loom), and with
  the count folded into the page as a scalar subquery (Loom before);
- get by id and a two-column update with ``plan_cache_mode`` ``auto`` (cached generic
  plans) and ``force_custom_plan`` (every statement planned for its values, the
  setting Loom does not use for that reason).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from benchmarks.cpu import cpu_per_request
from benchmarks.scenarios import ARCHIVED_PAGES, LIST_LIMIT
from benchmarks.seed import prepare_template, reset_bench_db
from benchmarks.settings import FULL, POOL_SIZE, asyncpg_dsn, database_url

COLUMNS = "id, owner_id, title, status, amount_cents, quantity, created_at, updated_at"
PAGE = f"SELECT {COLUMNS} FROM records WHERE status = $1 ORDER BY id LIMIT $2 OFFSET $3"
COUNT = "SELECT count(*) FROM records WHERE status = $1"
FOLDED = (
    f"SELECT {COLUMNS}, (SELECT count(*) FROM records WHERE status = $1) FROM records"
    " WHERE status = $1 ORDER BY id LIMIT $2 OFFSET $3"
)
GET = f"SELECT {COLUMNS} FROM records WHERE id = $1"
UPDATE = "UPDATE records SET title = $1, amount_cents = $2 WHERE id = $3 RETURNING id"

Step = Callable[[asyncpg.Connection], Awaitable[Any]]


def _offset() -> int:
    return random.randint(0, ARCHIVED_PAGES - 1) * LIST_LIMIT


async def _unnamed(conn: asyncpg.Connection, sql: str, *args: Any) -> Any:
    return await (await conn.prepare(sql, name="")).fetch(*args)


async def page_cached(conn: asyncpg.Connection) -> None:
    await conn.fetch(PAGE, "archived", LIST_LIMIT, _offset())
    await conn.fetchval(COUNT, "archived")


async def page_planned(conn: asyncpg.Connection) -> None:
    await _unnamed(conn, PAGE, "archived", LIST_LIMIT, _offset())
    await conn.fetchval(COUNT, "archived")


async def page_planned_folded(conn: asyncpg.Connection) -> None:
    await _unnamed(conn, FOLDED, "archived", LIST_LIMIT, _offset())


async def get(conn: asyncpg.Connection) -> None:
    await conn.fetchrow(GET, random.randint(1, FULL.records))


async def update(conn: asyncpg.Connection) -> None:
    await conn.fetchrow(UPDATE, "planned", 42, random.randint(1, FULL.records))


VARIANTS: list[tuple[str, Step, str]] = [
    ("offset page + count, cached statements", page_cached, "auto"),
    ("offset page planned for its values + cached count (Loom)", page_planned, "auto"),
    ("offset page planned, count folded in (Loom before)", page_planned_folded, "auto"),
    ("get by id, plan_cache_mode=auto", get, "auto"),
    ("get by id, plan_cache_mode=force_custom_plan", get, "force_custom_plan"),
    ("update, plan_cache_mode=auto", update, "auto"),
    ("update, plan_cache_mode=force_custom_plan", update, "force_custom_plan"),
]


async def _measure(step: Step, mode: str, seconds: float) -> dict[str, Any]:
    pool = await asyncpg.create_pool(
        asyncpg_dsn(database_url()),
        min_size=POOL_SIZE,
        max_size=POOL_SIZE,
        server_settings={"plan_cache_mode": mode},
    )
    done = [0]

    async def worker(deadline: float) -> None:
        async with pool.acquire() as conn:
            while time.perf_counter() < deadline:
                await step(conn)
                done[0] += 1

    try:
        await asyncio.gather(*(worker(time.perf_counter() + 1) for _ in range(POOL_SIZE)))
        done[0] = 0
        result: dict[str, Any] = {}
        started = time.perf_counter()
        with cpu_per_request(os.getpid(), result):
            deadline = started + seconds
            await asyncio.gather(*(worker(deadline) for _ in range(POOL_SIZE)))
            result["requests"] = done[0]
        result["rate"] = done[0] / (time.perf_counter() - started)
        return result
    finally:
        await pool.close()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.plans")
    parser.add_argument("--seconds", type=float, default=5.0)
    ns = parser.parse_args()
    asyncio.run(prepare_template())
    asyncio.run(reset_bench_db())
    print(f"{'variant':60} {'per s':>8} {'client us':>10} {'postgres us':>12}")
    for title, step, mode in VARIANTS:
        got = asyncio.run(_measure(step, mode, ns.seconds))
        print(
            f"{title:60} {got['rate']:>8,.0f} {got.get('app_cpu_us', 0):>10,.0f}"
            f" {got.get('db_cpu_us', 0):>12,.0f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
