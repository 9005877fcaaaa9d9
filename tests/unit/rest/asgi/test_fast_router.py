"""Loom routes are served directly; every other path still reaches the FastAPI app."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route
from starlette.testclient import TestClient

from loom.rest.asgi._fast_router import LoomRouteMiddleware


class _asgi:  # an ASGI app object, as Loom's dispatchers are
    def __init__(self, label: str) -> None:
        self.label = label

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = f"{self.label} {scope.get('path_params', {})}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})


def _client(reserved: set[str] | None = None) -> TestClient:
    routes = [
        Route("/items/{id}", _asgi("item"), methods=None),
        Route("/items/special", _asgi("special"), methods=None),
        Route("/{slug}", _asgi("slug"), methods=None),
    ]
    app = LoomRouteMiddleware(
        _asgi("fallback"),
        routes=sorted(routes, key=lambda r: "{" in r.path.split("/")[-1]),
        reserved=(lambda: reserved) if reserved is not None else None,
    )
    return TestClient(app)


def test_loom_routes_are_matched_with_their_path_parameters() -> None:
    client = _client()
    assert client.get("/items/7").text == "item {'id': '7'}"
    assert client.get("/items/special").text == "special {}"


def test_other_paths_fall_through_to_the_app() -> None:
    assert _client().get("/items/7/extra").text.startswith("fallback")


def test_reserved_static_paths_of_the_app_win_over_a_parameter_route() -> None:
    client = _client(reserved={"/docs"})
    assert client.get("/docs").text.startswith("fallback")
    assert client.get("/anything").text == "slug {'slug': 'anything'}"


def test_both_slash_forms_reach_the_route_directly() -> None:
    routes = [
        Route("/items/", _asgi("collection"), methods=None),
        Route("/items/{id}", _asgi("item"), methods=None),
    ]
    client = TestClient(LoomRouteMiddleware(_asgi("fallback"), routes=routes))
    for path in ("/items", "/items/"):
        assert client.post(path, follow_redirects=False).text == "collection {}"
    for path in ("/items/7", "/items/7/"):
        assert client.get(path, follow_redirects=False).text == "item {'id': '7'}"
    assert client.get("/items/7//").text.startswith("fallback")


def test_a_reserved_path_with_a_slash_is_not_taken_by_a_parameter_route() -> None:
    client = _client(reserved={"/docs"})
    assert client.get("/docs/", follow_redirects=False).text.startswith("fallback")
    assert client.get("/anything/").text == "slug {'slug': 'anything'}"
