"""What travels between a dispatch and the process that runs the job.

This module imports nothing else of Loom, so the service, the store, the runner and
every backend can share these types without importing each other.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

import msgspec

__all__ = [
    "GROUP_HEADER",
    "GROUP_JOB",
    "JobBackend",
    "JobEnvelope",
    "callback_name",
    "qualified_name",
]

#: The ``job`` name of a group's own record (never a class name: it has a dot).
GROUP_JOB = "loom.group"
#: The header that ties a member job to its group's record.
GROUP_HEADER = "loom-group"


class JobEnvelope(msgspec.Struct, kw_only=True):
    """Everything a backend needs to run a job somewhere else, JSON-serialisable.

    ``eta`` is the absolute time before which the job must not start (``None``: as
    soon as possible after ``countdown`` seconds). It is absolute so a job relayed
    late (broker down at dispatch) still starts when it was asked to, not later.
    """

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
    eta: dt.datetime | None = None
    trace_id: str | None = None
    headers: dict[str, str] = {}

    def delay(self, now: dt.datetime | None = None) -> float:
        """Seconds to wait before the first attempt, counted from ``now``."""
        if self.eta is None:
            return float(self.countdown or 0)
        now = now or dt.datetime.now(dt.UTC)
        return max((self.eta - now).total_seconds(), 0.0)


class JobBackend(Protocol):
    async def submit(self, envelope: JobEnvelope) -> None: ...


def qualified_name(cls: type) -> str:
    """The name a job is registered (and routed to a Celery task) under."""
    return cls.__qualname__


def callback_name(cls: type) -> str:
    """``module:qualname``, so a worker that did not discover the class can import it."""
    return f"{cls.__module__}:{cls.__qualname__}"
