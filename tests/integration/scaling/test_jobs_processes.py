"""In-process jobs on one database shared by several API processes run once each
(issue 15, item 4)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

HERE = Path(__file__).parent
pytestmark = pytest.mark.postgres

CONFIG = """\
app:
  name: scaling-jobs
  discovery:
    mode: modules
    modules:
      include: [jobs_app]
database:
  url: {url}
logger:
  level: WARNING
"""


def _process(config: Path, seconds: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])}
    return subprocess.Popen(
        [sys.executable, str(HERE / "jobs_app.py"), str(config), str(seconds)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


async def test_two_processes_run_each_job_once(
    db_url_factory: Callable[[str], str], tmp_path: Path
) -> None:
    sys.path.insert(0, str(HERE))
    from jobs_app import SclCountJob

    from loom.bootstrap import build_runtime

    config = tmp_path / "api.yaml"
    config.write_text(CONFIG.format(url=db_url_factory("postgres")))
    runtime = build_runtime(config)
    await runtime.startup()  # tables; its own backend runs nothing until a submit
    backend = runtime.job_service.backend
    await backend.stop()  # record jobs only: the two processes below run them
    jobs = 40
    try:
        async with runtime.unit_of_work():
            for n in range(jobs):
                runtime.job_service.dispatch(SclCountJob, params={"n": n})
        # Both start together: each recovers all the pending jobs, and the second
        # one also sees the first one's running jobs.
        first, second = _process(config, 6.0), _process(config, 6.0)
        outputs = [p.communicate(timeout=60)[0].decode() for p in (first, second)]
        assert first.returncode == 0 and second.returncode == 0, outputs
        database = runtime.database  # type: ignore[attr-defined]
        async with database.engine.connect() as conn:
            rows = (await conn.execute(sa.text("SELECT n, pid FROM scl_job_runs"))).all()
            states = (await conn.execute(sa.text("SELECT state FROM loom_jobs"))).scalars().all()
        counts = {n: 0 for n in range(jobs)}
        for n, _pid in rows:
            counts[n] += 1
        assert counts == {n: 1 for n in range(jobs)}
        assert set(states) == {"succeeded"}
        assert len({pid for _n, pid in rows}) == 2, "both processes took a share"
    finally:
        await runtime.shutdown()
        sys.path.remove(str(HERE))


async def test_a_job_interrupted_by_a_graceful_stop_goes_back_to_pending(
    db_url_factory: Callable[[str], str], tmp_path: Path
) -> None:
    sys.path.insert(0, str(HERE))
    from jobs_app import SclSlowJob

    from loom.bootstrap import build_runtime

    config = tmp_path / "api.yaml"
    config.write_text(CONFIG.format(url=db_url_factory("postgres")))
    runtime = build_runtime(config)
    await runtime.startup()
    try:
        runtime.job_service.backend.shutdown_timeout = 0.2
        async with runtime.unit_of_work():
            handle = runtime.job_service.dispatch(SclSlowJob, params={"n": 1})
        for _ in range(100):
            record = await runtime.job_service.store.get(handle.job_id)
            if record is not None and record.state == "running":
                break
            await asyncio.sleep(0.05)
        assert record is not None and record.state == "running"
        await runtime.job_service.backend.stop()
        record = await runtime.job_service.store.get(handle.job_id)
        assert record is not None
        assert (record.state, record.attempts) == ("pending", 0)  # for any process to run
    finally:
        await runtime.shutdown()
        sys.path.remove(str(HERE))
