"""The store example served by uvicorn in a subprocess, on a fresh database.

Run from ``examples/store`` exactly as a user would (``uvicorn app.main:app`` with
``DATABASE_URL`` set), on a free port; :func:`running_store` yields its base URL.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

STORE = Path(__file__).resolve().parents[3] / "examples" / "store"
STARTUP_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def running_store(database_url: str, workdir: Path) -> Iterator[str]:
    """Start the store on ``database_url``; yield ``http://127.0.0.1:<port>``."""
    port = free_port()
    log = workdir / f"uvicorn-{port}.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        "LOOM_SECRET_KEY": secrets.token_hex(16),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CELERY_BROKER_URL", None)
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "app.main:app",
        "--app-dir",
        "src",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
    ]
    base_url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=STORE, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait_ready(proc, base_url, log)
            yield base_url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _wait_ready(proc: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the store exited with {proc.returncode}:\n{_log_tail(log)}")
        try:
            if httpx.get(f"{base_url}/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the store did not start in {STARTUP_TIMEOUT}s:\n{_log_tail(log)}")
