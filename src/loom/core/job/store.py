"""Job records: the durable outbox and status of every dispatched job.

A dispatch writes one record in the dispatching transaction (so a rolled-back use
case leaves none, and a committed one cannot lose its job); backends then move it
through ``pending -> running -> succeeded | failed``. The record is also what
``GET /jobs/{job_id}`` shows. :class:`MemoryJobStore` serves applications without a
database (the in-memory test harness); the SQLAlchemy store lives with the
SQLAlchemy adapter (``loom.core.repository.sqlalchemy._jobs``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal, Protocol

import msgspec

from loom.core.job.envelope import JobEnvelope

__all__ = [
    "FINISHED",
    "JobRecord",
    "JobState",
    "JobStore",
    "MemoryJobStore",
    "error_summary",
    "jsonable",
    "utcnow",
]

JobState = Literal["pending", "running", "succeeded", "failed"]
FINISHED = ("succeeded", "failed")
MAX_ERROR_LENGTH = 2000


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data; anything msgspec cannot encode becomes its ``repr``.

    A job result is stored and shown to clients, so it must never break the write.
    """
    try:
        return msgspec.to_builtins(value)
    except (TypeError, msgspec.EncodeError):
        return repr(value)


def error_summary(exc: BaseException) -> tuple[str, str]:
    """``(type name, message)`` of a failure, bounded in size; no traceback.

    Only the message the job raised is kept: the summary is returned by the status
    endpoint, so it must not grow without bound or carry stack frames.
    """
    message = str(exc) or type(exc).__name__
    return type(exc).__name__, message[:MAX_ERROR_LENGTH]


class JobRecord(msgspec.Struct, kw_only=True):
    """One row of ``loom_jobs``: the envelope plus where the job stands."""

    id: str
    job: str
    queue: str
    state: JobState = "pending"
    attempts: int = 0
    max_attempts: int = 1
    params: dict[str, Any] = {}
    payload: Any = None
    on_success: str | None = None
    on_failure: str | None = None
    countdown: float = 0
    timeout: float | None = None
    priority: int | None = None
    headers: dict[str, str] = {}
    result: Any = None
    error_type: str | None = None
    error: str | None = None
    trace_id: str | None = None
    enqueued: bool = False
    created_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    available_at: dt.datetime | None = None

    @classmethod
    def from_envelope(cls, envelope: JobEnvelope, *, now: dt.datetime | None = None) -> JobRecord:
        now = now or utcnow()
        return cls(
            id=envelope.job_id,
            job=envelope.job,
            queue=envelope.queue,
            max_attempts=envelope.retries + 1,
            params=dict(envelope.params),
            payload=envelope.payload,
            on_success=envelope.on_success,
            on_failure=envelope.on_failure,
            countdown=envelope.countdown,
            timeout=envelope.timeout,
            priority=envelope.priority,
            headers=dict(envelope.headers),
            trace_id=envelope.trace_id,
            created_at=now,
            available_at=now + dt.timedelta(seconds=envelope.delay(now)),
        )

    def envelope(self) -> JobEnvelope:
        return JobEnvelope(
            job_id=self.id,
            job=self.job,
            queue=self.queue,
            params=dict(self.params),
            payload=self.payload,
            on_success=self.on_success,
            on_failure=self.on_failure,
            retries=max(self.max_attempts - 1, 0),
            countdown=self.countdown,
            timeout=self.timeout,
            priority=self.priority,
            eta=self._first_start(),
            trace_id=self.trace_id,
            headers=dict(self.headers),
        )

    def _first_start(self) -> dt.datetime | None:
        """When a never-started job was asked to start, so a late relay keeps the time."""
        if self.attempts or self.available_at is None or self.created_at is None:
            return None
        return self.available_at if self.available_at > self.created_at else None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


class JobStore(Protocol):
    """Where job records live. Writes join the caller's unit of work when there is one."""

    async def add(self, envelope: JobEnvelope) -> None:
        """Insert the pending record (inside the dispatching transaction)."""
        ...

    async def get(self, job_id: str) -> JobRecord | None: ...

    async def claim(self, job_id: str, *, allow_running: bool = False) -> JobRecord | None:
        """Start an attempt: ``pending`` (or, when recovering, ``running``) becomes
        ``running`` with ``attempts + 1``. ``None`` when the job is finished, unknown
        or (without ``allow_running``) already being run by someone else."""
        ...

    async def retry_later(
        self, job_id: str, error: tuple[str, str], available_at: dt.datetime
    ) -> None: ...

    async def finish(
        self,
        job_id: str,
        state: JobState,
        *,
        result: Any = None,
        error: tuple[str, str] | None = None,
    ) -> None: ...

    async def mark_enqueued(self, job_id: str) -> None: ...

    async def unenqueued(self, *, created_before: dt.datetime, limit: int = 100) -> list[JobRecord]:
        """Pending records not yet handed to a broker (the relay's work list)."""
        ...

    async def unfinished(self, *, limit: int = 1000) -> list[JobRecord]:
        """``pending`` and ``running`` records, oldest first (crash recovery)."""
        ...


class MemoryJobStore:
    """A dict of records; for runtimes without a database. Not durable, by nature."""

    def __init__(self) -> None:
        self.records: dict[str, JobRecord] = {}

    async def add(self, envelope: JobEnvelope) -> None:
        self.records.setdefault(envelope.job_id, JobRecord.from_envelope(envelope))

    async def get(self, job_id: str) -> JobRecord | None:
        record = self.records.get(job_id)
        return msgspec.structs.replace(record) if record is not None else None

    async def claim(self, job_id: str, *, allow_running: bool = False) -> JobRecord | None:
        record = self.records.get(job_id)
        allowed = ("pending", "running") if allow_running else ("pending",)
        if record is None or record.state not in allowed:
            return None
        record.state = "running"
        record.attempts += 1
        record.started_at = utcnow()
        return msgspec.structs.replace(record)

    async def retry_later(
        self, job_id: str, error: tuple[str, str], available_at: dt.datetime
    ) -> None:
        record = self.records.get(job_id)
        if record is not None:
            record.state = "pending"
            record.error_type, record.error = error
            record.available_at = available_at

    async def finish(
        self,
        job_id: str,
        state: JobState,
        *,
        result: Any = None,
        error: tuple[str, str] | None = None,
    ) -> None:
        record = self.records.get(job_id)
        if record is None:
            return
        record.state = state
        record.result = jsonable(result)
        if error is not None:
            record.error_type, record.error = error
        elif state == "succeeded":
            record.error_type = record.error = None
        record.finished_at = utcnow()

    async def mark_enqueued(self, job_id: str) -> None:
        record = self.records.get(job_id)
        if record is not None:
            record.enqueued = True

    async def unenqueued(self, *, created_before: dt.datetime, limit: int = 100) -> list[JobRecord]:
        found = [
            r
            for r in self.records.values()
            if not r.enqueued
            and r.state == "pending"
            and r.created_at is not None
            and r.created_at <= created_before
        ]
        return _oldest(found)[:limit]

    async def unfinished(self, *, limit: int = 1000) -> list[JobRecord]:
        found = [r for r in self.records.values() if r.state in ("pending", "running")]
        return _oldest(found)[:limit]


def _oldest(records: Sequence[JobRecord]) -> list[JobRecord]:
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(records, key=lambda r: r.created_at or epoch)
