"""A direct route to Loom's endpoints, inside the user middleware, before FastAPI's.

Loom's :class:`~loom.rest.fastapi._endpoint.MethodDispatcher` renders every error as a
problem document itself, so FastAPI's inner layers (exception middleware, the
dependency exit stack, the router's linear scan over every route) add nothing but
time on Loom routes: the benchmark profile put them at about a third of the CPU of a
light request. This middleware matches Loom's compiled routes (bucketed by their first
path segment) and calls the dispatcher directly; everything else (``/docs``,
``/openapi.json``, health, metrics, the user's own FastAPI routes) goes through the
FastAPI app as usual. Middleware added later (idempotency, observability) still wraps
both paths.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from typing import Any

from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["LoomRouteMiddleware", "install_front"]


def _first_segment(path: str) -> str:
    stripped = path.lstrip("/")
    return stripped.split("/", 1)[0]


class LoomRouteMiddleware:
    loom_outer_safe = True
    """Renders its own errors, so it may run outside FastAPI's error middleware (see
    :func:`install_front`)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Iterable[Route],
        reserved: Callable[[], Collection[str]] | None = None,
    ) -> None:
        self.app = app
        self._exact: dict[str, Route] = {}
        """Paths without parameters: one dict lookup, no regex."""
        self._static: dict[str, list[Route]] = defaultdict(list)
        self._dynamic: list[Route] = []
        for route in routes:
            if "{" not in route.path:
                self._exact.setdefault(route.path, route)
                continue
            head = _first_segment(route.path)
            if "{" in head:
                self._dynamic.append(route)
            else:
                self._static[head].append(route)
        # The app's other static paths, read on the first request: routes added after
        # this middleware (health, metrics) must be known.
        self._reserved_source = reserved
        self._reserved: Collection[str] | None = None if reserved is not None else ()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            reserved = self._reserved
            if reserved is None:
                assert self._reserved_source is not None
                reserved = self._reserved = frozenset(self._reserved_source())
            if path not in reserved:
                exact = self._exact.get(path)
                if exact is not None:
                    scope["endpoint"] = exact.endpoint
                    scope["path_params"] = {}
                    await exact.app(scope, receive, send)
                    return
                candidates = self._static.get(_first_segment(path))
                for routes in (candidates, self._dynamic):
                    if not routes:
                        continue
                    for route in routes:
                        match, child = route.matches(scope)
                        if match is Match.FULL:
                            scope.update(child)
                            await route.app(scope, receive, send)
                            return
        await self.app(scope, receive, send)


def install_front(app: Any) -> None:
    """Put Loom's routes in front of FastAPI's own middleware when nothing else sits
    between them.

    FastAPI wraps every request in its error, exception-telemetry and body-limit
    middleware before the user middleware. When the only user middleware is Loom's own
    (this router, idempotency), all of which render their own errors, the stack is
    built as ``Loom's middleware -> FastAPI's stack``: a Loom route never enters
    FastAPI's layers, everything else (docs, health, the user's FastAPI routes) goes
    through them exactly as before. With any other middleware (CORS, auth...) the
    standard order is kept, so that middleware still wraps Loom's routes.
    """
    fastapi_build = app.build_middleware_stack

    def build() -> ASGIApp:
        user = list(app.user_middleware)
        if not user or not all(getattr(m.cls, "loom_outer_safe", False) for m in user):
            return fastapi_build()
        app.user_middleware = []
        try:
            stack: ASGIApp = fastapi_build()
        finally:
            app.user_middleware = user
        for cls, args, kwargs in reversed(user):
            stack = cls(stack, *args, **kwargs)
        return stack

    app.build_middleware_stack = build
