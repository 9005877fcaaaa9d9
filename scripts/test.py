"""Run the test suite, saying which real servers are reachable and used.

PostgreSQL and Redis tests run whenever those servers answer; otherwise they are
skipped with the reason printed here and by pytest. Set ``LOOM_REQUIRE_SERVICES=1``
(``.ci/run`` does) to turn such a skip into a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _address(service: str, port: str) -> tuple[str, int]:
    host = os.environ.get(f"LOOM_TEST_{service}_HOST", "127.0.0.1")
    return host, int(os.environ.get(f"LOOM_TEST_{service}_PORT", port))


def main() -> int:
    for name, (host, port) in (
        ("PostgreSQL", _address("PG", "5432")),
        ("Redis", _address("REDIS", "6379")),
    ):
        reachable = _reachable(host, port)
        state = "reachable: its tests run" if reachable else "NOT reachable: its tests are skipped"
        print(f"loom tests: {name} at {host}:{port} {state}", flush=True)
    if os.environ.get("LOOM_REQUIRE_SERVICES") == "1":
        print("loom tests: LOOM_REQUIRE_SERVICES=1: a skipped server test fails", flush=True)
    args = sys.argv[1:] or []
    cmd = [sys.executable, "-m", "pytest", *args]
    return subprocess.call(cmd, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main())
