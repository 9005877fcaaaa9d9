"""Steady-rate load test of the store example over loopback (``make soak``).

Starts the store API with uvicorn on 127.0.0.1 (a fresh SQLite file unless
``--database-url`` is given), then sends a fixed mix of reads and writes at a steady
open-loop rate (requests are scheduled at fixed times, not when the previous one
answered) for ``--duration`` seconds, and reports the figures. Fails (exit 1) on any
error response, a transport error, or an achieved rate below 95% of the target.

    python scripts/soak.py --rate 100 --duration 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
STORE = ROOT / "examples" / "store"

SERVER = """
import sys, uvicorn
from loom.rest.fastapi.auto import create_app
app = create_app("config/api.yaml", sys.argv[1])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(database_url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    override = workdir / "soak.yaml"
    override.write_text(
        json.dumps(
            {
                "database": {"url": database_url},
                "logger": {"level": "WARNING", "access_log": False},
                "metrics": {"enabled": False},
            }
        )
    )
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(override), str(port)], cwd=STORE, env=os.environ.copy()
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the API exited with {proc.returncode} while starting")
        try:
            if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the API did not become ready within 30s")


async def _seed(client: httpx.AsyncClient, tag: str) -> list[int]:
    ids = []
    for i in range(20):
        body = {
            "sku": f"SOAK-{tag}-{i}",
            "name": f"P{i}",
            "category": "c",
            "priceCents": 100 + i,
            "stock": i,
        }
        resp = await client.post("/products", json=body)
        resp.raise_for_status()
        ids.append(resp.json()["id"])
    return ids


async def _drive(base: str, rate: float, duration: float, concurrency: int) -> dict[str, Any]:
    tag = str(int(time.time()))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=10, limits=limits) as client:
        products = await _seed(client, tag)
        statuses: Counter[str] = Counter()
        latencies: list[float] = []
        failures: list[str] = []
        gate = asyncio.Semaphore(concurrency)
        total = int(rate * duration)

        async def one(i: int) -> None:
            kind = i % 10
            pid = products[i % len(products)]
            async with gate:
                started = time.perf_counter()
                try:
                    if kind < 5:
                        resp = await client.get(f"/products/{pid}")
                    elif kind < 7:
                        resp = await client.get("/users", params={"limit": "10"})
                    elif kind < 9:
                        resp = await client.post(
                            "/users", json={"fullName": "Soak", "email": f"s-{tag}-{i}@ex.com"}
                        )
                    else:
                        resp = await client.patch(f"/products/{pid}", json={"stock": i})
                except httpx.HTTPError as exc:
                    statuses["transport-error"] += 1
                    failures.append(f"{type(exc).__name__}: {exc}")
                    return
                latencies.append(time.perf_counter() - started)
                statuses[str(resp.status_code)] += 1
                if resp.status_code >= 300:
                    failures.append(f"{resp.status_code} {resp.text[:200]}")

        t0 = time.perf_counter()
        tasks = []
        for i in range(total):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - t0
    latencies.sort()

    def pct(p: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0
        )

    return {
        "target_rate": rate,
        "requests": total,
        "elapsed_s": round(elapsed, 2),
        "achieved_rate": round(total / elapsed, 1),
        "statuses": dict(statuses),
        "errors": len(failures),
        "latency_ms": {
            "p50": round(pct(0.50), 2),
            "p95": round(pct(0.95), 2),
            "p99": round(pct(0.99), 2),
            "max": round(latencies[-1] * 1000, 2) if latencies else 0,
            "mean": round(statistics.fmean(latencies) * 1000, 2) if latencies else 0,
        },
        "first_failures": failures[:5],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight, at most")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="loom-soak-") as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/soak.db"
        proc, base = _start_server(url, Path(tmp))
        try:
            report = asyncio.run(_drive(base, args.rate, args.duration, args.concurrency))
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    print(json.dumps(report, indent=2))
    ok = report["errors"] == 0 and report["achieved_rate"] >= 0.95 * args.rate
    print("soak: OK" if ok else "soak: FAILED", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
