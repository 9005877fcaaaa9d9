"""``JobService``: dispatch jobs to the configured backend, or run them inline.

A dispatch inside a unit of work (every use case runs in one) writes the job's
record into that same transaction, just before it commits, and hands the job to
the backend only after the commit: a rolled-back use case dispatches nothing, and
a committed one cannot lose its job even if the broker or the process goes away
right after (the record is relayed or recovered later).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from loom.core.uow import current_unit_of_work

if TYPE_CHECKING:
    from loom.core.job.store import JobRecord, JobStore
    from loom.core.runtime import Runtime

__all__ = [
    "JobBackend",
    "JobEnvelope",
    "JobHandle",
    "JobService",
    "callback_name",
    "qualified_name",
]


class JobHandle(msgspec.Struct, frozen=True, kw_only=True):
    """What ``dispatch`` returns: the id to poll ``GET /jobs/{job_id}`` with."""

    job_id: str
    queue: str


class JobEnvelope(msgspec.Struct, kw_only=True):
    """Everything a backend needs to run a job somewhere else, JSON-serialisable."""

    job_id: str
    job: str
    queue: str
    params: dict[str, Any] = {}
    payload: Any = None
    on_success: str | None = None
    on_failure: str | None = None
    retries: int = 0
    countdown: float = 0
    timeout: float | None = None
    priority: int | None = None
    trace_id: str | None = None
    headers: dict[str, str] = {}


class JobBackend(Protocol):
    async def submit(self, envelope: JobEnvelope) -> None: ...


def qualified_name(cls: type) -> str:
    """The name a job is registered (and routed to a Celery task) under."""
    return cls.__qualname__


def callback_name(cls: type) -> str:
    """``module:qualname``, so a worker that did not discover the class can import it."""
    return f"{cls.__module__}:{cls.__qualname__}"


class JobService:
    """Injected into use cases and callbacks that start background work."""

    def __init__(self, runtime: Runtime, backend: JobBackend | None = None) -> None:
        self._runtime = runtime
        self._backend = backend

    @property
    def backend(self) -> JobBackend:
        if self._backend is None:
            # No backend configured (a runtime built by hand, the test harness):
            # the embedded in-process worker, with records kept in memory.
            from loom.core.job.backends import InProcessBackend
            from loom.core.job.store import MemoryJobStore

            self._backend = InProcessBackend(self._runtime, MemoryJobStore())
        return self._backend

    @backend.setter
    def backend(self, value: JobBackend) -> None:
        self._backend = value

    @property
    def store(self) -> JobStore:
        """The job records of this application (outbox and status)."""
        store: JobStore | None = getattr(self.backend, "store", None)
        if store is None:
            raise RuntimeError(f"job backend {self.backend!r} keeps no job records")
        return store

    def envelope(
        self,
        job: type,
        *,
        params: Mapping[str, Any] | None = None,
        payload: Any = None,
        on_success: type | None = None,
        on_failure: type | None = None,
        queue: str | None = None,
    ) -> JobEnvelope:
        settings = self._runtime.job_settings(job)
        from loom.core.observability.context import capture_trace_headers, current_trace_id

        for callback in (on_success, on_failure):
            if callback is not None:
                self._runtime.register_callback(callback)
        return JobEnvelope(
            job_id=uuid.uuid4().hex,
            job=qualified_name(job),
            queue=queue or settings["queue"],
            params=msgspec.to_builtins(dict(params or {})),
            payload=msgspec.to_builtins(payload),
            on_success=callback_name(on_success) if on_success else None,
            on_failure=callback_name(on_failure) if on_failure else None,
            retries=settings["retries"],
            countdown=settings["countdown"],
            timeout=settings["timeout"],
            priority=settings["priority"],
            trace_id=current_trace_id(),
            headers=capture_trace_headers(),
        )

    def dispatch(
        self,
        job: type,
        *,
        params: Mapping[str, Any] | None = None,
        payload: Any = None,
        on_success: type | None = None,
        on_failure: type | None = None,
        queue: str | None = None,
    ) -> JobHandle:
        """Queue ``job``; inside a use case it is recorded in the use case's
        transaction and sent only after the commit (never after a rollback)."""
        envelope = self.envelope(
            job,
            params=params,
            payload=payload,
            on_success=on_success,
            on_failure=on_failure,
            queue=queue,
        )
        backend = self.backend
        store = self.store
        uow = current_unit_of_work()
        if uow is not None:
            uow.before_commit(lambda: store.add(envelope))
            uow.after_commit(lambda: backend.submit(envelope))
        else:
            self._runtime.spawn(self._record_and_submit(envelope))
        metrics = getattr(self._runtime, "metrics", None)
        if metrics is not None:
            metrics.job_event(envelope.job, envelope.queue, "dispatched")
        return JobHandle(job_id=envelope.job_id, queue=envelope.queue)

    async def _record_and_submit(self, envelope: JobEnvelope) -> None:
        async with self._runtime.unit_of_work():
            await self.store.add(envelope)
        await self.backend.submit(envelope)

    async def run(
        self, job: type, *, params: Mapping[str, Any] | None = None, payload: Any = None
    ) -> Any:
        """Run ``job`` now, in this process (inside the caller's transaction), and
        return its result. No record, no retries, no callbacks: a plain call."""
        return await self._runtime.execute(job, params=params, payload=payload)

    async def status(self, job_id: str) -> JobRecord | None:
        """The job's record (state, attempts, result or error), or ``None``."""
        return await self.store.get(job_id)

    async def wait(self, job_id: str, *, timeout: float = 30.0, poll: float = 0.05) -> JobRecord:
        """Poll until the job is ``succeeded`` or ``failed`` and return its record.

        For scripts and tests; raises :class:`TimeoutError` after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            record = await self.store.get(job_id)
            if record is not None and record.finished:
                return record
            if time.monotonic() >= deadline:
                state = record.state if record is not None else "unknown"
                raise TimeoutError(f"job {job_id} still {state} after {timeout}s")
            await asyncio.sleep(poll)
