"""With an OpenTelemetry SDK configured, one request gives nested spans: the HTTP
request, the use case, and each repository statement."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from loom.core.observability.tracing import refresh_tracing, reset_tracing
from loom.rest.fastapi.auto import create_app

MODELS = """
from loom.core.model import BaseModel, ColumnField
from loom.rest.model import RestInterface


class SpanGadget(BaseModel):
    __tablename__ = "span_gadgets"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=40)


class SpanGadgetInterface(RestInterface[SpanGadget]):
    prefix = "/gadgets"
    auto = True
"""


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exp = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exp))
    refresh_tracing(provider)
    yield exp
    reset_tracing()


def test_request_use_case_and_statement_spans_nest(
    tmp_path: Path, exporter: InMemorySpanExporter
) -> None:
    pkg = tmp_path / "src" / "span_probe_app"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "models.py").write_text(MODELS)
    config = tmp_path / "api.yaml"
    config.write_text(
        f"""
app:
  name: span_probe
  code_path: src
  discovery: {{mode: modules, modules: {{include: [span_probe_app.models]}}}}
database:
  url: sqlite+aiosqlite:///{tmp_path}/spans.db
logger:
  level: WARNING
"""
    )
    with TestClient(create_app(str(config))) as client:
        created = client.post("/gadgets", json={"name": "lamp"})
        assert created.status_code == 201
        exporter.clear()
        response = client.get(f"/gadgets/{created.json()['id']}")
    assert response.status_code == 200
    spans = {s.name: s for s in exporter.get_finished_spans()}
    statement = spans["read span_gadgets"]
    use_case = spans["use_case auto.GetSpanGadget"]
    server = next(s for s in spans.values() if s.kind.name == "SERVER")
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/gadgets/{id}"  # the template, not the path
    assert server.attributes["http.response.status_code"] == 200
    assert statement.parent is not None and statement.parent.span_id == use_case.context.span_id
    assert use_case.parent is not None and use_case.parent.span_id == server.context.span_id
    assert len({s.context.trace_id for s in spans.values()}) == 1
