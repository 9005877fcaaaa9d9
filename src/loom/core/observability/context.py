"""Request/job trace id carried in a contextvar.

A contextvar (not a thread-local) follows the request through ``await`` points and
into tasks created from it, so every log line, problem document and span emitted
while serving one request can name the same id without passing it around. Jobs run
later, elsewhere, so the id is also copied into the job's headers at dispatch and
re-bound when the job (and its callbacks) run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import Token
from random import getrandbits as _getrandbits
from typing import Any

from loom.core.observability._trace_id import TRACE_ID, current_trace_id

__all__ = [
    "TRACE_ID_HEADER",
    "bind_trace_id",
    "capture_trace_headers",
    "current_trace_id",
    "is_valid_trace_id",
    "new_trace_id",
    "reset_trace_id",
    "restore_trace_headers",
    "trace_scope",
]

#: Key under which the trace id travels in a job's headers dict.
TRACE_ID_HEADER = "trace_id"

_TRACE_ID = TRACE_ID

# Client-supplied ids end up in logs and response headers: restrict them to a
# short, header- and log-safe alphabet so they cannot inject lines or bloat storage.
_VALID_TRACE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def bind_trace_id(value: str | None) -> Token[str | None]:
    """Bind ``value`` as the current trace id; pass the token to :func:`reset_trace_id`."""
    return _TRACE_ID.set(value)


def reset_trace_id(token: Token[str | None]) -> None:
    """Restore the trace id that was current before the matching :func:`bind_trace_id`."""
    _TRACE_ID.reset(token)


def new_trace_id() -> str:
    """A fresh random id: 32 hex chars, the W3C trace-id shape, cheap to make.

    Drawn from ``random`` (as OpenTelemetry's SDK draws its ids), not ``os.urandom``:
    an id correlates logs, it guards nothing, and a ``getrandom`` system call per
    request was a tenth of a light request's CPU. The module's generator is seeded
    from the OS and reseeded in forked children, so workers do not repeat ids.
    """
    return _getrandbits(128).to_bytes(16, "big").hex()  # half the time of a 032x format


def is_valid_trace_id(value: object) -> bool:
    """Whether ``value`` may be adopted as a trace id (1-128 chars of ``[A-Za-z0-9._-]``)."""
    return isinstance(value, str) and _VALID_TRACE_ID.fullmatch(value) is not None


@contextmanager
def trace_scope(value: str | None = None) -> Iterator[str]:
    """Bind ``value`` (or a new id when it is missing or invalid) for the ``with`` block."""
    trace_id = value if value is not None and is_valid_trace_id(value) else new_trace_id()
    token = _TRACE_ID.set(trace_id)
    try:
        yield trace_id
    finally:
        _TRACE_ID.reset(token)


def capture_trace_headers() -> dict[str, str]:
    """Headers to attach to a job at dispatch so it runs under the caller's trace.

    Holds the Loom trace id and, when an OpenTelemetry SDK is active, the W3C
    ``traceparent``/``tracestate`` of the current span, so the job's span joins the
    request's trace. Plain ``str`` values only: the dict crosses the broker.
    """
    headers: dict[str, str] = {}
    trace_id = _TRACE_ID.get()
    if trace_id is not None:
        headers[TRACE_ID_HEADER] = trace_id
    # Imported here: most callers never need OTel.
    from loom.core.observability.tracing import inject_trace_context

    inject_trace_context(headers)
    return headers


@contextmanager
def restore_trace_headers(headers: Mapping[str, Any] | None) -> Iterator[str]:
    """Re-bind the trace id captured by :func:`capture_trace_headers` for a job run.

    A job dispatched outside any request (a beat schedule, a script) gets a fresh
    id, so its log lines still correlate with each other and with its callbacks.
    When the headers carry a ``traceparent`` and tracing is on, spans opened in the
    block (e.g. :func:`~loom.core.observability.tracing.job_span`) join that trace.
    """
    from loom.core.observability.tracing import attach_trace_context, detach_trace_context

    value = headers.get(TRACE_ID_HEADER) if headers else None
    otel_token = attach_trace_context(headers)
    try:
        with trace_scope(value if isinstance(value, str) else None) as trace_id:
            yield trace_id
    finally:
        detach_trace_context(otel_token)
