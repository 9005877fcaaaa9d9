"""``JobCapture``: a job backend that records what was dispatched instead of sending it.

It sits at the one seam every dispatch goes through, ``JobService.backend.submit``,
so a test sees exactly what production would have sent: the job, its params and
payload, the queue (after ``jobs.<Name>.queue`` overrides), the callbacks, and only
the jobs whose unit of work committed (a use case that fails dispatches nothing).
Captured jobs can then be released to the backend that was there before, to run
them for real in-process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loom.core.job.envelope import JobEnvelope

__all__ = ["CapturedJob", "JobCapture"]

_ANY: Any = object()


def _name(job: type | str) -> str:
    return job if isinstance(job, str) else job.__qualname__


def _callback_matches(recorded: str | None, expected: type | str | None) -> bool:
    if expected is None:
        return recorded is None
    if isinstance(expected, str):
        return recorded == expected
    # Recorded as "module:Qualname" (or plain "Qualname" on older envelopes).
    return recorded is not None and recorded.rpartition(":")[2] == expected.__qualname__


class CapturedJob:
    """One dispatched job, as the backend received it."""

    def __init__(self, envelope: JobEnvelope) -> None:
        self.envelope = envelope

    @property
    def job_id(self) -> str:
        return self.envelope.job_id

    @property
    def job(self) -> str:
        """The job's class name (``SendRestockEmailJob``)."""
        return self.envelope.job

    @property
    def queue(self) -> str:
        return self.envelope.queue

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.envelope.params)

    @property
    def payload(self) -> Any:
        return self.envelope.payload

    @property
    def countdown(self) -> float:
        return self.envelope.countdown

    @property
    def eta(self) -> Any:
        """The absolute start time asked with ``dispatch(eta=)`` (aware, UTC), or ``None``."""
        return self.envelope.eta

    @property
    def priority(self) -> int | None:
        return self.envelope.priority

    @property
    def on_success(self) -> str | None:
        return self.envelope.on_success

    @property
    def on_failure(self) -> str | None:
        return self.envelope.on_failure

    def matches(
        self,
        job: type | str,
        *,
        params: Mapping[str, Any] | None = _ANY,
        payload: Any = _ANY,
        queue: str | None = _ANY,
        on_success: type | str | None = _ANY,
        on_failure: type | str | None = _ANY,
    ) -> bool:
        """Whether this is ``job`` with the given values (left out: anything goes)."""
        return (
            self.job == _name(job)
            and (params is _ANY or self.params == dict(params or {}))
            and (payload is _ANY or self.payload == payload)
            and (queue is _ANY or self.queue == queue)
            and (on_success is _ANY or _callback_matches(self.on_success, on_success))
            and (on_failure is _ANY or _callback_matches(self.on_failure, on_failure))
        )

    def __repr__(self) -> str:
        return f"<{self.job} queue={self.queue!r} params={self.params!r} payload={self.payload!r}>"


class JobCapture:
    """A :class:`~loom.core.job.service.JobBackend` that keeps every envelope.

    Install it with ``runtime.job_service.backend = JobCapture(runtime.job_service.backend)``
    (the harnesses do this for you). ``inner`` is the backend that :meth:`release` hands
    captured jobs to, and whose job records (``store``) the service keeps using.
    """

    def __init__(self, inner: Any = None) -> None:
        self.inner = inner
        self.jobs: list[CapturedJob] = []
        self._released = 0

    @property
    def store(self) -> Any:
        """The inner backend's job records, so ``JobService.status`` keeps working."""
        return getattr(self.inner, "store", None)

    @property
    def result_waiter(self) -> Any:
        """The inner backend's, so handles of captured jobs wait the way it makes them."""
        return getattr(self.inner, "result_waiter", None)

    async def submit(self, envelope: JobEnvelope) -> None:
        self.jobs.append(CapturedJob(envelope))

    # -- queries -----------------------------------------------------------------------

    def of(self, job: type | str) -> list[CapturedJob]:
        """The captured dispatches of ``job``, oldest first."""
        return [c for c in self.jobs if c.job == _name(job)]

    def __len__(self) -> int:
        return len(self.jobs)

    def __iter__(self) -> Any:
        return iter(self.jobs)

    def clear(self) -> None:
        self.jobs.clear()
        self._released = 0

    def assert_dispatched(
        self,
        job: type | str,
        *,
        times: int | None = None,
        params: Mapping[str, Any] | None = _ANY,
        payload: Any = _ANY,
        queue: str | None = _ANY,
        on_success: type | str | None = _ANY,
        on_failure: type | str | None = _ANY,
    ) -> CapturedJob:
        """Fail unless ``job`` was dispatched with these values; returns the last match.

        ``times`` also checks how many matching dispatches there were.
        """
        found = [
            c
            for c in self.jobs
            if c.matches(
                job,
                params=params,
                payload=payload,
                queue=queue,
                on_success=on_success,
                on_failure=on_failure,
            )
        ]
        if not found or (times is not None and len(found) != times):
            wanted = "" if times is None else f" {times} time(s)"
            raise AssertionError(
                f"expected {_name(job)} dispatched{wanted} with the given values; "
                f"{len(found)} match(es). Captured: {self.jobs!r}"
            )
        return found[-1]

    def assert_nothing_dispatched(self) -> None:
        if self.jobs:
            raise AssertionError(f"expected no dispatched job, captured {self.jobs!r}")

    # -- running ------------------------------------------------------------------------

    async def release(self) -> list[CapturedJob]:
        """Hand the jobs captured since the last release to the inner backend.

        With the in-process backend they then run (with their retries and callbacks)
        as they would in production; ``await job_service.wait(job_id)`` waits for one.
        """
        if self.inner is None:
            raise RuntimeError("this JobCapture has no backend to release jobs to")
        pending = self.jobs[self._released :]
        self._released = len(self.jobs)
        for captured in pending:
            await self.inner.submit(captured.envelope)
        return pending
