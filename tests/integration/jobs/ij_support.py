"""Helpers for the Celery integration tests: worker processes and the API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
STORE = ROOT / "examples" / "store"
CELERY = Path(sys.executable).with_name("celery")
BROKER_DB = 13  # the shared Redis: a DB of our own, not the cache tests' 15

OVERRIDES = """
app:
  discovery:
    mode: manifest
    manifest:
      module: ij_manifest
celery:
  result_backend: null
  relay_interval: 0.2
  relay_grace: 0.5
  broker_transport_options:
    visibility_timeout: 3
    unacked_restore_interval: 1
    unacked_restore_throttle: 1
jobs:
  retry_backoff: 0.1
  SendRestockEmailJob:
    retries: 2
logger:
  level: WARNING
"""


class Env:
    """Where the API (in this process) and the workers (subprocesses) connect."""

    def __init__(self, db_url: str, broker_url: str, overrides: Path) -> None:
        self.db_url = db_url
        self.broker_url = broker_url
        self.overrides = overrides


class Worker:
    """One ``celery worker --pool=solo`` subprocess of the store app."""

    def __init__(
        self, env: Env, broker_url: str, log: Path, app: str = "store_worker:celery_app"
    ) -> None:
        self.log = log
        configs = os.pathsep.join([str(STORE / "config" / "worker.yaml"), str(env.overrides)])
        child_env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT / "src")]),
            "LOOM_TEST_WORKER_CONFIGS": configs,
            "DATABASE_URL": env.db_url,
            "CELERY_BROKER_URL": broker_url,
            "CREATE_TABLES": "false",
        }
        self.process = subprocess.Popen(
            [
                str(CELERY),
                "-A",
                app,
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"ij-{uuid.uuid4().hex[:8]}@%h",
            ],
            cwd=STORE,
            env=child_env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.output():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"celery worker did not start:\n{self.output()[-4000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no ack; the message in flight stays unacknowledged."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@asynccontextmanager
async def store_api(
    env: Env, monkeypatch: pytest.MonkeyPatch, broker_url: str | None = None
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """The store API in this process (lifespan run: tables, outbox relay), on ``env``."""
    from loom.rest.fastapi.auto import create_app

    monkeypatch.setenv("DATABASE_URL", env.db_url)
    monkeypatch.setenv("CELERY_BROKER_URL", broker_url or env.broker_url)
    app = create_app(str(STORE / "config" / "api.yaml"), str(env.overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://store") as client:
            yield client, app.state.loom
