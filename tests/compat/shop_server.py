"""Run the legacy shop (a 0.2-era application, unchanged) the way its users do.

``running_shop`` starts ``uvicorn app.main:app`` from the app's folder in a subprocess on
a free port with ``DATABASE_URL`` (and optionally ``CELERY_BROKER_URL``) set; ``Worker``
starts its Celery worker (``celery -A app.worker_main:celery_app worker``). Nothing here
reaches into Loom: the app only sees its environment, like in production.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from tests.uvicorn_server import log_tail, serve_uvicorn

SHOP = Path(__file__).resolve().parent / "legacy_shop"
ROOT = SHOP.parents[2]
CELERY = Path(sys.executable).with_name("celery")


def shop_env(database_url: str, broker_url: str | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LOOM_SECRET_KEY": secrets.token_hex(16),
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join([str(SHOP / "src"), str(ROOT / "src")]),
    }
    env.pop("CELERY_BROKER_URL", None)
    if broker_url:
        env["CELERY_BROKER_URL"] = broker_url
    return env


@contextlib.contextmanager
def running_shop(
    database_url: str, workdir: Path, *, broker_url: str | None = None
) -> Iterator[str]:
    """Serve the shop on ``database_url``; yield ``http://127.0.0.1:<port>``."""
    with serve_uvicorn(
        ["app.main:app", "--app-dir", "src"],
        cwd=SHOP,
        env=shop_env(database_url, broker_url),
        workdir=workdir,
        name="shop",
    ) as base_url:
        yield base_url


class Worker:
    """The shop's Celery worker (solo pool), as ``celery -A app.worker_main:celery_app worker``."""

    def __init__(self, database_url: str, broker_url: str, log: Path) -> None:
        self.log = log
        self.process = subprocess.Popen(
            [
                str(CELERY),
                "-A",
                "app.worker_main:celery_app",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-Q",
                "default,notifications,analytics",
                "-n",
                f"shop-{secrets.token_hex(4)}@%h",
            ],
            cwd=SHOP,
            env=shop_env(database_url, broker_url),
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.log.read_text(errors="replace"):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"the shop's worker did not start:\n{log_tail(self.log)}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
