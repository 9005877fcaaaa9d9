"""Schemathesis against every application the repository ships, from its own document.

The store example, the benchmark app, the README's example app and the 0.2-era
compatibility shop are each served by uvicorn in a subprocess, on SQLite and on
PostgreSQL, and schemathesis runs all its phases on them: the documented examples,
coverage (boundary and missing values of every parameter), fuzzing (positive and
negative data) and stateful sequences following the document's links (create ->
get/update/delete). Every built-in check runs, plus ``tests.reliability.fuzz_hooks``:
no 5xx, statuses, content types, headers and bodies as documented, invalid data
refused, valid data accepted (the only 422s allowed for valid data are business
rules, a reused Idempotency-Key and a foreign cursor), nothing leaked.

``LOOM_FUZZ_EXAMPLES`` sets the examples per operation (CI default below; ``make
fuzz`` raises it to 50 and sets ``LOOM_FUZZ_FULL=1``, which adds the coverage phase).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import (
    SQL_BACKENDS,
    own_pg_database,
)
from tests.reliability.fuzz_apps import APPS, ROOT, serve, server_log

EXAMPLES = int(os.environ.get("LOOM_FUZZ_EXAMPLES", "3"))
SEED = int(os.environ.get("LOOM_FUZZ_SEED", "20260516"))
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
FULL = os.environ.get("LOOM_FUZZ_FULL") == "1"
# The coverage phase (every boundary of every parameter) costs minutes per app whatever
# the example count: ``make fuzz`` runs it, CI runs the other phases (about 2 minutes).
PHASES = "examples,coverage,fuzzing,stateful" if FULL else "examples,fuzzing,stateful"


@pytest.fixture(params=SQL_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own for each app: two apps may name different tables alike."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fuzz.db'}"
        return
    with own_pg_database("loom_fuzz") as url:
        yield url


def run_schemathesis(
    base_url: str, *, examples: int, seed: int
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.reliability.fuzz_hooks",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
    }
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "all",
        # Replaced by fuzz_hooks.documented_acceptance (which knows the documented 422s).
        "--exclude-checks",
        "positive_data_acceptance",
        "--phases",
        PHASES,
        "--max-examples",
        str(examples),
        "--seed",
        str(seed),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--suppress-health-check",
        "all",
        "--request-timeout",
        "30",
        "--no-color",
    ]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("app", APPS)
def test_app_conforms_to_its_document(app: str, database_url: str, tmp_path: Path) -> None:
    with serve(app, database_url, tmp_path) as base_url:
        run = run_schemathesis(base_url, examples=EXAMPLES, seed=SEED)
    out = run.stdout
    # Failing requests may carry kilobytes of query string: the start (failures) and
    # the end (summary) of the report are what a reader needs.
    report = out if len(out) < 30000 else f"{out[:20000]}\n[...]\n{out[-8000:]}"
    report += run.stderr[-3000:]
    assert run.returncode == 0, f"{report}\n--- {app} log ---\n{server_log(tmp_path, app)}"
