"""Spans: captured through the OTel SDK when a provider exists, no-op otherwise."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from loom.core.observability.context import (
    capture_trace_headers,
    restore_trace_headers,
    trace_scope,
)
from loom.core.observability.tracing import (
    NOOP_SPAN,
    job_span,
    refresh_tracing,
    repository_span,
    reset_tracing,
    span,
    tracing_enabled,
    use_case_span,
)


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exp = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exp))
    assert refresh_tracing(provider) is True
    yield exp
    reset_tracing()


def test_no_provider_means_shared_noop() -> None:
    assert refresh_tracing(trace.NoOpTracerProvider()) is False
    assert not tracing_enabled()
    with span("x", "server", a=1) as s:
        s.set_attribute("k", "v")
        s.update_name("y")
        s.record_exception(ValueError())
        assert s is NOOP_SPAN and not s.is_recording()
    assert use_case_span("U") is NOOP_SPAN
    assert repository_span("users", "get") is NOOP_SPAN
    assert job_span("J") is NOOP_SPAN
    reset_tracing()


def test_default_proxy_provider_is_not_a_real_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: trace.ProxyTracerProvider())
    assert refresh_tracing() is False
    sdk = TracerProvider()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: sdk)
    assert refresh_tracing() is True
    reset_tracing()


def test_spans_have_kinds_attributes_and_the_trace_id(exporter: InMemorySpanExporter) -> None:
    with trace_scope("req-9"):
        with use_case_span("CreateUser"), repository_span("users", "create", None):
            pass
        with job_span("SendEmail", "emails", "j1"):
            pass
    repo, uc, job = exporter.get_finished_spans()
    assert uc.name == "use_case CreateUser" and uc.kind is trace.SpanKind.INTERNAL
    assert uc.attributes["loom.trace_id"] == "req-9"
    assert repo.kind is trace.SpanKind.CLIENT and repo.parent.span_id == uc.context.span_id
    assert repo.attributes["db.operation.name"] == "create"
    assert "db.query.text" not in repo.attributes  # None attributes are dropped
    assert job.kind is trace.SpanKind.CONSUMER
    assert job.attributes["messaging.destination.name"] == "emails"


def test_exceptions_mark_the_span(exporter: InMemorySpanExporter) -> None:
    with pytest.raises(ValueError), span("boom", weird=object()):
        raise ValueError("no")
    (s,) = exporter.get_finished_spans()
    assert s.status.status_code is trace.StatusCode.ERROR
    assert s.events[0].name == "exception"
    assert isinstance(s.attributes["weird"], str)


def test_job_joins_the_dispatching_trace(exporter: InMemorySpanExporter) -> None:
    with trace_scope("req-5"), span("POST /orders", "server") as request:
        headers = capture_trace_headers()
        request_trace = request.get_span_context().trace_id
    assert headers["trace_id"] == "req-5" and "traceparent" in headers
    with restore_trace_headers(headers), job_span("Ship", "default", "j9"):
        pass
    job = exporter.get_finished_spans()[-1]
    assert job.context.trace_id == request_trace
    assert job.attributes["loom.trace_id"] == "req-5"
    assert trace.get_current_span() is trace.INVALID_SPAN  # context detached again
