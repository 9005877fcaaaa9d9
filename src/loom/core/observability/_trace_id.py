"""The contextvar holding the running request's or job's trace id.

A leaf module: ``context`` (binding, job headers) and ``tracing`` (spans) both read
it, and ``context`` calls into ``tracing`` to carry an OpenTelemetry context into
jobs, so the variable lives below both of them.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["TRACE_ID", "current_trace_id"]

TRACE_ID: ContextVar[str | None] = ContextVar("loom_trace_id", default=None)


def current_trace_id() -> str | None:
    """The trace id bound to the running request or job, if any."""
    return TRACE_ID.get()
