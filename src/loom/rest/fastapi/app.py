"""Building the FastAPI application for a :class:`~loom.core.runtime.Runtime`."""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from loom.core.config.loader import select
from loom.core.errors import LoomError, MethodNotAllowed, NotFound
from loom.core.runtime import Runtime
from loom.rest.fastapi._docs import install_swagger_ui
from loom.rest.fastapi._endpoint import MethodDispatcher, problem_response_parts
from loom.rest.fastapi._fast_router import LoomRouteMiddleware, install_front
from loom.rest.fastapi._jobs import job_routes
from loom.rest.model import RestApiDefaults
from loom.rest.openapi import build_openapi
from loom.rest.routes import CompiledRoute, canonical_path, compile_routes, route_sort_key

__all__ = ["LoomFastAPI", "build_fastapi_app"]

log = logging.getLogger("loom.rest")

DEFAULT_MAX_BODY = 1024 * 1024


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


class LoomFastAPI(FastAPI):
    """The application ``create_app`` returns: a FastAPI app in every respect, entered
    without FastAPI's per-request telemetry checks (switched off, see above)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        stack = self.middleware_stack
        if stack is not None and scope["type"] == "http" and not self.root_path:
            scope["app"] = self  # what Starlette.__call__ does before the stack
            await stack(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def build_fastapi_app(runtime: Runtime, *, defaults: RestApiDefaults | None = None) -> FastAPI:
    """The FastAPI app serving ``runtime``'s interfaces; ``defaults`` (else
    ``app.rest.defaults`` in the config) fills the pagination and profile settings
    that neither a route nor its interface sets (0.2: ``create_fastapi_app(defaults=)``)."""
    cfg = runtime.config
    rest = "app.rest"
    title = str(select(cfg, f"{rest}.title") or select(cfg, "app.name") or "Loom API")
    version = str(select(cfg, f"{rest}.version") or "0.1.0")
    docs_url = select(cfg, f"{rest}.docs_url", "/docs")
    redoc_url = select(cfg, f"{rest}.redoc_url", "/redoc")
    max_body = int(select(cfg, f"{rest}.max_body_size", DEFAULT_MAX_BODY))

    routes = compile_routes(runtime.components.interfaces, runtime, defaults)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.startup()
        try:
            yield
        finally:
            await runtime.shutdown()

    app = LoomFastAPI(
        title=title,
        version=version,
        docs_url=None,  # served by install_swagger_ui, without a CDN
        redoc_url=redoc_url,
        openapi_url="/openapi.json",
        lifespan=lifespan,
        description=select(cfg, f"{rest}.description"),
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
        dispatcher = MethodDispatcher(grouped[path], begin=begin, max_body_size=max_body)
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
    install_front(app)
    status_routes, status_paths = job_routes(runtime)  # GET /jobs/{job_id}
    app.router.routes.extend(status_routes)
    for status_route in status_routes:
        # The job status URL, like Loom's routes, answers with a trailing slash too
        # rather than through Starlette's redirect.
        if isinstance(status_route, Route) and not status_route.path.endswith("/"):
            app.router.routes.append(
                Route(
                    status_route.path + "/",
                    endpoint=status_route.endpoint,
                    methods=status_route.methods,
                    include_in_schema=False,
                )
            )
    extra_paths = getattr(app.state, "loom_openapi_paths", None) or {}
    app.state.loom_openapi_paths = {**status_paths, **extra_paths}

    document: dict[str, Any] | None = None

    def openapi() -> dict[str, Any]:
        nonlocal document
        if document is None:
            document = build_openapi(
                routes, title=title, version=version, description=app.description or None
            )
            extra = getattr(app.state, "loom_openapi_paths", None)
            if extra:
                document["paths"].update(extra)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
    if docs_url:
        install_swagger_ui(app, str(docs_url), title=title, openapi_url="/openapi.json")
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(LoomError, _loom_error)
    app.add_exception_handler(Exception, _unhandled)
    app.state.loom = runtime
    app.state.loom_routes = routes
    return app
