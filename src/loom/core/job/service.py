"""``JobService``: dispatch jobs to the configured backend, or run them inline.

A dispatch inside a unit of work (every use case runs in one) writes the job's
record into that same transaction, just before it commits, and hands the job to
the backend only after the commit: a rolled-back use case dispatches nothing, and
a committed one cannot lose its job even if the broker or the process goes away
right after (the record is relayed or recovered later).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from loom.core.job.envelope import (
    GROUP_HEADER,
    GROUP_JOB,
    JobBackend,
    JobEnvelope,
    callback_name,
    qualified_name,
)
from loom.core.job.handle import (
    JobFailedError,
    JobGroup,
    JobHandle,
    JobResultWaiter,
    JobTimeoutError,
    track_job,
)
from loom.core.job.host import JobExecutor, JobHost
from loom.core.uow import current_unit_of_work

if TYPE_CHECKING:
    from loom.core.job.store import JobRecord, JobStore

__all__ = [
    "InlineJobService",
    "JobBackend",
    "JobEnvelope",
    "JobFailedError",
    "JobGroup",
    "JobHandle",
    "JobService",
    "JobServiceHost",
    "JobTimeoutError",
    "callback_name",
    "qualified_name",
]

log = logging.getLogger("loom.jobs")


async def _add_group(store: JobStore, group: JobEnvelope) -> None:
    # Marked as sent at once: a group is never published or queued, its members
    # settle it (see JobRunner.settle_group).
    await store.add(group)
    await store.mark_enqueued(group.job_id)


def _utc(value: dt.datetime) -> dt.datetime:
    """A naive ``eta`` is read as UTC, as Celery does with its default timezone."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class JobService:
    """Injected into use cases and callbacks that start background work.

    ``runtime`` is the application's :class:`~loom.core.runtime.Runtime`, or any other
    :class:`~loom.core.job.host.JobHost` (the parameter keeps its public name).
    """

    def __init__(self, runtime: JobHost, backend: JobBackend | None = None) -> None:
        self._host = runtime
        self._backend = backend

    @property
    def backend(self) -> JobBackend:
        if self._backend is None:
            # No backend configured (a runtime built by hand, the test harness):
            # the embedded in-process worker, with records kept in memory.
            from loom.core.job.backends import InProcessBackend
            from loom.core.job.store import MemoryJobStore

            self._backend = InProcessBackend(self._host, MemoryJobStore())
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
        job_type: type,
        *,
        params: Mapping[str, Any] | None = None,
        payload: Any = None,
        on_success: type | None = None,
        on_failure: type | None = None,
        queue: str | None = None,
        countdown: float | None = None,
        priority: int | None = None,
        eta: dt.datetime | None = None,
    ) -> JobEnvelope:
        """The message for one dispatch; explicit options win over ``jobs.<Name>.*``
        and the class attributes."""
        if countdown is not None and eta is not None:
            raise TypeError(f"dispatch({job_type.__qualname__}): pass countdown= or eta=, not both")
        settings = self._host.job_settings(job_type)
        from loom.core.observability.context import capture_trace_headers, current_trace_id

        for callback in (on_success, on_failure):
            if callback is not None:
                self._host.register_callback(callback)
        return JobEnvelope(
            job_id=uuid.uuid4().hex,
            job=qualified_name(job_type),
            queue=queue or settings["queue"],
            params=msgspec.to_builtins(dict(params or {})),
            payload=msgspec.to_builtins(payload),
            on_success=callback_name(on_success) if on_success else None,
            on_failure=callback_name(on_failure) if on_failure else None,
            retries=settings["retries"],
            countdown=(
                0.0
                if eta is not None
                else float(settings["countdown"] if countdown is None else countdown)
            ),
            timeout=settings["timeout"],
            priority=settings["priority"] if priority is None else int(priority),
            eta=_utc(eta) if eta is not None else None,
            trace_id=current_trace_id(),
            headers=capture_trace_headers(),
        )

    def dispatch(
        self,
        job_type: type,
        *,
        params: Mapping[str, Any] | None = None,
        payload: Any = None,
        on_success: type | None = None,
        on_failure: type | None = None,
        queue: str | None = None,
        countdown: float | None = None,
        priority: int | None = None,
        eta: dt.datetime | None = None,
    ) -> JobHandle:
        """Queue ``job_type``; inside a use case it is recorded in the use case's
        transaction and sent only after the commit (never after a rollback).

        ``queue``, ``countdown`` (seconds), ``priority`` and ``eta`` (an absolute
        time; naive means UTC) override the job's settings for this dispatch.
        """
        envelope = self.envelope(
            job_type,
            params=params,
            payload=payload,
            on_success=on_success,
            on_failure=on_failure,
            queue=queue,
            countdown=countdown,
            priority=priority,
            eta=eta,
        )
        handle = self._handle(envelope)
        self._send_after_commit([envelope])
        return handle

    def _send_after_commit(
        self, envelopes: list[JobEnvelope], group: JobEnvelope | None = None
    ) -> None:
        """Record ``envelopes`` (and their ``group``) in the current transaction and
        hand them to the backend once it commits; outside one, both at once, now."""
        backend = self.backend
        store = self.store
        uow = current_unit_of_work()
        if uow is not None:
            if group is not None:
                uow.before_commit(lambda: _add_group(store, group))
            for envelope in envelopes:
                uow.before_commit(lambda e=envelope: store.add(e))  # type: ignore[misc]
                uow.after_commit(lambda e=envelope: backend.submit(e))  # type: ignore[misc]
        else:
            self._host.spawn(self._record_and_submit(envelopes, group))
        metrics = self._host.metrics
        if metrics is not None:
            for envelope in envelopes:
                metrics.job_event(envelope.job, envelope.queue, "dispatched")

    def _handle(self, envelope: JobEnvelope) -> JobHandle:
        waiter: JobResultWaiter | None = getattr(self.backend, "result_waiter", None)
        return JobHandle(
            envelope.job_id,
            envelope.queue,
            dt.datetime.now(dt.UTC),
            future=None if waiter is not None else track_job(envelope.job_id),
            waiter=waiter,
        )

    def dispatch_parallel(
        self,
        jobs: Sequence[tuple[type, Mapping[str, Any] | None]],
        *,
        on_all_success: type | None = None,
        on_any_failure: type | None = None,
    ) -> JobGroup:
        """Dispatch each ``(job_type, payload)`` and return their :class:`JobGroup`.

        With group callbacks, the group gets a record of its own (``group.group_id``,
        also readable at ``GET /jobs/{group_id}``), written in the same transaction as
        its members. When the last member succeeds, ``on_all_success.on_success(
        group_id, results, job_ids=[...])`` runs, once, with the results in dispatch
        order; when a member fails for good, ``on_any_failure.on_failure(group_id,
        exc_type, exc_msg, job_ids=[...], failed_job_id=...)`` runs, once. Whichever
        process finishes the deciding member runs it, so this holds on every backend.
        """
        members = [self.envelope(job_type, payload=payload) for job_type, payload in jobs]
        group: JobEnvelope | None = None
        if on_all_success is not None or on_any_failure is not None:
            for callback in (on_all_success, on_any_failure):
                if callback is not None:
                    self._host.register_callback(callback)
            group_id = uuid.uuid4().hex
            for member in members:
                member.headers = {**member.headers, GROUP_HEADER: group_id}
            group = JobEnvelope(
                job_id=group_id,
                job=GROUP_JOB,
                queue=GROUP_JOB,
                params={"job_ids": [m.job_id for m in members]},
                on_success=callback_name(on_all_success) if on_all_success else None,
                on_failure=callback_name(on_any_failure) if on_any_failure else None,
                trace_id=members[0].trace_id if members else None,
            )
        result = JobGroup([self._handle(m) for m in members])
        result.group_id = group.job_id if group is not None else None
        self._send_after_commit(members, group)
        return result

    async def _record_and_submit(
        self, envelopes: list[JobEnvelope], group: JobEnvelope | None = None
    ) -> None:
        async with self._host.unit_of_work():
            if group is not None:
                await _add_group(self.store, group)
            for envelope in envelopes:
                await self.store.add(envelope)
        for envelope in envelopes:
            await self.backend.submit(envelope)

    async def run(
        self,
        job_type: type,
        *,
        params: Mapping[str, Any] | None = None,
        payload: Any = None,
    ) -> Any:
        """Run ``job_type`` now, in this process (inside the caller's transaction), and
        return its result. No record, no retries, no callbacks: a plain call."""
        return await self._host.execute(job_type, params=params, payload=payload)

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


class JobServiceHost(JobHost, Protocol):
    """A :class:`JobHost` that has a job service already: :class:`InlineJobService`
    shares that service's job records (``Runtime`` is one)."""

    @property
    def job_service(self) -> JobService: ...


class InlineJobService(JobService):
    """Runs each dispatched job in this process right after the dispatching commit,
    then its callback, before the request that dispatched it returns.

    ``factory`` is the :class:`~loom.core.runtime.Runtime`, or any
    :class:`JobServiceHost` (it builds jobs and callbacks through DI); ``executor``
    optionally replaces it for running the jobs' plans (any
    :class:`~loom.core.job.host.JobExecutor`). A job's error goes to its
    ``on_failure`` callback and its handle, never to the dispatcher; retries follow
    ``__retries__``. A job with a countdown or an eta runs in the background when due,
    so the request is not held for it. Records are kept as on every backend
    (``GET /jobs/{id}``, ``status``).
    """

    def __init__(self, factory: JobServiceHost, executor: JobExecutor | None = None) -> None:
        from loom.core.job.backends.inline import InlineBackend
        from loom.core.job.store import MemoryJobStore

        # Share the application's job records (the SQL store) when it has them.
        current = getattr(factory.job_service, "_backend", None)
        store: JobStore | None = getattr(current, "store", None)
        super().__init__(factory, InlineBackend(factory, store or MemoryJobStore(), executor))
