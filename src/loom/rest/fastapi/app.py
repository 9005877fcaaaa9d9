"""Building the FastAPI application for a :class:`~loom.core.runtime.Runtime`."""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, cast

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from loom.core.errors import LoomError, MethodNotAllowed, NotFound
from loom.core.observability.metrics import Metrics
from loom.core.runtime import Runtime
from loom.rest.asgi._endpoint import MethodDispatcher, problem_response_parts
from loom.rest.asgi._fast_router import LabelledRoute, LoomRouteMiddleware
from loom.rest.asgi._jobs import job_routes
from loom.rest.asgi._observability import Draining, ObservabilityMiddleware, RequestObserver
from loom.rest.fastapi._docs import install_swagger_ui
from loom.rest.model import RestApiDefaults
from loom.rest.openapi import build_openapi
from loom.rest.routes import CompiledRoute, canonical_path, compile_routes, route_sort_key

__all__ = ["LoomFastAPI", "build_fastapi_app"]

log = logging.getLogger("loom.rest")


def _problem(exc: LoomError) -> Response:
    status, headers, body = problem_response_parts(exc)
    return Response(
        body,
        status_code=status,
        headers={k.decode(): v.decode() for k, v in headers if k != b"content-type"},
        media_type="application/problem+json",
    )


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return _problem(NotFound(f"no route for {request.method} {request.url.path}"))
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "GET").split(", ")
        return _problem(MethodNotAllowed(allowed))
    err = LoomError(str(exc.detail))
    err.status = exc.status_code
    err.code = "http_error"
    err.title = str(exc.detail)
    return _problem(err)


async def _unhandled(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return _problem(LoomError("an unexpected error occurred"))


async def _loom_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoomError)
    return _problem(exc)


def _native_telemetry_off() -> dict[str, Any]:
    """FastAPI >= 0.16x instruments requests with OpenTelemetry itself and asks the
    global providers whether to, on every request. Loom already emits the request,
    use-case and statement spans and the Prometheus metrics, so FastAPI's own would
    duplicate them; switched off where FastAPI has the option."""
    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}


_NO_NATIVE_TELEMETRY = _native_telemetry_off()


OuterMiddleware = Callable[[ASGIApp], ASGIApp]
OpenAPIHook = Callable[[dict[str, Any]], None]


class LoomFastAPI(FastAPI):
    """The application ``create_app`` returns: a FastAPI app in every respect, entered
    without FastAPI's per-request telemetry checks (switched off, see above).

    Its middleware stack is assembled in one place, :meth:`build_middleware_stack`,
    the hook Starlette provides for it; its OpenAPI document in one, :meth:`openapi`.
    What other parts contribute (the observability wrapper, the job status path, the
    idempotency header) they declare on the app before it serves: no method is
    replaced after construction.
    """

    def __init__(
        self,
        *args: Any,
        loom_routes: Sequence[CompiledRoute] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.loom_routes: list[CompiledRoute] = list(loom_routes)
        """The compiled routes the OpenAPI document describes."""
        self.outer_middleware: list[OuterMiddleware] = []
        """Wrappers around the whole stack, Starlette's error middleware included (the
        first one added is the outermost), so a 500 it renders still passes them."""
        self.openapi_paths: dict[str, Any] = {}
        """``paths`` entries besides the Loom routes' (the job status URL)."""
        self.openapi_hooks: list[OpenAPIHook] = []
        """Called once on the finished document (the idempotency header)."""
        self.request_observer: RequestObserver | None = None
        self.draining: Draining | None = None
        self._direct: _DirectPath | None = None

    def observe_requests(self, observer: RequestObserver, draining: Draining | None) -> None:
        """Observe every request (``install_observability`` calls it): the observability
        middleware goes around the whole stack, and Loom routes served before the stack
        are observed by the same ``observer``."""
        if self.middleware_stack is not None:
            raise RuntimeError("install_observability must run before the app starts serving")
        self.request_observer, self.draining = observer, draining

    def add_outer_middleware(self, wrap: OuterMiddleware) -> None:
        if self.middleware_stack is not None:
            raise RuntimeError("Cannot add middleware after an application has started")
        self.outer_middleware.append(wrap)

    def build_middleware_stack(self) -> ASGIApp:
        """FastAPI's stack, with Loom's routes in front of FastAPI's own layers when
        nothing else sits between them, inside the outer wrappers.

        FastAPI wraps every request in its error, exception-telemetry and body-limit
        middleware before the user middleware. When the only user middleware is Loom's
        own (its router, idempotency), all of which render their own errors, the stack
        is built as ``Loom's middleware -> FastAPI's stack``: a Loom route never enters
        FastAPI's layers, everything else (docs, health, the user's FastAPI routes) goes
        through them exactly as before. With any other middleware (CORS, auth...) the
        standard order is kept, so that middleware still wraps Loom's routes.

        In the first case, with no outer wrapper besides observability, Loom's routes
        are also reachable before the stack (:class:`_DirectPath`): the router's match
        is asked first, and a request no Loom middleware concerns (a GET, a POST
        without an idempotency key) goes straight to its dispatcher, observed by the
        request observer, as Litestar resolves the route before a route's own layers.
        """
        user = list(self.user_middleware)
        self._direct = None
        if user and all(getattr(m.cls, "loom_outer_safe", False) for m in user):
            self.user_middleware = []
            try:
                stack: ASGIApp = super().build_middleware_stack()
            finally:
                self.user_middleware = user
            layers = []
            for cls, args, kwargs in reversed(user):
                stack = cls(stack, *args, **kwargs)
                layers.append(stack)
            if not self.outer_middleware:
                self._direct = _DirectPath.of(layers, self.request_observer)
        else:
            stack = super().build_middleware_stack()
        for wrap in reversed(self.outer_middleware):
            stack = wrap(stack)
        if self.request_observer is not None:
            stack = ObservabilityMiddleware(
                stack, observer=self.request_observer, draining=self.draining
            )
        return stack

    def openapi(self) -> dict[str, Any]:
        """The Loom routes' document (built once, on first request)."""
        if self.openapi_schema is None:
            document = build_openapi(
                self.loom_routes,
                title=self.title,
                version=self.version,
                description=self.description or None,
            )
            document["paths"].update(self.openapi_paths)
            for hook in self.openapi_hooks:
                hook(document)
            self.openapi_schema = document
        return self.openapi_schema

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        stack = self.middleware_stack
        if stack is not None and scope["type"] == "http" and not self.root_path:
            scope["app"] = self  # what Starlette.__call__ does before the stack
            direct = self._direct
            if direct is not None:
                route = direct.router.match(scope)
                if route is not None and not direct.diverted(scope):
                    endpoint = cast(MethodDispatcher, route.endpoint)
                    observer = direct.observer
                    if observer is None:
                        await endpoint.respond(scope, receive, send, ())
                    else:
                        await observer.serve(endpoint, scope, receive, send)
                    return
            await stack(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class _DirectPath:
    """Loom's routes served before the middleware stack: the router's match, the Loom
    middleware that may still claim a request (idempotency, for a POST with a key),
    and the observer that does the observability middleware's work."""

    __slots__ = ("layers", "observer", "router")

    def __init__(
        self, router: LoomRouteMiddleware, layers: list[Any], observer: RequestObserver | None
    ) -> None:
        self.router = router
        self.layers = tuple(layers)
        self.observer = observer

    @classmethod
    def of(cls, built: list[Any], observer: RequestObserver | None) -> _DirectPath | None:
        """The direct path over the Loom middleware ``built``, if every one of them can
        say which requests it concerns and the router's endpoints write their headers."""
        routers = [layer for layer in built if isinstance(layer, LoomRouteMiddleware)]
        others = [layer for layer in built if not isinstance(layer, LoomRouteMiddleware)]
        if len(routers) != 1 or not all(callable(getattr(o, "concerns", None)) for o in others):
            return None
        routes = routers[0].routes()
        if not all(
            isinstance(r.endpoint, MethodDispatcher) and r.app is r.endpoint for r in routes
        ):
            return None
        return cls(routers[0], others, observer)

    def diverted(self, scope: Scope) -> bool:
        """Whether a Loom middleware must see this request (it then takes the stack)."""
        for layer in self.layers:  # noqa: SIM110 - no generator per request
            if layer.concerns(scope):
                return True
        return False


def build_fastapi_app(
    runtime: Runtime,
    *,
    defaults: RestApiDefaults | None = None,
    metrics: Metrics | None = None,
) -> LoomFastAPI:
    """The FastAPI app serving ``runtime``'s interfaces; ``defaults`` (else
    ``app.rest.defaults`` in the config) fills the pagination and profile settings
    that neither a route nor its interface sets (0.2: ``create_fastapi_app(defaults=)``);
    ``metrics`` (built by bootstrap) counts the use cases the routes run."""
    rest = runtime.settings.rest
    routes = compile_routes(runtime.components.interfaces, runtime, defaults)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.startup()
        try:
            yield
        finally:
            await runtime.shutdown()

    app = LoomFastAPI(
        title=rest.title,
        version=rest.version,
        docs_url=None,  # served by install_swagger_ui, without a CDN
        redoc_url=rest.redoc_url,
        openapi_url="/openapi.json",
        lifespan=lifespan,
        description=rest.description,
        loom_routes=routes,
        **_NO_NATIVE_TELEMETRY,
    )
    # One dispatcher per resource: "/products/" (POST) and "/products" (GET), if both
    # are declared, are one URL and share the 405 handling.
    grouped: dict[str, list[CompiledRoute]] = defaultdict(list)
    for route in routes:
        grouped[canonical_path(route.path)].append(route)
    begin = runtime.uow.begin
    dispatchers: list[MethodDispatcher] = []
    for path in sorted(grouped, key=route_sort_key):
        dispatcher = MethodDispatcher(
            grouped[path], begin=begin, max_body_size=rest.max_body_size, metrics=metrics
        )
        dispatchers.append(dispatcher)
        app.router.routes.append(
            Route(path, endpoint=dispatcher, methods=None, include_in_schema=False)
        )
    app.state.loom_dispatchers = dispatchers
    loom_routes: list[Route] = [
        r for r in app.router.routes if isinstance(r, Route) and r.endpoint in dispatchers
    ]

    def reserved() -> set[str]:
        # Static paths of the app's other routes (docs, health, metrics...) keep priority.
        return {
            path
            for r in app.router.routes
            if r not in loom_routes and "{" not in (path := getattr(r, "path", "{"))
        }

    app.add_middleware(LoomRouteMiddleware, routes=loom_routes, reserved=reserved)
    status_routes, status_paths = job_routes(runtime)  # GET /jobs/{job_id}
    app.router.routes.extend(status_routes)
    for status_route in status_routes:
        # The job status URL, like Loom's routes, answers with a trailing slash too
        # rather than through Starlette's redirect.
        if isinstance(status_route, Route) and not status_route.path.endswith("/"):
            app.router.routes.append(
                LabelledRoute(
                    status_route.path + "/",
                    endpoint=status_route.endpoint,
                    methods=status_route.methods,
                    include_in_schema=False,
                )
            )
    app.openapi_paths.update(status_paths)
    if rest.docs_url:
        install_swagger_ui(app, rest.docs_url, title=rest.title, openapi_url="/openapi.json")
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(LoomError, _loom_error)
    app.add_exception_handler(Exception, _unhandled)
    app.state.loom = runtime
    app.state.loom_routes = routes
    return app
