"""A direct route to Loom's endpoints, inside the user middleware, before FastAPI's.

Loom's :class:`~loom.rest.asgi._endpoint.MethodDispatcher` renders every error as a
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
from re import Pattern

from starlette.routing import Route, compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["LabelledRoute", "LoomRouteMiddleware"]


class LabelledRoute(Route):
    """A Starlette route that stands in ``scope["route"]`` while it serves.

    The metrics and spans label a request by its route's template; FastAPI's router
    records the route only for its own API routes, so the routes Loom adds beside them
    (health, metrics, Swagger UI, the job status URL) would all count as "unmatched".
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self
        await super().handle(scope, receive, send)


def _first_segment(path: str) -> str:
    stripped = path.lstrip("/")
    return stripped.split("/", 1)[0]


def _canonical(path: str) -> str:
    return path.rstrip("/") or "/"


def _route_path(scope: Scope) -> str:
    """The path inside the app, without the mount's ``root_path`` (as Starlette's
    router reads it)."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root) and path != root and path[len(root)] == "/":
        return path[len(root) :]
    return path


class _Pattern:
    """A route's regex compiled for its canonical path (no trailing slash)."""

    __slots__ = ("convertors", "methods", "regex", "route")

    def __init__(self, route: Route) -> None:
        self.route = route
        self.regex: Pattern[str]
        self.regex, _, self.convertors = compile_path(_canonical(route.path))
        self.methods = route.methods


class LoomRouteMiddleware:
    """Serves Loom's routes with and without their trailing slash, directly.

    ``/products`` and ``/products/`` are the same resource for every method: no
    redirect (clients do not re-send a POST body after a 307), no second route in the
    table, one dict lookup or regex match on the path stripped of one trailing slash.
    The match is also offered on its own (:meth:`match`): the app asks it before any
    middleware runs, to serve a Loom route without the generic layers (see
    :meth:`loom.rest.fastapi.app.LoomFastAPI.build_middleware_stack`).
    """

    loom_outer_safe = True
    """Renders its own errors, so it may run outside FastAPI's error middleware (see
    :meth:`loom.rest.fastapi.app.LoomFastAPI.build_middleware_stack`)."""

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
        self._static: dict[str, list[_Pattern]] = defaultdict(list)
        self._dynamic: list[_Pattern] = []
        for route in routes:
            if "{" not in route.path:
                self._exact.setdefault(_canonical(route.path), route)
                continue
            head = _first_segment(route.path)
            if "{" in head:
                self._dynamic.append(_Pattern(route))
            else:
                self._static[head].append(_Pattern(route))
        # The app's other static paths, read on the first request: routes added after
        # this middleware (health, metrics) must be known.
        self._reserved_source = reserved
        self._reserved: Collection[str] | None = None if reserved is not None else ()

    def routes(self) -> list[Route]:
        """Every route this serves."""
        found = list(self._exact.values())
        for patterns in (*self._static.values(), self._dynamic):
            found += [pattern.route for pattern in patterns]
        return found

    def match(self, scope: Scope) -> Route | None:
        """The Loom route serving this HTTP request, with ``scope["endpoint"]`` and
        ``scope["path_params"]`` set; None for any other path."""
        path = _route_path(scope)
        reserved = self._reserved
        if reserved is None:
            assert self._reserved_source is not None
            reserved = self._reserved = frozenset(self._reserved_source())
        key = path[:-1] if len(path) > 1 and path[-1] == "/" else path
        if path in reserved or (key is not path and key in reserved):
            return None
        exact = self._exact.get(key)
        if exact is not None:
            scope["endpoint"] = exact.endpoint
            scope["path_params"] = {}
            return exact
        candidates = self._static.get(_first_segment(key))
        for patterns in (candidates, self._dynamic):
            if not patterns:
                continue
            for pattern in patterns:
                found = pattern.regex.match(key)
                if found is None:
                    continue
                if pattern.methods and scope["method"] not in pattern.methods:
                    continue
                convertors = pattern.convertors
                scope["endpoint"] = pattern.route.endpoint
                scope["path_params"] = {
                    name: convertors[name].convert(value)
                    for name, value in found.groupdict().items()
                }
                return pattern.route
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = self.match(scope)
            if route is not None:
                await route.app(scope, receive, send)
                return
        await self.app(scope, receive, send)
