"""``create_app`` assembles the app once: the stack in ``build_middleware_stack``, the
document in ``openapi``, and one ``Metrics`` handed to every part that counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from rest_support import CONFIG
from starlette.middleware.errors import ServerErrorMiddleware

from loom.rest.asgi._observability import ObservabilityMiddleware
from loom.rest.fastapi.app import LoomFastAPI
from loom.rest.fastapi.auto import create_app


def _app(tmp_path: Path, extra: str = "") -> Any:
    path = tmp_path / "api.yaml"
    path.write_text(CONFIG.format(url=f"sqlite+aiosqlite:///{tmp_path / 'asm.db'}") + extra)
    return create_app(path)


def test_no_method_is_replaced_after_construction(tmp_path: Path) -> None:
    app = _app(tmp_path)
    assert isinstance(app, LoomFastAPI)
    # Starlette's hook and FastAPI's document method are the class's, not patched ones.
    assert "build_middleware_stack" not in vars(app)
    assert "openapi" not in vars(app)
    stack: Any = app.build_middleware_stack()
    assert isinstance(stack, ObservabilityMiddleware)  # outermost, around the error layer
    layers = []
    while stack is not None:
        layers.append(type(stack))
        stack = getattr(stack, "app", None)
    assert ServerErrorMiddleware in layers


def test_one_metrics_object_reaches_runtime_routes_and_middleware(tmp_path: Path) -> None:
    app = _app(tmp_path)
    metrics = app.state.loom_metrics
    assert metrics is not None
    assert app.state.loom.metrics is metrics  # the jobs' events
    assert all(d.metrics is metrics for d in app.state.loom_dispatchers)
    assert app.build_middleware_stack().observer.metrics is metrics


def test_metrics_off_leaves_every_part_without(tmp_path: Path) -> None:
    app = _app(tmp_path, "\nmetrics: {enabled: 'false'}\n")
    assert app.state.loom_metrics is None and app.state.loom.metrics is None
    assert all(d.metrics is None for d in app.state.loom_dispatchers)
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 404


def test_the_document_is_built_once_with_job_status_and_idempotency_header(
    tmp_path: Path,
) -> None:
    app = _app(tmp_path)
    with TestClient(app) as client:
        document = client.get("/openapi.json").json()
    assert app.openapi() is app.openapi()
    assert "/jobs/{job_id}" in document["paths"]
    post = next(
        op for item in document["paths"].values() for method, op in item.items() if method == "post"
    )
    assert any(p["name"] == "Idempotency-Key" for p in post.get("parameters", []))


def test_middleware_after_start_is_refused(tmp_path: Path) -> None:
    app = _app(tmp_path)
    with TestClient(app):
        try:
            app.add_outer_middleware(lambda inner: inner)
        except RuntimeError:
            return
    raise AssertionError("adding a wrapper to a serving app was accepted")
