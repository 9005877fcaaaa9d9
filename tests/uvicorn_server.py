"""An application served by a real uvicorn in a subprocess, as its users run it.

The end-to-end, compatibility and fuzz suites all start an app the same way: from its
own folder, with only its environment telling it where its database is, on a free
port, and wait until its OpenAPI document answers. One helper, so a fix to start-up
or shutdown (a slow CI machine, a server that died at import) lands everywhere.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

STARTUP_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def serve_http(
    command: Callable[[int], list[str]],
    *,
    cwd: Path,
    env: dict[str, str],
    workdir: Path,
    name: str,
    ready_path: str = "/openapi.json",
) -> Iterator[str]:
    """``command(port)`` in a subprocess on a free port, logging to
    ``workdir/<name>-<port>.log``; yield its base URL once ``ready_path`` answers 200.
    A server that exits or does not answer in time fails with its log's tail."""
    port = free_port()
    log = workdir / f"{name}-{port}.log"
    base_url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command(port), cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log_tail(log)}")
                try:
                    if httpx.get(f"{base_url}{ready_path}", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{name} did not start in {STARTUP_TIMEOUT:.0f}s:\n{log_tail(log)}"
                    )
                time.sleep(0.1)
            yield base_url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@contextlib.contextmanager
def serve_uvicorn(
    app_args: list[str], *, cwd: Path, env: dict[str, str], workdir: Path, name: str
) -> Iterator[str]:
    """``uvicorn <app_args>`` on a free port (see :func:`serve_http`)."""

    def command(port: int) -> list[str]:
        return [
            *(sys.executable, "-m", "uvicorn", *app_args, "--host", "127.0.0.1"),
            *("--port", str(port), "--no-access-log"),
        ]

    with serve_http(command, cwd=cwd, env=env, workdir=workdir, name=name) as base_url:
        yield base_url
