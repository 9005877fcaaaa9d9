"""Loom routes skip FastAPI's own middleware unless a user middleware must wrap them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from rest_support import CONFIG
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from loom.rest.asgi._fast_router import LoomRouteMiddleware
from loom.rest.fastapi.auto import create_app


class StampMiddleware:
    """A user's middleware: stamps every response it wraps."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def stamped(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message["headers"], (b"x-stamp", b"1")]}
            await send(message)

        await self.app(scope, receive, stamped)


def _app(tmp_path: Path) -> Any:
    path = tmp_path / "api.yaml"
    path.write_text(CONFIG.format(url=f"sqlite+aiosqlite:///{tmp_path / 'front.db'}"))
    app = create_app(path)

    @app.get("/plain/boom")
    @app.post("/plain/boom")
    async def boom() -> None:
        raise RuntimeError("a bug in a user's FastAPI route")

    return app


def _layers(stack: Any) -> list[type]:
    layers = []
    while stack is not None and len(layers) < 30:
        layers.append(type(stack))
        stack = getattr(stack, "app", None)
    return layers


def test_loom_routes_sit_in_front_of_fastapis_middleware(tmp_path: Path) -> None:
    app = _app(tmp_path)
    layers = _layers(app.build_middleware_stack())
    assert layers.index(LoomRouteMiddleware) < layers.index(ServerErrorMiddleware)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/products").status_code == 200
        assert client.get("/docs").status_code == 200
        # A user route's bug is a 500 problem document, also under an Idempotency-Key,
        # whose middleware now sits outside FastAPI's error handling.
        for method, headers in (
            ("GET", {}),
            ("POST", {}),
            ("POST", {"Idempotency-Key": "front-1"}),
        ):
            response = client.request(method, "/plain/boom", headers=headers)
            assert response.status_code == 500, (method, headers)
            assert response.headers["content-type"] == "application/problem+json"
            assert "bug" not in response.text


def test_a_user_middleware_keeps_wrapping_loom_routes(tmp_path: Path) -> None:
    app = _app(tmp_path)
    app.add_middleware(StampMiddleware)
    layers = _layers(app.build_middleware_stack())
    assert layers.index(ServerErrorMiddleware) < layers.index(LoomRouteMiddleware)
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        for path in ("/products", "/products/1", "/docs"):
            assert client.get(path).headers.get("x-stamp") == "1", path
        created = client.post("/categories", json={"name": "cocoa"})
        fetched = client.get(f"/categories/{created.json()['id']}")
    assert app._direct is None  # Loom routes are not served before this middleware
    for response in (created, fetched):
        assert response.headers["x-stamp"] == "1"
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
