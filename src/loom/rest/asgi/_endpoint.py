"""The request path: one raw ASGI endpoint per URL template, dispatching by method.

Starlette routes the request; from there no pydantic, no ``Request`` object and no
dependency graph are involved: path parameters are checked, the body is read with a
size limit and decoded by msgspec, the use case runs in one unit of work, and the
result is encoded by msgspec straight into the response body.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from time import perf_counter
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from starlette.types import Receive, Scope, Send

from loom.core.errors import (
    BadRequest,
    LoomError,
    MethodNotAllowed,
    PayloadTooLarge,
    ValidationError,
)
from loom.core.model import model_info
from loom.core.observability.context import current_trace_id
from loom.core.observability.tracing import use_case_span
from loom.rest.query import parse_list_query
from loom.rest.routes import CompiledRoute

__all__ = ["MethodDispatcher", "problem_response_parts", "send_problem"]

log = logging.getLogger("loom.rest")

_encoder = msgspec.json.Encoder()
_JSON = [(b"content-type", b"application/json")]
_PROBLEM = b"application/problem+json"
_MAX_QUERY_FIELDS = 256


def problem_response_parts(exc: LoomError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = exc.to_problem()
    body["trace_id"] = current_trace_id()
    headers = [(b"content-type", _PROBLEM)]
    if isinstance(exc, MethodNotAllowed):
        headers.append((b"allow", ", ".join(exc.allowed).encode()))
    if exc.status == 503:
        headers.append((b"retry-after", b"1"))
    return exc.status, headers, _encoder.encode(body)


async def send_problem(
    send: Send, exc: LoomError, extra: list[tuple[bytes, bytes]] | tuple[()] = ()
) -> int:
    """Answer with ``exc``'s problem document (and ``extra`` headers); its status."""
    status, headers, body = problem_response_parts(exc)
    headers.append((b"content-length", str(len(body)).encode()))
    headers += extra
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return status


class _Bound:
    """A compiled route with everything the hot path needs precomputed."""

    __slots__ = (
        "expose_profile",
        "has_body",
        "info",
        "instance",
        "name",
        "needs_query",
        "plan",
        "profiles",
        "renames",
        "route",
        "run",
        "single_write",
        "status",
        "validators",
    )

    def __init__(self, route: CompiledRoute) -> None:
        self.route = route
        self.name = route.use_case.__qualname__
        self.instance = route.instance
        self.plan = route.plan
        self.run = route.plan.run
        self.status = route.status_code
        self.has_body = route.plan.codec is not None
        self.needs_query = route.plan.needs_query
        self.expose_profile = route.expose_profile
        self.profiles = route.allowed_profiles if route.expose_profile else None
        self.validators = tuple(route.validators.items())
        self.renames = route.param_renames
        model = getattr(route.use_case, "model", None) or route.model
        self.info = model_info(model) if model is not None else None
        if self.info is not None and route.plan.codec is not None:
            route.plan.codec.bind_columns(self.info)  # the document reads the same lengths
        self.single_write = _single_write(route)


def _single_write(route: CompiledRoute) -> bool:
    """An auto-CRUD write whose repository method is the stock single statement: its
    unit of work may skip BEGIN/COMMIT. Only the generated class itself qualifies (a
    user's subclass may do more in ``execute``)."""
    op = vars(route.use_case).get("__loom_auto__")
    if op not in ("create", "update", "delete"):
        return False
    probe = getattr(getattr(route.instance, "main_repo", None), "single_statement", None)
    return bool(probe is not None and probe(op))


class ClientDisconnected(Exception):
    """The client left before its body arrived: there is nobody to answer."""


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body, refused with a 413 once it passes ``limit`` bytes (a
    declared Content-Length is the caller's to check first)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"request body exceeds {limit} bytes")
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class MethodDispatcher:
    """The ASGI app of one path template: every method served there, and a 405 (with
    a complete ``Allow`` header) for the others."""

    def __init__(
        self,
        routes: list[CompiledRoute],
        *,
        begin: Callable[[], Any],
        max_body_size: int,
        on_use_case: Callable[[str, float, bool], None] | None = None,
        metrics: Any = None,
    ) -> None:
        self.by_method = {r.method: _Bound(r) for r in routes}
        self.path = routes[0].path
        """The URL template; the dispatcher stands in ``scope["route"]`` so access logs
        and metrics label requests by template (FastAPI's router does not set it)."""
        if "GET" in self.by_method:
            self.by_method.setdefault("HEAD", self.by_method["GET"])
        self.allowed = tuple(sorted(self.by_method))
        self.begin = begin
        self.max_body_size = max_body_size
        self.metrics: Any = metrics
        """The app's ``Metrics`` when metrics are enabled (built in bootstrap)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.respond(scope, receive, send, ())

    async def respond(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: list[tuple[bytes, bytes]] | tuple[()],
    ) -> int:
        """Answer the request with ``headers`` added (the request id, when the app
        reached this dispatcher before its middleware); the status sent."""
        scope["route"] = self
        bound = self.by_method.get(scope["method"])
        if bound is None:
            return await send_problem(send, MethodNotAllowed(self.allowed), headers)
        try:
            params: dict[str, Any] = scope.get("path_params") or {}
            for name, check in bound.validators:
                try:
                    check(params[name])
                except ValueError:  # text a validator let through that int() refuses ("¹")
                    raise ValidationError.single(name, "expected an integer id") from None
            if bound.renames:
                params = {bound.renames.get(k, k): v for k, v in params.items()}
            payload = await self._body(scope, receive) if bound.has_body else None
            query = None
            profile = None
            if bound.needs_query:
                query, profile = self._query(scope, bound)
            elif bound.expose_profile:
                profile = self._profile(scope, bound)
            # Inline, not a helper coroutine: this runs on every request. The span is a
            # shared no-op unless an OpenTelemetry SDK is configured.
            metrics = self.metrics
            started = perf_counter()
            try:
                with use_case_span(bound.name):
                    async with self.begin() as uow:
                        if bound.single_write:
                            uow.expect_single_statement()
                        result = await bound.run(bound.instance, params, payload, query, profile)
            except BaseException:
                if metrics is not None:
                    metrics.observe_use_case(bound.name, perf_counter() - started, True)
                raise
            if metrics is not None:
                metrics.observe_use_case(bound.name, perf_counter() - started, False)
            body = _encoder.encode(result)
        except LoomError as exc:
            return await send_problem(send, exc, headers)
        except Exception:
            log.exception("unhandled error in %s %s", scope["method"], bound.route.path)
            return await send_problem(send, LoomError("an unexpected error occurred"), headers)
        await send(
            {
                "type": "http.response.start",
                "status": bound.status,
                "headers": [*_JSON, (b"content-length", str(len(body)).encode()), *headers],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return bound.status

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self.max_body_size
        content_type = b""
        for key, value in scope["headers"]:
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    raise BadRequest("invalid Content-Length header") from None
                if declared > limit:
                    raise PayloadTooLarge(f"request body exceeds {limit} bytes")
            elif key == b"content-type":
                content_type = value.lower()
        try:
            body = await read_body(receive, limit)
        except ClientDisconnected:
            raise BadRequest("client disconnected") from None
        if body and content_type and b"json" not in content_type:
            exc = LoomError(
                f"unsupported media type {content_type.decode('latin-1')!r}; send application/json"
            )
            exc.status, exc.code, exc.title = (
                415,
                "unsupported_media_type",
                "Unsupported Media Type",
            )
            raise exc
        return body

    def _items(self, scope: Scope) -> list[tuple[str, str]]:
        raw = scope.get("query_string", b"")
        if not raw:
            return []
        try:
            return parse_qsl(
                raw.decode("latin-1"),
                keep_blank_values=True,
                max_num_fields=_MAX_QUERY_FIELDS,
                encoding="utf-8",
                errors="replace",
            )
        except ValueError:
            raise ValidationError.single(
                None, f"at most {_MAX_QUERY_FIELDS} query parameters"
            ) from None

    def _query(self, scope: Scope, bound: _Bound) -> tuple[Any, str]:
        items = self._items(scope)
        if bound.info is None:
            raise ValidationError.single(None, "this route has no model to query")
        return parse_list_query(
            items,
            bound.info,
            default_mode=bound.route.pagination_mode,
            allowed_profiles=bound.profiles,
            profile_default=bound.route.profile_default,
            allow_override=bound.route.allow_pagination_override,
        )

    def _profile(self, scope: Scope, bound: _Bound) -> str:
        profile = bound.route.profile_default
        for key, value in self._items(scope):
            if key == "profile":
                if bound.profiles is None or value not in bound.profiles:
                    allowed = ", ".join(bound.profiles or ())
                    raise ValidationError.single(
                        "profile", f"unknown profile {value!r}; allowed: {allowed}"
                    )
                profile = value
        return profile
