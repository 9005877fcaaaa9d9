"""``PROMETHEUS_MULTIPROC_DIR``: a scrape answers the totals of every worker process,
whichever one it reaches (issue 15, item 4). prometheus_client picks its multiprocess
values at import, so each worker is a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

WORKER = """
import sys
from loom.core.observability.metrics import Metrics
metrics = Metrics()
for _ in range(int(sys.argv[1])):
    metrics.observe_request("GET", "/items/{id}", 200, 0.003)
metrics.observe_use_case("GetItem", 0.002, failed=sys.argv[1] == "3")
metrics.job_event("SyncJob", "default", "succeeded", 0.5)
if sys.argv[2] == "scrape":
    sys.stdout.write(metrics.render()[0].decode())
"""


def _worker(directory: Path, requests: int, scrape: bool = False) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    done = subprocess.run(
        [sys.executable, "-c", WORKER, str(requests), "scrape" if scrape else "-"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def _value(text: str, prefix: str) -> float:
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {prefix!r} in\n{text}")


def test_any_worker_answers_the_totals_of_all_workers(tmp_path: Path) -> None:
    _worker(tmp_path, 3)
    _worker(tmp_path, 4)
    text = _worker(tmp_path, 5, scrape=True)
    requests = 'loom_http_requests_total{method="GET",route="/items/{id}",status="200"}'
    assert _value(text, requests) == 12
    latency = 'loom_http_request_duration_seconds_count{method="GET",route="/items/{id}"}'
    assert _value(text, latency) == 12
    assert _value(text, 'loom_use_case_duration_seconds_count{use_case="GetItem"}') == 3
    assert _value(text, 'loom_use_case_failures_total{use_case="GetItem"}') == 1
    assert _value(text, 'loom_jobs_total{job="SyncJob",queue="default",state="succeeded"}') == 3


def test_without_the_directory_a_process_answers_its_own_counts(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k.lower() != "prometheus_multiproc_dir"}
    done = subprocess.run(
        [sys.executable, "-c", WORKER, "2", "scrape"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    requests = 'loom_http_requests_total{method="GET",route="/items/{id}",status="200"}'
    assert _value(done.stdout, requests) == 2
