"""Per-request CPU of each app without the HTTP server: the ASGI app called directly.

    .venv/bin/python -m benchmarks.inprocess [--requests 20000] [--apps loom,handwritten]

Under load, uvicorn's own work (socket reads and writes, HTTP parsing) is the same for
every app and often half of the worker's CPU, which compresses the ratios the load
test reports. This calls each app's ASGI callable in a loop, one request at a time,
and prints the process CPU time (``time.process_time``) per request: the framework's
own cost, plus the driver's for the routes that reach PostgreSQL (get by id with and
without details, an offset page of a filtered list, a cursor page; PostgreSQL's own
CPU is not counted). Each app runs in its own process with the environment the load
test gives it; the benchmark database is seeded first because the apps connect at
start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import random
import subprocess
import sys
import time
from typing import Any

from benchmarks.run import APPS, ROOT, child_env
from benchmarks.scenarios import ARCHIVED_PAGES, PRICING_BODY
from benchmarks.seed import prepare_template, reset_bench_db
from benchmarks.settings import FULL

ROUTES = {
    "ping": ("GET", "/health/ping", b""),
    "pricing": ("POST", "/records/pricing-preview", json.dumps(PRICING_BODY).encode()),
    "get": ("GET", "/records/@ID@", b""),
    "details": ("GET", "/records/@ID@?profile=with_details", b""),
    "offset": ("GET", "/records?pagination=offset&limit=20&page=@PAGE@&status__eq=archived", b""),
    "cursor": ("GET", "/records?pagination=cursor&limit=20&after=@AFTER@", b""),
}
_NO_DB = {"ping", "pricing"}
# Routes that reach PostgreSQL run fewer requests: their wall time is mostly waiting.
DB_SHARE = 10


async def _measure(app: Any, method: str, target: str, body: bytes, requests: int) -> float:
    headers = [(b"host", b"bench"), (b"user-agent", b"inprocess")]
    if body:
        headers += [(b"content-type", b"application/json")]
        headers += [(b"content-length", str(len(body)).encode())]
    status: list[int] = []
    answer: list[bytes] = []
    rng = random.Random(7)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
        elif message["type"] == "http.response.body":
            answer.append(message.get("body", b""))

    def scope(full: str) -> dict[str, Any]:
        full = full.replace("@ID@", str(rng.randint(1, FULL.records)))
        full = full.replace("@PAGE@", str(rng.randint(1, ARCHIVED_PAGES)))
        path, _, query = full.partition("?")
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": list(headers),
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }

    if "@AFTER@" in target:  # the second page needs the first page's cursor
        await app(scope(target.replace("&after=@AFTER@", "")), receive, send)
        target = target.replace("@AFTER@", json.loads(b"".join(answer))["next_cursor"])
    for _ in range(max(1, requests // 10)):  # warm-up
        await app(scope(target), receive, send)
    status.clear()
    started = time.process_time()
    for _ in range(requests):
        await app(scope(target), receive, send)
    elapsed = time.process_time() - started
    if set(status) != {200}:
        raise SystemExit(f"{method} {target} answered {sorted(set(status))}")
    return elapsed / requests * 1e6


async def _one(factory: str, requests: int) -> dict[str, float]:
    module, _, name = factory.partition(":")
    app = getattr(importlib.import_module(module), name)()
    events: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    await events.put({"type": "lifespan.startup"})
    started = asyncio.Event()

    async def lifespan_send(message: dict[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup"):
            started.set()

    lifespan = asyncio.create_task(
        app(
            {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, events.get, lifespan_send
        )
    )
    await started.wait()
    try:
        return {
            route: await _measure(
                app, method, path, body, requests if route in _NO_DB else requests // DB_SHARE
            )
            for route, (method, path, body) in ROUTES.items()
        }
    finally:
        await events.put({"type": "lifespan.shutdown"})
        await lifespan


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.inprocess")
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--apps", default=",".join(a.name for a in APPS))
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child process: one factory
    ns = parser.parse_args()
    if ns.one:
        try:
            import uvloop

            runner: Any = uvloop.run
        except ImportError:  # pragma: no cover - uvloop comes with the rest extra
            runner = asyncio.run
        print(json.dumps(runner(_one(ns.one, ns.requests))))
        return 0
    asyncio.run(prepare_template())
    asyncio.run(reset_bench_db())
    wanted = ns.apps.split(",")
    print(f"{'app':28}" + "".join(f"{r:>10}" for r in ROUTES) + "   (CPU us per request)")
    for app in (a for a in APPS if a.name in wanted):
        command = [sys.executable, "-m", "benchmarks.inprocess", "--one", app.factory]
        out = subprocess.run(
            [*command, "--requests", str(ns.requests)],
            env=child_env(app.env),
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{app.label:28}" + "".join(f"{figures[r]:>10.1f}" for r in ROUTES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
