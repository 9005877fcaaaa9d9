"""Request ids, access logs, metrics, spans and health/metrics routes for the REST app.

Pure ASGI rather than ``BaseHTTPMiddleware``: it adds no task, no body buffering
and no extra exception wrapping per request, and it keeps the contextvar binding
visible to everything below it. :func:`install_observability` places the middleware
*outside* Starlette's ``ServerErrorMiddleware``, so even a 500 rendered by the error
handler carries ``x-request-id`` and can read the trace id for its problem body.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loom.core.config.settings import settings_of
from loom.core.observability._trace_id import TRACE_ID
from loom.core.observability.context import (
    bind_trace_id,
    current_trace_id,
    is_valid_trace_id,
    new_trace_id,
    reset_trace_id,
)
from loom.core.observability.logging import configure_logging, get_logger
from loom.core.observability.metrics import Metrics
from loom.core.observability.tracing import span, tracing_enabled
from loom.rest.asgi._fast_router import LabelledRoute

__all__ = [
    "Draining",
    "ObservabilityMiddleware",
    "ReadinessCheck",
    "health_live",
    "health_ready",
    "install_observability",
    "metrics_endpoint",
]

ReadinessCheck = Callable[[], Awaitable[None]]
Endpoint = Callable[[Request], Awaitable[Response]]

RESPONSE_HEADER = b"x-request-id"
UNMATCHED_ROUTE = "unmatched"
ACCESS_LOGGER = "loom.access"
LIVE_PATH = "/health/live"
READY_PATH = "/health/ready"

_log = logging.getLogger("loom.observability")


def _route_template(scope: Scope, root_path: str) -> str:
    """The matched route's template (``/users/{user_id}``), never the raw path.

    Starlette's router stores the matched route in ``scope["route"]``; inside a
    ``Mount`` the inner router overwrites it and the mount prefix moves into
    ``root_path``, so the prefix is put back. Unmatched requests share one label.
    """
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED_ROUTE
    current_root = scope.get("root_path", "")
    if isinstance(current_root, str) and current_root != root_path:
        prefix = current_root[len(root_path) :] if current_root.startswith(root_path) else ""
        return prefix + path
    return path


class DirectEndpoint(Protocol):
    """An endpoint that writes the request-id header into its own response: Loom's
    dispatcher. :meth:`RequestObserver.serve` calls it without wrapping ``send``."""

    async def respond(
        self, scope: Scope, receive: Receive, send: Send, headers: list[tuple[bytes, bytes]]
    ) -> int:
        """Answer the request with ``headers`` added to the response start; the status sent."""
        ...


class RequestObserver:
    """What happens around every HTTP request: the request id (adopted from the
    client's header when valid, else new) bound for logs and problem bodies and echoed
    in ``x-request-id``, a server span when tracing is on, the request counted and
    timed in the metrics, one access-log line.

    One object, two ways in: :class:`ObservabilityMiddleware` for any route (it wraps
    ``send`` to add the header), and :meth:`serve` for a Loom route reached before the
    middleware stack, whose dispatcher writes the header itself. A wrapped ``send``, a
    closure and a middleware layer per request were a third of a light route's CPU.
    """

    __slots__ = (
        "_gate",
        "_header",
        "access_log",
        "access_log_skip",
        "logger",
        "metrics",
        "out_headers",
        "trace_enabled",
    )

    def __init__(
        self,
        *,
        trace_enabled: bool = True,
        trace_header: str = "x-request-id",
        metrics: Metrics | None = None,
        logger: Any = None,
        access_log: bool = True,
        access_log_skip: Collection[str] = (),
    ) -> None:
        self.trace_enabled = trace_enabled
        self.metrics = metrics
        self.logger = logger if logger is not None else get_logger(ACCESS_LOGGER)
        # With the default logger, ask stdlib first: a cached level check is far cheaper
        # than building a structlog event that ``level: WARNING`` would then drop.
        self._gate = logging.getLogger(ACCESS_LOGGER) if logger is None else None
        self.access_log = access_log
        self.access_log_skip = frozenset(access_log_skip)
        header = trace_header.strip().lower().encode("latin-1")
        self._header = RESPONSE_HEADER if header == RESPONSE_HEADER else header
        # The id always goes out as x-request-id (the contract); a differently named
        # incoming header is echoed under its own name as well.
        self.out_headers = (
            (RESPONSE_HEADER,)
            if self._header == RESPONSE_HEADER
            else (RESPONSE_HEADER, self._header)
        )

    def request_id(self, scope: Scope) -> str:
        for name, value in scope.get("headers", ()):
            if name == self._header:
                try:
                    candidate = value.decode("latin-1")
                except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes any byte
                    break
                if is_valid_trace_id(candidate):
                    return candidate
                break
        return new_trace_id()

    def id_headers(self, trace_id: str) -> list[tuple[bytes, bytes]]:
        encoded = trace_id.encode("latin-1")
        if self._header is RESPONSE_HEADER:
            return [(RESPONSE_HEADER, encoded)]
        return [(name, encoded) for name in self.out_headers]

    @property
    def traced(self) -> bool:
        return self.trace_enabled and tracing_enabled()

    async def serve(
        self, endpoint: DirectEndpoint, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Serve ``scope`` by ``endpoint``, observed as the middleware would."""
        trace_id = self.request_id(scope)
        token = TRACE_ID.set(trace_id)  # bind_trace_id, without the call
        root_path = scope.get("root_path", "")
        status = 500
        start = time.perf_counter()
        try:
            if self.traced:
                with self.server_span(scope) as current:
                    try:
                        status = await endpoint.respond(
                            scope, receive, send, self.id_headers(trace_id)
                        )
                    finally:
                        self.name_span(current, scope, root_path, status)
            else:
                status = await endpoint.respond(scope, receive, send, self.id_headers(trace_id))
        finally:
            elapsed = time.perf_counter() - start
            try:
                self.record(scope, root_path, status, elapsed, trace_id)
            finally:
                TRACE_ID.reset(token)

    def server_span(self, scope: Scope) -> Any:
        method = scope.get("method", "GET")
        return span(
            method, "server", **{"http.request.method": method, "url.path": scope.get("path", "")}
        )

    def name_span(self, current: Any, scope: Scope, root_path: str, status: int) -> None:
        route = _route_template(scope, root_path)
        if route != UNMATCHED_ROUTE:
            current.update_name(f"{scope.get('method', 'GET')} {route}")
            current.set_attribute("http.route", route)
        current.set_attribute("http.response.status_code", status)

    def record(self, scope: Scope, root_path: str, status: int, elapsed: float, tid: str) -> None:
        """Count, time and log one finished request; ``root_path`` is the scope's as
        the request entered (a mount below rewrites it)."""
        method = scope.get("method", "GET")
        if self.metrics is not None:
            route = _route_template(scope, root_path)
            self.metrics.observe_request(method, route, status, elapsed)
        gate = self._gate
        if self.access_log and (gate is None or gate.isEnabledFor(logging.INFO)):
            path = scope.get("path", "")
            if path not in self.access_log_skip:
                self.logger.info(
                    "request",
                    method=method,
                    path=path,
                    status=status,
                    duration_ms=round(elapsed * 1000.0, 3),
                    trace_id=tid,
                )


class ObservabilityMiddleware:
    """Binds the request id, echoes it, times the request, logs it and counts it
    (a :class:`RequestObserver`'s work, for any route)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        trace_enabled: bool = True,
        trace_header: str = "x-request-id",
        metrics: Metrics | None = None,
        logger: Any = None,
        access_log: bool = True,
        access_log_skip: Collection[str] = (),
        draining: Draining | None = None,
        observer: RequestObserver | None = None,
    ) -> None:
        self.app = app
        self.draining = draining
        self.observer = observer or RequestObserver(
            trace_enabled=trace_enabled,
            trace_header=trace_header,
            metrics=metrics,
            logger=logger,
            access_log=access_log,
            access_log_skip=access_log_skip,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            if scope_type == "lifespan" and self.draining is not None:
                self.draining.watch_signals()
            await self.app(scope, receive, send)
            return
        observer = self.observer
        trace_id = observer.request_id(scope)
        token = bind_trace_id(trace_id)
        if scope_type == "websocket":
            try:
                await self.app(scope, receive, send)
            finally:
                reset_trace_id(token)
            return

        out_headers = observer.out_headers
        id_headers = observer.id_headers(trace_id)
        status = 500
        root_path = scope.get("root_path", "")

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    pair
                    for pair in message.get("headers", ())
                    if pair[0].lower() not in out_headers
                ]
                headers += id_headers
                # In place, as Starlette's own middlewares edit the start message.
                message["headers"] = headers
            await send(message)

        start = time.perf_counter()
        try:
            if observer.traced:
                with observer.server_span(scope) as current:
                    try:
                        await self.app(scope, receive, send_with_id)
                    finally:
                        observer.name_span(current, scope, root_path, status)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            try:
                observer.record(scope, root_path, status, elapsed, trace_id)
            finally:
                reset_trace_id(token)


def metrics_endpoint(metrics: Metrics) -> Endpoint:
    """A Starlette endpoint serving ``metrics`` in the Prometheus text format."""

    async def endpoint(request: Request) -> Response:
        body, content_type = metrics.render()
        return Response(content=body, media_type=content_type)

    return endpoint


def health_live() -> Endpoint:
    """Liveness: the process serves requests; deliberately checks nothing else."""

    async def endpoint(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return endpoint


async def _run_check(check: Callable[[], Any], timeout: float) -> str:
    result = check()
    if inspect.isawaitable(result):
        await asyncio.wait_for(result, timeout)
    return "ok"


class Draining:
    """Set once the process was told to stop (SIGTERM): readiness answers 503 from
    then on, while requests already in flight finish.

    The hook goes in when the server starts the app (its lifespan), after the server
    put its own SIGTERM handler in place, and calls that handler in turn, so the
    server still shuts down gracefully. Only in the main thread, where signal
    handlers live (a test client runs the app elsewhere: no hook).
    """

    __slots__ = ("active", "watching")

    def __init__(self) -> None:
        self.active = False
        self.watching = False

    def watch_signals(self) -> None:
        if self.watching or threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGTERM)

        def on_term(signum: int, frame: Any) -> None:
            self.active = True
            if callable(previous):
                previous(signum, frame)
            elif previous != signal.SIG_IGN:  # the default: terminate, as it would have
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.raise_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, on_term)
        self.watching = True


def health_ready(
    checks: Mapping[str, ReadinessCheck] | None = None,
    timeout: float = 2.0,
    draining: Draining | None = None,
) -> Endpoint:
    """Readiness: every check (e.g. ``database``, ``broker``) passes within ``timeout``.

    Checks run concurrently, each bounded by ``timeout`` so one hung dependency
    cannot hang the probe. A failure answers 503 ``application/problem+json`` naming
    the failing parts as ``"failed"`` or ``"timeout"``; the exception itself is only
    logged, since driver messages must not reach clients.
    """
    named = dict(checks or {})

    async def endpoint(request: Request) -> Response:
        if draining is not None and draining.active:
            return JSONResponse(
                {
                    "type": "about:blank",
                    "title": "Service Unavailable",
                    "status": 503,
                    "detail": "Not ready: shutting down",
                    "code": "service_unavailable",
                    "trace_id": current_trace_id(),
                },
                status_code=503,
                media_type="application/problem+json",
            )
        results = await asyncio.gather(
            *(_run_check(check, timeout) for check in named.values()), return_exceptions=True
        )
        report: dict[str, str] = {}
        for name, result in zip(named, results, strict=True):
            if isinstance(result, BaseException):
                if isinstance(result, asyncio.CancelledError):
                    raise result
                is_timeout = isinstance(result, TimeoutError)
                report[name] = "timeout" if is_timeout else "failed"
                _log.warning(
                    "readiness check %s %s",
                    name,
                    report[name],
                    exc_info=None if is_timeout else result,
                )
            else:
                report[name] = "ok"
        failing = [name for name, state in report.items() if state != "ok"]
        if not failing:
            return JSONResponse({"status": "ok", "checks": report})
        problem = {
            "type": "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "detail": "Not ready: " + ", ".join(failing),
            "code": "service_unavailable",
            "trace_id": current_trace_id(),
            "checks": report,
        }
        return JSONResponse(problem, status_code=503, media_type="application/problem+json")

    return endpoint


def _add_route(app: Any, path: str, endpoint: Endpoint) -> None:
    """Add a GET route, hidden from OpenAPI, on FastAPI or plain Starlette."""
    app.router.routes.append(
        LabelledRoute(path, endpoint, methods=["GET"], include_in_schema=False)
    )


def _wrap_outermost(app: Any, factory: Callable[[ASGIApp], ASGIApp]) -> None:
    """Put the middleware around Starlette's whole stack, error middleware included."""
    if getattr(app, "middleware_stack", None) is not None:
        raise RuntimeError("install_observability must run before the app starts serving")
    build = app.build_middleware_stack

    def build_with_observability() -> ASGIApp:
        return factory(build())

    app.build_middleware_stack = build_with_observability


def install_observability(
    app: Any,
    config: Any = None,
    *,
    readiness_checks: Mapping[str, ReadinessCheck] | None = None,
    logger: Any = None,
    metrics_registry: Any = None,
    metrics: Metrics | None = None,
) -> Metrics | None:
    """Wire request ids, logs, metrics, spans and the health/metrics routes into ``app``.

    ``app`` is a FastAPI or Starlette application not yet serving; ``config`` is the
    whole Loom config (``DictConfig``, dict, or its ``AppSettings``), of which the optional
    sections ``trace`` (``enabled`` default true, ``header`` default x-request-id),
    ``metrics`` (``enabled`` default true, ``path`` default /metrics) and ``logger``
    (see :func:`configure_logging`; ``access_log`` default true) are read.
    ``readiness_checks`` maps part names to async callables that raise when that part
    is not ready. ``metrics`` is the app's :class:`Metrics` when the caller built it
    (``create_app`` does, in bootstrap); else one is made on ``metrics_registry`` (a
    prometheus ``CollectorRegistry``), or on a registry of its own, so two apps in a
    process never clash on metric names. Returns the app's :class:`Metrics` (also
    stored as ``app.state.loom_metrics``), or ``None`` when metrics are disabled.
    """
    settings = settings_of(config)
    configure_logging(settings.logger.options)

    skip: list[str] = [LIVE_PATH, READY_PATH]
    if not settings.metrics.enabled:
        metrics = None
    else:
        if metrics is None:
            metrics = Metrics(registry=metrics_registry)
        metrics_path = settings.metrics.path
        _add_route(app, metrics_path, metrics_endpoint(metrics))
        skip.append(metrics_path)
    _add_route(app, LIVE_PATH, health_live())
    draining = Draining()
    _add_route(app, READY_PATH, health_ready(readiness_checks, draining=draining))

    observer = RequestObserver(
        trace_enabled=settings.trace.enabled,
        trace_header=settings.trace.header,
        metrics=metrics,
        logger=logger,
        access_log=settings.logger.access_log,
        access_log_skip=skip,
    )
    observe = getattr(app, "observe_requests", None)
    if observe is not None:  # a LoomFastAPI assembles its stack itself
        observe(observer, draining)
    else:
        _wrap_outermost(
            app, lambda inner: ObservabilityMiddleware(inner, observer=observer, draining=draining)
        )
    state = getattr(app, "state", None)
    if state is not None:
        state.loom_metrics = metrics
        state.loom_draining = draining
    return metrics
