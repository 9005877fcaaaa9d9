"""OpenTelemetry spans that cost next to nothing when nobody collects them.

Loom only talks to the ``opentelemetry.trace`` API, never to an SDK: the application
(or its deployment's auto-instrumentation) decides whether spans are exported. Most
processes have no SDK provider at all, so whether one is configured is detected once
and cached; :func:`span` then hands back a shared no-op object, with no allocation of
OTel spans or attribute dicts on the hot path. Tests and late-configured apps call
:func:`refresh_tracing` after installing a provider.

Span kinds used by Loom: the API request (``server``), a use case (``internal``), a
repository statement (``client``) and a job run (``consumer``).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from types import TracebackType
from typing import Any

from loom.core.observability._trace_id import current_trace_id

try:  # pragma: no branch - the API is an optional dependency
    from opentelemetry import context as _otel_context
    from opentelemetry import propagate as _otel_propagate
    from opentelemetry import trace as _otel_trace
except ImportError:  # pragma: no cover - exercised only without opentelemetry-api
    _otel_trace = None  # type: ignore[assignment]
    _otel_context = None  # type: ignore[assignment]
    _otel_propagate = None  # type: ignore[assignment]

__all__ = [
    "NOOP_SPAN",
    "attach_trace_context",
    "detach_trace_context",
    "inject_trace_context",
    "job_span",
    "refresh_tracing",
    "repository_span",
    "reset_tracing",
    "span",
    "tracing_enabled",
    "use_case_span",
]

TRACER_NAME = "loom"


class _NoopSpan:
    """Stands in for both the span context manager and the span when tracing is off.

    It carries the handful of ``Span`` methods Loom code calls, so callers can write
    ``with span(...) as s: s.set_attribute(...)`` without checking whether tracing is on.
    """

    __slots__ = ()

    def __enter__(self) -> _NoopSpan:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def set_attribute(self, key: str, value: Any) -> None:
        """Ignore the attribute."""

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        """Ignore the attributes."""

    def update_name(self, name: str) -> None:
        """Ignore the new name."""

    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None) -> None:
        """Ignore the event."""

    def record_exception(self, exception: BaseException, **kwargs: Any) -> None:
        """Ignore the exception."""

    def is_recording(self) -> bool:
        """A no-op span never records."""
        return False


#: The shared no-op span returned by :func:`span` while tracing is inactive.
NOOP_SPAN = _NoopSpan()

_KINDS: dict[str, Any] = {}
if _otel_trace is not None:
    _KINDS = {
        "internal": _otel_trace.SpanKind.INTERNAL,
        "server": _otel_trace.SpanKind.SERVER,
        "client": _otel_trace.SpanKind.CLIENT,
        "producer": _otel_trace.SpanKind.PRODUCER,
        "consumer": _otel_trace.SpanKind.CONSUMER,
    }


class _State:
    """The cached detection result: the tracer to use, or ``None`` when tracing is off."""

    __slots__ = ("checked", "tracer")

    def __init__(self) -> None:
        self.tracer: Any = None
        self.checked = False


_state = _State()


def _is_real_provider(provider: Any) -> bool:
    """A provider that records spans: anything but the API's proxy and no-op defaults."""
    if _otel_trace is None or provider is None:
        return False
    return not isinstance(
        provider, _otel_trace.ProxyTracerProvider | _otel_trace.NoOpTracerProvider
    )


def refresh_tracing(provider: Any = None) -> bool:
    """Re-detect whether spans are collected; returns the new state.

    ``provider`` pins an explicit SDK ``TracerProvider`` for Loom's spans (useful in
    tests, where the process-global provider can be set only once); without it the
    global provider is inspected.
    """
    if _otel_trace is None:
        _state.tracer = None
    else:
        chosen = provider if provider is not None else _otel_trace.get_tracer_provider()
        _state.tracer = chosen.get_tracer(TRACER_NAME) if _is_real_provider(chosen) else None
    _state.checked = True
    return _state.tracer is not None


def reset_tracing() -> None:
    """Forget the detection result (and any pinned provider); the next span re-detects."""
    _state.tracer = None
    _state.checked = False


def tracing_enabled() -> bool:
    """Whether spans are being collected (detected on first use, then cached)."""
    if not _state.checked:
        refresh_tracing()
    return _state.tracer is not None


def _clean(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """OTel rejects ``None`` and arbitrary objects as attribute values: drop or stringify."""
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if value is None:
            continue
        out[key] = value if isinstance(value, str | bool | int | float) else str(value)
    return out


def span(name: str, kind: str = "internal", **attributes: Any) -> Any:
    """A context manager opening a span ``name`` of ``kind``; a shared no-op when off.

    ``kind`` is one of ``internal``, ``server``, ``client``, ``producer``, ``consumer``.
    The current Loom trace id is attached as ``loom.trace_id`` so spans can be found
    from a log line or a problem document. Exceptions escaping the block are recorded
    on the span and mark it as an error (the OTel default).
    """
    if not _state.checked:
        refresh_tracing()
    tracer = _state.tracer
    if tracer is None:
        return NOOP_SPAN
    trace_id = current_trace_id()
    if trace_id is not None:
        attributes["loom.trace_id"] = trace_id
    return tracer.start_as_current_span(
        name, kind=_KINDS.get(kind, _KINDS["internal"]), attributes=_clean(attributes)
    )


def use_case_span(name: str) -> Any:
    """Span around one use-case execution (every request opens one: the no-op case
    returns before building the name and attributes)."""
    if _state.checked and _state.tracer is None:
        return NOOP_SPAN
    return span(f"use_case {name}", "internal", **{"loom.use_case": name})


def repository_span(model: str, operation: str, statement: str | None = None) -> Any:
    """Span around one repository statement (``operation`` is e.g. ``get``, ``list``).

    ``statement`` is optional: pass SQL text only when the deployment accepts it in
    its trace backend; it never reaches HTTP clients either way.
    """
    return span(
        f"{operation} {model}",
        "client",
        **{
            "db.operation.name": operation,
            "db.collection.name": model,
            "db.query.text": statement,
        },
    )


def job_span(name: str, queue: str | None = None, job_id: str | None = None) -> Any:
    """Span around one job run; open it inside :func:`restore_trace_headers`."""
    return span(
        f"job {name}",
        "consumer",
        **{"loom.job": name, "messaging.destination.name": queue, "messaging.message.id": job_id},
    )


def inject_trace_context(carrier: MutableMapping[str, str]) -> None:
    """Write the current span's W3C context (``traceparent``) into ``carrier``.

    Does nothing while tracing is off, so job headers stay minimal by default.
    """
    if _otel_propagate is not None and tracing_enabled():
        _otel_propagate.inject(carrier)


def attach_trace_context(carrier: Mapping[str, Any] | None) -> object | None:
    """Make the span context in ``carrier`` the parent of spans opened from now on.

    Returns a token for :func:`detach_trace_context`, or ``None`` when there is
    nothing to attach (tracing off, or no ``traceparent`` in the carrier).
    """
    if (
        _otel_propagate is None
        or _otel_context is None
        or not carrier
        or "traceparent" not in carrier
        or not tracing_enabled()
    ):
        return None
    parent = _otel_propagate.extract({k: v for k, v in carrier.items() if isinstance(v, str)})
    return _otel_context.attach(parent)


def detach_trace_context(token: object | None) -> None:
    """Undo :func:`attach_trace_context` (a ``None`` token is ignored)."""
    if token is not None and _otel_context is not None:
        _otel_context.detach(token)  # type: ignore[arg-type]
