"""``JobService``: dispatch jobs to the configured backend, or run them inline."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from loom.core.uow import current_unit_of_work

if TYPE_CHECKING:
    from loom.core.runtime import Runtime

__all__ = ["JobBackend", "JobEnvelope", "JobHandle", "JobService"]


class JobHandle(msgspec.Struct, frozen=True, kw_only=True):
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


class JobBackend(Protocol):
    async def submit(self, envelope: JobEnvelope) -> None: ...


def qualified_name(cls: type) -> str:
    return cls.__qualname__


class JobService:
    """Injected into use cases and callbacks that start background work."""

    def __init__(self, runtime: Runtime, backend: JobBackend) -> None:
        self._runtime = runtime
        self.backend = backend

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
        if isinstance(payload, msgspec.Struct):
            payload = msgspec.to_builtins(payload)
        from loom.core.observability.context import current_trace_id

        return JobEnvelope(
            job_id=uuid.uuid4().hex,
            job=qualified_name(job),
            queue=queue or settings["queue"],
            params=msgspec.to_builtins(dict(params or {})),
            payload=msgspec.to_builtins(payload),
            on_success=qualified_name(on_success) if on_success else None,
            on_failure=qualified_name(on_failure) if on_failure else None,
            retries=settings["retries"],
            countdown=settings["countdown"],
            timeout=settings["timeout"],
            priority=settings["priority"],
            trace_id=current_trace_id(),
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
        """Queue ``job``; inside a use case it is sent only after the commit."""
        envelope = self.envelope(
            job,
            params=params,
            payload=payload,
            on_success=on_success,
            on_failure=on_failure,
            queue=queue,
        )
        uow = current_unit_of_work()
        if uow is not None:
            uow.after_commit(lambda: self.backend.submit(envelope))
        else:
            self._runtime.spawn(self.backend.submit(envelope))
        return JobHandle(job_id=envelope.job_id, queue=envelope.queue)

    async def run(
        self, job: type, *, params: Mapping[str, Any] | None = None, payload: Any = None
    ) -> Any:
        """Run ``job`` now, in this process, and return its result."""
        return await self._runtime.execute(job, params=params, payload=payload)
