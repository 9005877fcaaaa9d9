"""The embedded backend: an asyncio worker pool inside the application process.

Used when no broker is configured. Jobs are recorded in the dispatching
transaction like with Celery, so they survive a restart: at start-up the worker
picks up every record still ``pending`` (never started, or waiting for a retry) or
``running`` (the process died mid-job) and runs it again. Each attempt commits its
own writes.

Several API processes may share one database: a job runs in one of them only. A claim
is one atomic UPDATE, and a ``running`` record holds a lease its process renews while
the job runs; another process takes a running job over only once its lease expired
(its process died). Every process also looks for such jobs now and then
(``recover_every`` seconds), so a dead process's jobs do not wait for a restart. On
a graceful stop, a job still running after ``shutdown_timeout`` is cancelled and goes
back to ``pending`` for any process to run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from loom.core.job.envelope import JobEnvelope
from loom.core.job.host import JobHost
from loom.core.job.runner import JobRunner
from loom.core.job.store import JobStore, utcnow

__all__ = ["InProcessBackend"]

log = logging.getLogger("loom.jobs")

#: Seconds a claimed job is leased to the process running it (renewed every third).
JOB_LEASE = 10.0

#: Seconds before retrying a job whose attempt could not even reach the job store.
STORE_RETRY_DELAY = 5.0

_Item = tuple[JobEnvelope, bool] | None


class InProcessBackend:
    """``concurrency`` asyncio workers fed by a queue; retries are timers on the loop."""

    def __init__(
        self,
        host: JobHost,
        store: JobStore,
        *,
        concurrency: int = 4,
        shutdown_timeout: float = 10.0,
        recover_every: float = 15.0,
    ) -> None:
        self.host = host
        self.store = store
        self.runner = JobRunner(host, store)
        self.concurrency = max(1, concurrency)
        self.shutdown_timeout = shutdown_timeout
        self.recover_every = recover_every
        # A store shared between processes (SQL) leases the jobs this backend runs.
        self._lease: float | None = None
        if hasattr(store, "lease") and hasattr(store, "renew"):
            store.lease = self._lease = JOB_LEASE
        self._recovery: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[_Item] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._scheduled: set[str] = set()
        self._active: set[str] = set()
        self._closing = False
        self._stopped = False
        host.startup_hooks.append(self.start)
        host.shutdown_hooks.append(self.stop)

    def __repr__(self) -> str:
        return f"InProcessBackend(concurrency={self.concurrency})"

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Start the workers and re-queue what a previous process left unfinished."""
        self._stopped = False
        self._ensure_started()
        await self._recover()
        if self._lease is not None and self.recover_every > 0 and self._recovery is None:
            self._recovery = asyncio.get_running_loop().create_task(
                self._recover_periodically(), name="loom-job-recovery"
            )

    async def _recover(self) -> None:
        """Schedule the unfinished jobs nobody here runs: pending ones at their time,
        running ones (another process's, or a previous run's) when their lease ends."""
        for record in await self.store.unfinished():
            if record.id in self._active or record.id in self._scheduled:
                continue
            delay = 0.0
            if record.available_at is not None:
                delay = max((record.available_at - utcnow()).total_seconds(), 0.0)
            running = record.state == "running"
            if running and delay > 0:
                # Leased: tried when the lease ends, and skipped then if its process
                # is alive and renewed it.
                delay += 0.5
            log.info("recovering %s job %s %s", record.state, record.job, record.id)
            self._schedule(record.envelope(), delay, allow_running=running)

    async def _recover_periodically(self) -> None:
        while not self._closing:
            await asyncio.sleep(self.recover_every)
            try:
                await self._recover()
            except Exception:
                log.warning("looking for unfinished jobs failed", exc_info=True)

    async def stop(self) -> None:
        """Let running attempts finish (up to ``shutdown_timeout``), then cancel.

        Queued and delayed jobs stay ``pending`` in the store and an interrupted one
        stays ``running``: the next start picks them up.
        """
        self._closing = True
        self._stopped = True
        recovery, self._recovery = self._recovery, None
        if recovery is not None:
            recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recovery
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._scheduled.clear()
        workers, self._workers = self._workers, []
        if self._queue is not None:
            for _ in workers:
                self._queue.put_nowait(None)
        if workers:
            _done, pending = await asyncio.wait(workers, timeout=self.shutdown_timeout)
            interrupted = set(self._active)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self._release(interrupted)
        self._queue = None
        self._loop = None

    async def _release(self, job_ids: set[str]) -> None:
        """Jobs cancelled mid-run go back to ``pending`` rather than wait out a lease."""
        release = getattr(self.store, "release", None)
        if release is None:
            return
        for job_id in job_ids:
            try:
                async with self.host.unit_of_work():
                    await release(job_id)
            except Exception:
                log.warning("job %s: could not return it to pending", job_id, exc_info=True)

    def _ensure_started(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is loop and self._workers:
            return
        self._loop = loop
        self._closing = False
        self._queue = asyncio.Queue()
        self._timers.clear()
        self._scheduled.clear()
        self._workers = [
            loop.create_task(self._work(), name=f"loom-job-worker-{n}")
            for n in range(self.concurrency)
        ]

    # -- scheduling --------------------------------------------------------------------

    async def submit(self, envelope: JobEnvelope) -> None:
        """Queue a recorded job (called after the dispatching transaction commits).

        Workers start on the first submit when nobody called :meth:`start`; after
        :meth:`stop` the record just stays ``pending`` for the next start.
        """
        if self._stopped:
            return
        self._ensure_started()
        self._schedule(envelope, envelope.delay())

    def _schedule(
        self, envelope: JobEnvelope, delay: float, *, allow_running: bool = False
    ) -> None:
        if self._closing or self._loop is None:
            return
        job_id = envelope.job_id
        if job_id in self._scheduled:
            return
        self._scheduled.add(job_id)
        if delay > 0:
            self._timers[job_id] = self._loop.call_later(
                delay, self._enqueue, envelope, allow_running
            )
        else:
            self._enqueue(envelope, allow_running)

    def _enqueue(self, envelope: JobEnvelope, allow_running: bool) -> None:
        self._timers.pop(envelope.job_id, None)
        if self._queue is not None and not self._closing:
            self._queue.put_nowait((envelope, allow_running))

    async def _work(self) -> None:
        queue = self._queue
        assert queue is not None
        while True:
            item = await queue.get()
            if item is None or self._closing:
                return
            envelope, allow_running = item
            job_id = envelope.job_id
            self._scheduled.discard(job_id)
            self._active.add(job_id)
            lease = self._keep_lease(job_id) if self._lease is not None else None
            try:
                outcome = await self.runner.attempt(envelope, allow_running=allow_running)
                if outcome.kind == "retry":
                    self._schedule(envelope, outcome.delay)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The store itself failed (database down): the record is untouched or
                # still running; try again later rather than dropping the job.
                log.exception("job %s %s: attempt could not run", envelope.job, job_id)
                self._schedule(envelope, STORE_RETRY_DELAY, allow_running=True)
            finally:
                self._active.discard(job_id)
                if lease is not None:
                    lease.cancel()

    def _keep_lease(self, job_id: str) -> asyncio.Task[None]:
        async def renew() -> None:
            assert self._lease is not None
            while True:
                await asyncio.sleep(self._lease / 3)
                try:
                    async with self.host.unit_of_work():
                        await self.store.renew(job_id)  # type: ignore[attr-defined]
                except Exception:
                    log.warning("job %s: could not renew its lease", job_id, exc_info=True)

        return asyncio.get_running_loop().create_task(renew(), name=f"loom-job-lease-{job_id}")

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until nothing is queued, delayed or running (tests, scripts)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._scheduled or self._active:
            if loop.time() >= deadline:
                raise TimeoutError(
                    f"jobs still busy after {timeout}s: {sorted(self._scheduled | self._active)}"
                )
            await asyncio.sleep(0.01)
