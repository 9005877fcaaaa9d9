"""Per-request CPU of each app without the HTTP server: the ASGI app called directly.

    .venv/bin/python -m benchmarks.inprocess [--requests 20000] [--apps loom,handwritten]

Under load, uvicorn's own work (socket reads and writes, HTTP parsing) is the same for
every app and often half of the worker's CPU, which compresses the ratios the load
test reports. This calls each app's ASGI callable in a loop, one request at a time, on
the ping and pricing routes (no database statement), and prints microseconds per
request: the framework's own cost. Each app runs in its own process with the
environment the load test gives it; the benchmark database is seeded first because the
apps connect at start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import subprocess
import sys
import time
from typing import Any

from benchmarks.run import APPS, ROOT, child_env
from benchmarks.scenarios import PRICING_BODY
from benchmarks.seed import prepare_template, reset_bench_db

ROUTES = {
    "ping": ("GET", "/health/ping", b""),
    "pricing": ("POST", "/records/pricing-preview", json.dumps(PRICING_BODY).encode()),
}


async def _measure(app: Any, method: str, path: str, body: bytes, requests: int) -> float:
    headers = [(b"host", b"bench"), (b"user-agent", b"inprocess")]
    if body:
        headers += [(b"content-type", b"application/json")]
        headers += [(b"content-length", str(len(body)).encode())]
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    def scope() -> dict[str, Any]:
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": list(headers),
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }

    for _ in range(requests // 10):  # warm-up
        await app(scope(), receive, send)
    status.clear()
    started = time.perf_counter()
    for _ in range(requests):
        await app(scope(), receive, send)
    elapsed = time.perf_counter() - started
    if set(status) != {200}:
        raise SystemExit(f"{method} {path} answered {sorted(set(status))}")
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
            route: await _measure(app, method, path, body, requests)
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
    print(f"{'app':28} {'ping':>10} {'pricing':>10}   (us per request, in-process)")
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
        print(f"{app.label:28} {figures['ping']:>10.1f} {figures['pricing']:>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
