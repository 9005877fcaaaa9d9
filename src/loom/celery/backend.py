"""The Celery job backend: an outbox relayed to the broker, tasks run by the shared
:class:`~loom.core.job.runner.JobRunner` on a persistent event loop.

Dispatch path (API process, or a worker whose callback dispatches):

1. the job's record is inserted in the dispatching transaction with
   ``enqueued = false``;
2. after the commit the job is published to the broker (off the event loop, in a
   thread) and, once the broker has it, marked ``enqueued = true``;
3. if publishing fails (broker down), the record stays ``enqueued = false`` and the
   relay loop - started with the runtime in every process - publishes it again
   every ``celery.relay_interval`` seconds until the broker takes it. A dispatch is
   never lost; in rare races (a crash between publish and mark) it is published
   twice, and the worker's claim on the record runs a finished job only once.

Worker side: tasks are acknowledged late (``task_acks_late``) and rejected back to
the queue when their process dies (``task_reject_on_worker_lost``), so a worker
killed mid-job leaves the message to be redelivered; the redelivered attempt takes
over the record that was left ``running``. Retries use ``Task.retry`` with the
runner's backoff. Delivery is at-least-once: make jobs idempotent.

``celery.task_always_eager: true`` skips the broker: jobs and callbacks run inline,
right after the dispatching transaction commits, with the same retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol

import msgspec
from celery import Celery, Task
from kombu import Queue

from loom.celery._loop import LoopThread
from loom.core.config.settings import CELERY_LOOM_KEYS, settings_of
from loom.core.job.backends.inline import run_attempts
from loom.core.job.envelope import JobEnvelope
from loom.core.job.handle import JobFailedError, JobTimeoutError
from loom.core.job.host import JobHost
from loom.core.job.runner import JobRunner, Outcome
from loom.core.job.store import JobStore, jsonable, utcnow

__all__ = [
    "TASK_PREFIX",
    "CeleryBackend",
    "CeleryHost",
    "CeleryResultWaiter",
    "JobFailed",
    "celery_settings",
]

log = logging.getLogger("loom.jobs")

TASK_PREFIX = "loom.jobs."

#: Keys of the ``celery`` section that configure Loom, not Celery.
LOOM_KEYS = CELERY_LOOM_KEYS

DEFAULTS: dict[str, Any] = {
    "task_default_queue": "default",
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "worker_prefetch_multiplier": 1,
    "task_serializer": "json",
    "result_serializer": "json",
    "accept_content": ["json"],
    "broker_connection_retry_on_startup": True,
    "task_track_started": True,
}


class JobFailed(Exception):
    """Raised by a task whose job failed for good, so Celery (and Flower) mark it FAILURE."""


def celery_settings(cfg: Any, job_queues: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(celery conf, loom relay options)`` from the ``celery`` section.

    Every key other than Loom's own is passed to ``app.conf`` as is, over Loom's
    defaults (late acks, reject on worker lost, prefetch 1, JSON). ``queues`` (a list
    of names) becomes ``task_queues``, extended with every registered job's queue so
    a worker started without ``-Q`` consumes all of them.
    """
    celery = settings_of(cfg).celery
    conf = {**DEFAULTS, **celery.conf}
    if not conf.get("broker_url"):
        conf.pop("broker_url", None)
        conf["broker_url"] = "memory://"
    if conf.get("result_backend") in ("", None):
        conf.pop("result_backend", None)
    conf["task_always_eager"] = celery.task_always_eager
    names = list(celery.queues)
    for name in [conf["task_default_queue"], *job_queues]:
        if name not in names:
            names.append(name)
    conf["task_queues"] = [Queue(name, routing_key=name) for name in names]
    options = {
        "relay_interval": celery.relay_interval,
        "relay_grace": celery.relay_grace,
        "relay_batch": celery.relay_batch,
    }
    return conf, options


class CeleryHost(JobHost, Protocol):
    """A :class:`JobHost` a Celery worker process also starts and stops itself (on
    its first task, at worker shutdown), and whose readiness includes the broker."""

    @property
    def readiness_checks(self) -> dict[str, Callable[[], Awaitable[None]]]:
        """Named checks ``/health/ready`` awaits; the broker ping is added here."""
        ...

    async def startup(self) -> None: ...

    async def shutdown(self) -> None: ...


class CeleryBackend:
    """Publishes recorded jobs to Celery and runs them in Celery workers.

    ``jobs`` are the application's job classes: each gets its task, and its queue is
    consumed by a worker started without ``-Q``.
    """

    def __init__(
        self, host: CeleryHost, store: JobStore, cfg: Any, *, jobs: Iterable[type]
    ) -> None:
        self.host = host
        self.store = store
        self.runner = JobRunner(host, store)
        jobs = list(jobs)
        queues = [host.job_settings(job)["queue"] for job in jobs]
        settings = settings_of(cfg)
        conf, options = celery_settings(settings, queues)
        self.eager: bool = conf["task_always_eager"]
        self.relay_interval: float = options["relay_interval"]
        self.relay_grace: float = options["relay_grace"]
        self.relay_batch: int = options["relay_batch"]
        name = settings.app.name or "loom"
        self.celery_app = Celery(name, set_as_current=False)
        self.celery_app.conf.update(conf)
        self.loop = LoopThread()
        self._tasks: dict[str, Task] = {}
        self._relay: asyncio.Task[None] | None = None
        self._started: asyncio.Future[None] | None = None
        for job in jobs:
            self.task_for(job.__qualname__)
        host.startup_hooks.append(self.start)
        host.shutdown_hooks.append(self.stop)
        if not self.eager:
            host.readiness_checks["broker"] = self.ping

    async def ping(self) -> None:
        """Raise when the broker cannot be reached (used by ``/health/ready``)."""

        def check() -> None:
            with self.celery_app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=1)

        await asyncio.to_thread(check)

    def __repr__(self) -> str:
        mode = "eager" if self.eager else str(self.celery_app.conf.broker_url).split("@")[-1]
        return f"CeleryBackend({mode})"

    # -- tasks -------------------------------------------------------------------------

    def task_for(self, job_name: str) -> Task:
        """The Celery task ``loom.jobs.<JobName>`` (registered once per job)."""
        task = self._tasks.get(job_name)
        if task is None:
            backend = self

            def run_job(task: Task, envelope: dict[str, Any]) -> Any:
                return backend.run_task(task, envelope)

            task = self.celery_app.task(
                run_job,
                name=TASK_PREFIX + job_name,
                shared=False,
                bind=True,
                acks_late=bool(self.celery_app.conf.task_acks_late),
                reject_on_worker_lost=bool(self.celery_app.conf.task_reject_on_worker_lost),
            )
            self._tasks[job_name] = task
        return task

    def run_task(self, task: Task, message: Mapping[str, Any]) -> Any:
        """Body of every job task, in a worker: one attempt on the process's loop."""
        envelope = msgspec.convert(message, JobEnvelope)
        delivery = getattr(task.request, "delivery_info", None) or {}
        redelivered = bool(delivery.get("redelivered"))
        outcome = self.loop.run(self._worker_attempt(envelope, redelivered))
        if outcome.kind == "retry":
            raise task.retry(countdown=outcome.delay, max_retries=None)
        if outcome.kind == "failed":
            kind, message_text = outcome.error or ("Exception", "")
            raise JobFailed(f"{kind}: {message_text}")
        return jsonable(outcome.result)

    async def _worker_attempt(self, envelope: JobEnvelope, redelivered: bool) -> Outcome:
        await self._ensure_started()
        return await self.runner.attempt(envelope, allow_running=redelivered)

    async def _ensure_started(self) -> None:
        """Run the host's start-up once in this worker process (on its loop)."""
        if self._started is None:
            self._started = asyncio.get_running_loop().create_future()
            try:
                await self.host.startup()
            except BaseException as exc:
                self._started.set_exception(exc)
                self._started = None
                raise
            self._started.set_result(None)
        await self._started

    def shutdown_worker(self) -> None:
        """Run the host's shutdown on the worker loop, then stop the loop."""
        if self.loop.started and self._started is not None:
            with contextlib.suppress(Exception):
                self.loop.run(self.host.shutdown(), timeout=30)
        self.loop.stop()

    # -- dispatch ----------------------------------------------------------------------

    async def submit(self, envelope: JobEnvelope) -> None:
        """After the dispatching commit: publish (or, eager, run inline)."""
        if self.eager:
            await self.run_inline(envelope)
            return
        self.host.spawn(self.publish(envelope))

    def _send(self, envelope: JobEnvelope) -> None:
        timing: dict[str, Any] = (
            {"eta": envelope.eta}
            if envelope.eta is not None
            else {"countdown": envelope.countdown or None}
        )
        self.task_for(envelope.job).apply_async(
            args=[msgspec.to_builtins(envelope)],
            task_id=envelope.job_id,
            queue=envelope.queue,
            priority=envelope.priority,
            retry=False,
            **timing,
        )

    async def publish(self, envelope: JobEnvelope) -> bool:
        """Hand the job to the broker and mark it enqueued; ``False`` if the broker is away."""
        try:
            await asyncio.to_thread(self._send, envelope)
        except Exception as exc:
            log.warning(
                "broker unavailable, job %s %s stays in the outbox: %s",
                envelope.job,
                envelope.job_id,
                exc,
            )
            return False
        async with self.host.unit_of_work():
            await self.store.mark_enqueued(envelope.job_id)
        return True

    async def run_inline(self, envelope: JobEnvelope) -> Outcome:
        """Eager mode: every attempt now, in this process, sleeping the backoff between."""
        async with self.host.unit_of_work():
            await self.store.mark_enqueued(envelope.job_id)
        delay = envelope.delay()
        if delay:
            await asyncio.sleep(delay)
        return await run_attempts(self.runner, envelope)

    # -- results -----------------------------------------------------------------------

    @property
    def result_waiter(self) -> CeleryResultWaiter | None:
        """How a :class:`~loom.core.job.handle.JobHandle` waits: through Celery's result
        backend; eager jobs settle their handles in this process instead."""
        return None if self.eager else CeleryResultWaiter(self)

    # -- relay -------------------------------------------------------------------------

    async def start(self) -> None:
        if not self.eager and self._relay is None:
            self._relay = asyncio.get_running_loop().create_task(
                self._relay_loop(), name="loom-outbox-relay"
            )

    async def stop(self) -> None:
        relay, self._relay = self._relay, None
        if relay is not None:
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay

    async def relay_once(self) -> int:
        """Publish outbox records older than ``relay_grace``; how many went out."""
        cutoff = utcnow() - dt.timedelta(seconds=self.relay_grace)
        sent = 0
        for record in await self.store.unenqueued(created_before=cutoff, limit=self.relay_batch):
            if not await self.publish(record.envelope()):
                break  # the broker is still away; try the rest next round
            sent += 1
        if sent:
            log.info("outbox relay published %d job(s)", sent)
        return sent

    async def _relay_loop(self) -> None:
        while True:
            await asyncio.sleep(self.relay_interval)
            try:
                await self.relay_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("outbox relay round failed", exc_info=True)


class CeleryResultWaiter:
    """``JobHandle.wait`` on Celery: ``AsyncResult.get`` (needs ``celery.result_backend``);
    ``wait_async`` reads the job's record instead, so it needs no result backend."""

    def __init__(self, backend: CeleryBackend) -> None:
        self.backend = backend

    def wait_result(self, job_id: str, timeout: float | None) -> Any:
        from celery.backends.base import DisabledBackend
        from celery.exceptions import TimeoutError as CeleryTimeout

        app = self.backend.celery_app
        result = app.AsyncResult(job_id)
        if isinstance(result.backend, DisabledBackend):
            raise RuntimeError(
                f"JobHandle.wait() for job {job_id} needs a Celery result backend: set "
                "celery.result_backend (e.g. redis://localhost:6379/1), or use "
                "`await handle.wait_async()`, which reads the job's record"
            )
        try:
            return result.get(timeout=timeout, propagate=True, disable_sync_subtasks=False)
        except CeleryTimeout:
            raise JobTimeoutError(job_id, timeout) from None
        except Exception as exc:
            raise JobFailedError(job_id, cause=exc) from exc

    async def wait_result_async(self, job_id: str, timeout: float | None) -> Any:
        store = self.backend.store
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            record = await store.get(job_id)
            if record is not None and record.finished:
                if record.state == "succeeded":
                    return record.result
                raise JobFailedError(job_id, cause=f"{record.error_type}: {record.error}")
            if deadline is not None and loop.time() >= deadline:
                raise JobTimeoutError(job_id, timeout)
            await asyncio.sleep(0.05)
