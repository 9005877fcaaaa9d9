"""``loom run --workers N``: metrics totalled across workers, graceful SIGTERM
(issue 15, item 4)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pgbouncer_support import free_port
from scaling_app import write_config

HERE = Path(__file__).parent
QUIET = "logger:\n  level: WARNING\n"


def _start(config: Path, port: int, workers: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [sys.executable, "-m", "loom.cli", "run", str(config), "--port", str(port)]
    command += ["--workers", str(workers), "--graceful-timeout", "10"]
    return subprocess.Popen(
        command,
        env=env,
        cwd=config.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_ready(base: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"server exited: {process.stdout.read() if process.stdout else ''}"
            )
        try:
            if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("server not ready within 60 s")


def _count(text: str, route: str) -> float:
    labels = rf'method="GET",route="{re.escape(route)}",status="200"'
    pattern = rf"^loom_http_requests_total\{{{labels}\}} (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


@pytest.mark.postgres
def test_workers_share_metrics_and_stop_gracefully(
    db_url_factory: Callable[[str], str], tmp_path: Path
) -> None:
    config = write_config(tmp_path, db_url_factory("postgres"), QUIET)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = _start(config, port, workers=2)
    try:
        _wait_ready(base, process)
        created = httpx.post(f"{base}/items", json={"name": "one", "qty": 1}, timeout=10)
        assert created.status_code == 201, created.text
        key = created.json()["id"]
        for _ in range(30):  # a connection each: the workers share them out
            assert httpx.get(f"{base}/items", timeout=10).status_code == 200
        scrapes = [httpx.get(f"{base}/metrics", timeout=10).text for _ in range(6)]
        assert {_count(text, "/items/") for text in scrapes} == {30.0}

        slow: dict[str, int] = {}

        def in_flight() -> None:
            slow["status"] = httpx.get(f"{base}/items/{key}/slow", timeout=30).status_code

        thread = threading.Thread(target=in_flight)
        thread.start()
        time.sleep(0.7)  # the slow request is being served
        process.send_signal(signal.SIGTERM)
        thread.join(timeout=30)
        assert slow.get("status") == 200  # finished, not cut off
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output
        made = re.search(r"metrics totals in (\S+)", output)
        assert made is not None, output
        assert not Path(made.group(1)).exists()  # the metrics directory is wiped
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_memory_cache_with_several_workers_is_refused(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'w.db'}", "cache:\n  enabled: true\n"
    )
    process = _start(config, free_port(), workers=2)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "the memory cache is per process" in output and "cache.backend: redis" in output


@asynccontextmanager
async def _served_like_uvicorn(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The ASGI lifespan protocol through the whole app, as a server runs it (in the
    main thread, after the server put its signal handlers in place)."""
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://loom") as client:
            yield client
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


async def test_readiness_answers_503_once_told_to_stop(tmp_path: Path) -> None:
    from loom.rest.fastapi.auto import create_app

    told: list[int] = []
    server = signal.signal(signal.SIGTERM, lambda signum, frame: told.append(signum))
    try:
        config = write_config(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", QUIET)
        async with _served_like_uvicorn(create_app(config)) as client:
            assert (await client.get("/health/ready")).status_code == 200
            os.kill(os.getpid(), signal.SIGTERM)
            ready = await client.get("/health/ready")
            assert ready.status_code == 503
            assert ready.json()["detail"] == "Not ready: shutting down"
            assert (await client.get("/items")).status_code == 200  # still serving
        assert told == [signal.SIGTERM]  # the server's own handler still ran
    finally:
        signal.signal(signal.SIGTERM, server)
