"""A job that records each of its runs (tables ``scl_job_runs``), for the
many-process tests: run as ``python jobs_app.py CONFIG SECONDS`` it is one API
process's in-process backend, running what it finds for SECONDS."""

from __future__ import annotations

import asyncio
import os
import sys

from loom.core.job.job import Job
from loom.core.model import BaseModel, ColumnField
from loom.core.repository.abc import RepoFor


class SclJobRun(BaseModel):
    __tablename__ = "scl_job_runs"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    n: int = ColumnField(index=True)
    pid: int = ColumnField()


class SclCountJob(Job[int]):
    """Records that it ran; takes long enough for the processes to overlap."""

    def __init__(self, runs: RepoFor[SclJobRun]) -> None:
        self._runs = runs

    async def execute(self, n: int) -> int:
        await asyncio.sleep(0.2)
        await self._runs.create({"n": n, "pid": os.getpid()})
        return n


class SclSlowJob(Job[None]):
    """Outlasts a graceful stop's wait."""

    async def execute(self, n: int) -> None:
        await asyncio.sleep(30)


async def _serve(config: str, seconds: float) -> None:
    from loom.bootstrap import build_runtime

    runtime = build_runtime(config)
    await runtime.startup()
    try:
        await asyncio.sleep(seconds)
    finally:
        await runtime.shutdown()


if __name__ == "__main__":
    asyncio.run(_serve(sys.argv[1], float(sys.argv[2])))
