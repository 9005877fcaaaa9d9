"""The inline backend: a job runs in the dispatching process right after the commit.

What :class:`~loom.core.job.service.InlineJobService` uses, and what Celery's eager
mode runs on. Every attempt goes through the shared runner, so records, retries and
callbacks behave as on the other backends; the difference is only *when*: now,
awaited by the commit, instead of later on a worker.
"""

from __future__ import annotations

import asyncio

from loom.core.job.envelope import JobEnvelope
from loom.core.job.host import JobExecutor, JobHost
from loom.core.job.runner import JobRunner, Outcome
from loom.core.job.store import JobStore

__all__ = ["InlineBackend", "run_attempts"]


async def run_attempts(runner: JobRunner, envelope: JobEnvelope) -> Outcome:
    """Every attempt of ``envelope`` now, sleeping the retry backoff between them."""
    while True:
        outcome = await runner.attempt(envelope)
        if outcome.kind != "retry":
            return outcome
        await asyncio.sleep(outcome.delay)


class InlineBackend:
    """Runs each submitted job at once; one due later runs in the background."""

    def __init__(self, host: JobHost, store: JobStore, executor: JobExecutor | None = None) -> None:
        self.host = host
        self.store = store
        self.runner = JobRunner(host, store, executor)

    def __repr__(self) -> str:
        return "InlineBackend()"

    async def submit(self, envelope: JobEnvelope) -> None:
        async with self.host.unit_of_work():
            await self.store.mark_enqueued(envelope.job_id)
        delay = envelope.delay()
        if delay > 0:
            # Holding the dispatching request for the countdown would turn a delay
            # into latency: the job waits on the loop instead.
            self.host.spawn(self._later(envelope, delay))
            return
        await run_attempts(self.runner, envelope)

    async def _later(self, envelope: JobEnvelope, delay: float) -> None:
        await asyncio.sleep(delay)
        await run_attempts(self.runner, envelope)
