"""REST observability: request ids, access logs, metrics, spans and health routes."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from omegaconf import OmegaConf
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route

from loom.core.observability.context import current_trace_id
from loom.core.observability.logging import configure_logging, get_logger, reset_logging
from loom.core.observability.metrics import Metrics
from loom.core.observability.tracing import refresh_tracing, reset_tracing
from loom.rest.asgi._observability import (
    ObservabilityMiddleware,
    health_ready,
    install_observability,
)


class RecordingLogger:
    """Stands in for the access logger: keeps (event, fields) per call."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.lines.append((event, fields))


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    reset_logging()


async def item(request: Request) -> Response:
    get_logger("app").info("loading item", item_id=request.path_params["item_id"])
    return JSONResponse({"id": request.path_params["item_id"], "trace": current_trace_id()})


async def thing(request: Request) -> Response:
    return JSONResponse({"id": request.path_params["thing_id"]})


async def boom(request: Request) -> Response:
    raise RuntimeError("secret driver text")


async def echo_existing(request: Request) -> Response:
    return PlainTextResponse("x", headers={"x-request-id": "downstream"})


async def problem_500(request: Request, exc: Exception) -> Response:
    return JSONResponse({"trace_id": current_trace_id()}, status_code=500)


def make_app(config: Any = None, **kwargs: Any) -> tuple[Starlette, Metrics | None]:
    app = Starlette(
        routes=[
            Route("/items/{item_id}", item),
            Route("/boom", boom),
            Route("/dup", echo_existing),
            Mount("/api", routes=[Route("/things/{thing_id}", thing)]),
        ],
        exception_handlers={Exception: problem_500},
    )
    return app, install_observability(app, config or {}, **kwargs)


def client(app: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def samples(metrics: Metrics, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    body, _ = metrics.render()
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
        if s.name == name
    }


# -- request id ----------------------------------------------------------------------------


async def test_generated_id_is_echoed_and_bound_for_the_handler() -> None:
    app, _ = make_app(logger=RecordingLogger())
    async with client(app) as c:
        r = await c.get("/items/1")
    rid = r.headers["x-request-id"]
    assert len(rid) == 32 and r.json()["trace"] == rid


async def test_given_id_is_echoed_and_invalid_one_replaced() -> None:
    app, _ = make_app(logger=RecordingLogger())
    async with client(app) as c:
        given = await c.get("/items/1", headers={"x-request-id": "client-abc.1_2"})
        invalid = await c.get("/items/1", headers={"x-request-id": "bad value;drop"})
        too_long = await c.get("/items/1", headers={"x-request-id": "a" * 129})
    assert given.headers["x-request-id"] == "client-abc.1_2" == given.json()["trace"]
    assert invalid.headers["x-request-id"] != "bad value;drop"
    assert len(invalid.headers["x-request-id"]) == 32
    assert len(too_long.headers["x-request-id"]) == 32


async def test_custom_header_is_read_and_both_names_echoed() -> None:
    app, _ = make_app({"trace": {"header": "X-Correlation-ID"}}, logger=RecordingLogger())
    async with client(app) as c:
        r = await c.get("/items/1", headers={"x-correlation-id": "corr-1"})
    assert r.headers["x-request-id"] == "corr-1" == r.headers["x-correlation-id"]


async def test_trace_disabled_still_echoes_ids() -> None:
    app, _ = make_app({"trace": {"enabled": False}}, logger=RecordingLogger())
    async with client(app) as c:
        given = await c.get("/items/1", headers={"x-request-id": "keep-me"})
        generated = await c.get("/items/2")
    assert given.headers["x-request-id"] == "keep-me"
    assert len(generated.headers["x-request-id"]) == 32


async def test_errors_404_and_500_carry_the_id() -> None:
    app, _ = make_app(logger=RecordingLogger())
    async with client(app) as c:
        missing = await c.get("/nope", headers={"x-request-id": "r404"})
        failed = await c.get("/boom", headers={"x-request-id": "r500"})
    assert missing.status_code == 404 and missing.headers["x-request-id"] == "r404"
    assert failed.status_code == 500 and failed.headers["x-request-id"] == "r500"
    assert failed.json() == {"trace_id": "r500"}  # the 500 handler still sees the id


async def test_downstream_header_is_replaced_not_duplicated() -> None:
    app, _ = make_app(logger=RecordingLogger())
    async with client(app) as c:
        r = await c.get("/dup", headers={"x-request-id": "mine"})
    assert r.headers.get_list("x-request-id") == ["mine"]


async def test_concurrent_requests_keep_their_own_ids() -> None:
    app, _ = make_app(logger=RecordingLogger())
    async with client(app) as c:
        rs = await asyncio.gather(
            *(c.get("/items/1", headers={"x-request-id": f"id-{i}"}) for i in range(20))
        )
    assert [r.json()["trace"] for r in rs] == [f"id-{i}" for i in range(20)]


# -- logs ------------------------------------------------------------------------------------


async def test_access_log_line_per_request() -> None:
    log = RecordingLogger()
    app, _ = make_app(logger=log)
    async with client(app) as c:
        await c.get("/items/5", headers={"x-request-id": "acc-1"})
        await c.get("/health/live")
    ((event, fields),) = log.lines  # probes are not access-logged
    assert event == "request"
    assert fields["method"] == "GET" and fields["path"] == "/items/5"
    assert fields["status"] == 200 and fields["trace_id"] == "acc-1"
    assert isinstance(fields["duration_ms"], float)


async def test_access_log_can_be_turned_off() -> None:
    log = RecordingLogger()
    app, _ = make_app({"logger": {"access_log": "false"}}, logger=log)
    async with client(app) as c:
        await c.get("/items/5")
    assert log.lines == []


async def test_trace_id_is_bound_in_rendered_log_lines() -> None:
    app = Starlette(routes=[Route("/items/{item_id}", item)])
    install_observability(app, {"logger": {"renderer": "json", "level": "INFO"}})
    out = io.StringIO()
    configure_logging({"renderer": "json", "level": "INFO"}, stream=out)
    async with client(app) as c:
        await c.get("/items/7", headers={"x-request-id": "log-7"})
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    handler_line = next(line for line in lines if line["event"] == "loading item")
    access_line = next(line for line in lines if line["event"] == "request")
    assert handler_line["trace_id"] == "log-7" == access_line["trace_id"]
    assert access_line["logger"] == "loom.access" and access_line["status"] == 200


# -- metrics ---------------------------------------------------------------------------------


async def test_metrics_by_route_template_and_status() -> None:
    app, metrics = make_app(logger=RecordingLogger())
    assert metrics is not None and app.state.loom_metrics is metrics
    async with client(app) as c:
        for i in range(3):
            await c.get(f"/items/{i}")
        await c.get("/api/things/9")
        await c.get("/nope/1")
        await c.get("/nope/2")
        await c.get("/boom")
    counts = samples(metrics, "loom_http_requests_total")
    assert counts[(("method", "GET"), ("route", "/items/{item_id}"), ("status", "200"))] == 3
    assert counts[(("method", "GET"), ("route", "/api/things/{thing_id}"), ("status", "200"))] == 1
    assert counts[(("method", "GET"), ("route", "unmatched"), ("status", "404"))] == 2
    assert counts[(("method", "GET"), ("route", "/boom"), ("status", "500"))] == 1
    assert not any("/items/1" in dict(k)["route"] for k in counts)
    latency = samples(metrics, "loom_http_request_duration_seconds_count")
    assert latency[(("method", "GET"), ("route", "/items/{item_id}"))] == 3


async def test_metrics_exposition_endpoint() -> None:
    app, _ = make_app({"metrics": {"path": "/internal/metrics"}}, logger=RecordingLogger())
    async with client(app) as c:
        await c.get("/items/1")
        r = await c.get("/internal/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert 'loom_http_requests_total{method="GET",route="/items/{item_id}",status="200"} 1.0' in (
        r.text
    )
    assert "x-request-id" in r.headers


async def test_metrics_disabled() -> None:
    config = OmegaConf.create({"metrics": {"enabled": False, "path": "/metrics"}})
    app, metrics = make_app(config, logger=RecordingLogger())
    assert metrics is None
    async with client(app) as c:
        r = await c.get("/metrics")
        ok = await c.get("/items/1")
    assert r.status_code == 404 and ok.status_code == 200
    assert "x-request-id" in ok.headers


def test_dictconfig_with_env_style_strings() -> None:
    config = OmegaConf.create({"trace": {"enabled": "false"}, "metrics": {"enabled": "true"}})
    _, metrics = make_app(config, logger=RecordingLogger())
    assert metrics is not None


# -- health ----------------------------------------------------------------------------------


async def test_liveness_and_readiness_ok() -> None:
    async def database() -> None:
        return None

    app, _ = make_app(readiness_checks={"database": database}, logger=RecordingLogger())
    async with client(app) as c:
        live = await c.get("/health/live")
        ready = await c.get("/health/ready")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok"}}


async def test_readiness_503_names_failing_parts() -> None:
    async def database() -> None:
        raise ConnectionError("password=hunter2 at db:5432")

    async def broker() -> None:
        await asyncio.sleep(5)

    async def cache() -> None:
        return None

    app = Starlette(
        routes=[
            Route(
                "/ready",
                health_ready(
                    {"database": database, "broker": broker, "cache": cache}, timeout=0.05
                ),
            )
        ]
    )
    wrapped = ObservabilityMiddleware(app, logger=RecordingLogger())
    async with client(wrapped) as c:
        r = await c.get("/ready", headers={"x-request-id": "rdy"})
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 503 and body["code"] == "service_unavailable"
    assert body["checks"] == {"database": "failed", "broker": "timeout", "cache": "ok"}
    assert "database" in body["detail"] and "broker" in body["detail"]
    assert "hunter2" not in r.text
    assert body["trace_id"] == "rdy"


# -- spans ------------------------------------------------------------------------------------


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exp = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exp))
    refresh_tracing(provider)
    yield exp
    reset_tracing()


async def test_server_span_named_by_route(exporter: InMemorySpanExporter) -> None:
    app, _ = make_app(logger=RecordingLogger())
    async with client(app) as c:
        await c.get("/items/3", headers={"x-request-id": "span-1"})
        await c.get("/boom")
    ok, failed = exporter.get_finished_spans()
    assert ok.name == "GET /items/{item_id}" and ok.kind is trace.SpanKind.SERVER
    assert ok.attributes["http.route"] == "/items/{item_id}"
    assert ok.attributes["http.response.status_code"] == 200
    assert ok.attributes["loom.trace_id"] == "span-1"
    assert failed.attributes["http.response.status_code"] == 500
    assert failed.status.status_code is trace.StatusCode.ERROR


async def test_no_spans_when_trace_disabled(exporter: InMemorySpanExporter) -> None:
    app, _ = make_app({"trace": {"enabled": False}}, logger=RecordingLogger())
    async with client(app) as c:
        r = await c.get("/items/3")
    assert r.headers["x-request-id"]
    assert exporter.get_finished_spans() == ()


# -- FastAPI ----------------------------------------------------------------------------------


async def test_fastapi_routes_and_http_exceptions() -> None:
    from fastapi import APIRouter, FastAPI, HTTPException

    api = FastAPI()
    router = APIRouter(prefix="/users")

    @router.get("/{user_id}")
    async def get_user(user_id: int) -> dict[str, int]:
        if user_id == 0:
            raise HTTPException(404)
        return {"id": user_id}

    api.include_router(router)
    metrics = install_observability(api, {}, logger=RecordingLogger())
    assert metrics is not None
    async with client(api) as c:
        ok = await c.get("/users/1", headers={"x-request-id": "fa-1"})
        missing = await c.get("/users/0")
        bad = await c.get("/users/x")
        schema = (await c.get("/openapi.json")).json()
    assert ok.headers["x-request-id"] == "fa-1"
    assert missing.status_code == 404 and "x-request-id" in missing.headers
    assert bad.status_code == 422 and "x-request-id" in bad.headers
    counts = samples(metrics, "loom_http_requests_total")
    for status in ("200", "404", "422"):
        assert counts[(("method", "GET"), ("route", "/users/{user_id}"), ("status", status))] == 1
    assert "/health/live" not in schema["paths"] and "/metrics" not in schema["paths"]


def test_install_after_start_is_refused() -> None:
    app = Starlette()
    app.middleware_stack = app.build_middleware_stack()
    with pytest.raises(RuntimeError):
        install_observability(app, {})


async def test_websocket_gets_a_trace_id_and_lifespan_passes_through() -> None:
    seen: list[tuple[str, str | None]] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append((scope["type"], current_trace_id()))

    async def receive() -> dict[str, Any]:
        return {}

    async def send(message: Any) -> None:
        return None

    mw = ObservabilityMiddleware(inner, logger=RecordingLogger())
    await mw({"type": "lifespan"}, receive, send)
    await mw({"type": "websocket", "headers": [(b"x-request-id", b"ws-1")]}, receive, send)
    assert seen == [("lifespan", None), ("websocket", "ws-1")]
    assert current_trace_id() is None
