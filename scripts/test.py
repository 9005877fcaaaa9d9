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


def main() -> int:
    pg = os.environ.get("LOOM_TEST_PG_HOST", "127.0.0.1"), int(os.environ.get("LOOM_TEST_PG_PORT", "5432"))
    redis = os.environ.get("LOOM_TEST_REDIS_HOST", "127.0.0.1"), int(os.environ.get("LOOM_TEST_REDIS_PORT", "6379"))
    for name, (host, port) in (("PostgreSQL", pg), ("Redis", redis)):
        state = "reachable: its tests run" if _reachable(host, port) else "NOT reachable: its tests are skipped"
        print(f"loom tests: {name} at {host}:{port} {state}", flush=True)
    if os.environ.get("LOOM_REQUIRE_SERVICES") == "1":
        print("loom tests: LOOM_REQUIRE_SERVICES=1, a skipped server test fails the run", flush=True)
    args = sys.argv[1:] or []
    cmd = [sys.executable, "-m", "pytest", *args]
    return subprocess.call(cmd, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main())
