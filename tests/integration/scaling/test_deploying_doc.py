"""Every shell command of docs/deploying.md runs, in the order the page gives them,
against the page's own files (issue 15, item 5)."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pgbouncer_support import free_port
from tests.conftest import (
    redis_available,
    redis_problem,
    require_service,
)

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "docs" / "deploying.md"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)

pytestmark = pytest.mark.postgres


def _page(directory: Path) -> list[str]:
    """Writes the page's files into ``directory``; its shell commands, in order."""
    commands: list[str] = []
    for match in FENCE.finditer(PAGE.read_text()):
        words = match.group(1).split()
        options = dict(w.split("=", 1) for w in words[1:] if "=" in w)
        if "file" in options:
            target = directory / options["file"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(match.group(2))
        elif words and words[0] == "bash":
            lines = match.group(2).splitlines()
            commands += [line for line in lines if line.strip() and not line.startswith("#")]
    return commands


def _argv(command: str) -> list[str]:
    argv = shlex.split(command)
    if argv[0] == "loom":
        return [sys.executable, "-m", "loom.cli", *argv[1:]]
    return argv


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    return output


def _serve(argv: list[str], directory: Path, env: dict[str, str]) -> None:
    port = free_port()
    argv = [str(port) if arg == "8000" else arg for arg in argv]
    process = subprocess.Popen(
        argv, cwd=directory, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "not ready within 90 s"
            try:
                if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        created = httpx.post(f"{base}/orders", json={"customer": "ada", "total_cents": 990})
        assert created.status_code == 201, created.text  # on the migrated schema
        assert httpx.get(f"{base}/orders", timeout=10).status_code == 200
        _stop(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _celery_worker(argv: list[str], directory: Path, env: dict[str, str]) -> None:
    process = subprocess.Popen(
        argv, cwd=directory, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 90
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if " ready." in line:
                break
            assert time.monotonic() < deadline, "".join(seen)
        else:
            raise AssertionError("worker exited: " + "".join(seen))
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_every_command_of_the_page_runs(fresh_pg_url: str, tmp_path: Path) -> None:
    require_service(redis_available(), redis_problem() or "")
    commands = _page(tmp_path)
    url = fresh_pg_url
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/12",
        "LOOM_TRACEBACK": "1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    assert len(commands) >= 5, commands
    for command in commands:
        argv = _argv(command)
        if argv[3:4] == ["run"]:
            _serve(argv, tmp_path, env)
        elif argv[3:4] == ["worker"]:
            _celery_worker(argv, tmp_path, env)
        else:
            done = subprocess.run(
                argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
            if argv[0] == "psql":
                assert int(done.stdout.strip()) > 0
