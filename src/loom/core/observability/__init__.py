"""Trace ids, structured logs, metrics and spans shared by every Loom adapter.

Framework-free on purpose (no FastAPI, Starlette, Celery or SQLAlchemy imports):
the REST adapter, the job runner and the repositories all record through it.
"""

from loom.core.observability.context import (
    bind_trace_id,
    capture_trace_headers,
    current_trace_id,
    is_valid_trace_id,
    new_trace_id,
    reset_trace_id,
    restore_trace_headers,
    trace_scope,
)
from loom.core.observability.logging import configure_logging, get_logger
from loom.core.observability.metrics import Metrics, set_pool_stats_provider
from loom.core.observability.tracing import (
    job_span,
    refresh_tracing,
    repository_span,
    span,
    tracing_enabled,
    use_case_span,
)

__all__ = [
    "Metrics",
    "bind_trace_id",
    "capture_trace_headers",
    "configure_logging",
    "current_trace_id",
    "get_logger",
    "is_valid_trace_id",
    "job_span",
    "new_trace_id",
    "refresh_tracing",
    "repository_span",
    "reset_trace_id",
    "restore_trace_headers",
    "set_pool_stats_provider",
    "span",
    "trace_scope",
    "tracing_enabled",
    "use_case_span",
]
