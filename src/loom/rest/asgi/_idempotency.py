"""``Idempotency-Key`` on POST routes: a retried request gets the first response.

A client that may retry a POST (a timeout, a dropped connection) sends a unique
``Idempotency-Key`` header. The first request with that key runs normally; its
response, when it is a success (2xx), is stored with the key in the same transaction
as the rows it wrote. A later request with the same key and the same request (method,
path, query string and body) gets that stored response back, status and body, with
``Idempotent-Replayed: true``, and writes nothing. The same key with a different
request is a 422. A request that failed (4xx/5xx) wrote nothing and stored nothing,
so retrying it with the same key runs it again. Two concurrent requests with one key
run one after the other: the second waits for the first to commit, then replays it.

Config (all optional), under ``app.rest.idempotency``: ``enabled`` (default true),
``ttl_seconds`` (how long a key is remembered, default 86400), ``methods`` (default
``[POST]``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from loom.core.config.settings import settings_of
from loom.core.errors import Conflict, LoomError, ValidationError
from loom.core.idempotency import KEY_LENGTH, ROUTE_LENGTH, IdempotencyStore, StoredResponse
from loom.core.uow import UnitOfWorkFactory
from loom.rest.asgi._endpoint import ClientDisconnected, read_body, send_problem

__all__ = ["HEADER", "IdempotencyMiddleware", "install_idempotency"]

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HEADER = "Idempotency-Key"
_HEADER = b"idempotency-key"
REPLAYED = b"idempotent-replayed"

log = logging.getLogger("loom.rest")


class _Captured:
    """The inner app's response, held back until the transaction has committed."""

    __slots__ = ("body", "headers", "status")

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            self.headers = list(message.get("headers") or [])
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    @property
    def content_type(self) -> str | None:
        for name, value in self.headers:
            if name.lower() == b"content-type":
                return value.decode("latin-1")
        return None

    async def replay(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": bytes(self.body)})


class _Stop(Exception):
    """Leave the transaction (rolling it back) without an error response."""


def _check_key(raw: bytes) -> str:
    try:
        key = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        key = ""
    if not key or len(key) > KEY_LENGTH or not all(33 <= ord(c) < 127 for c in key):
        raise ValidationError.single(
            HEADER, f"must be 1 to {KEY_LENGTH} visible ASCII characters (a UUID is ideal)"
        )
    return key


def _fingerprint(scope: Scope, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (
        scope["method"].encode(),
        scope.get("path", "").encode("utf-8", "surrogateescape"),
    ):
        digest.update(part + b"\0")
    digest.update(bytes(scope.get("query_string", b"")) + b"\0")
    digest.update(body)
    return digest.hexdigest()


async def _send_stored(send: Send, stored: StoredResponse) -> None:
    headers = [
        (b"content-type", (stored.content_type or "application/json").encode("latin-1")),
        (b"content-length", str(len(stored.body)).encode()),
        (REPLAYED, b"true"),
    ]
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})


class IdempotencyMiddleware:
    """ASGI middleware honouring ``Idempotency-Key`` on ``methods`` (POST by default)."""

    loom_outer_safe = True
    """Renders its own errors (see ``LoomFastAPI.build_middleware_stack``)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        uow: UnitOfWorkFactory,
        store: IdempotencyStore,
        max_body_size: int,
        methods: Sequence[str] = ("POST",),
    ) -> None:
        self.app = app
        self.uow = uow
        self.store = store
        self.max_body_size = max_body_size
        self.methods = frozenset(m.upper() for m in methods)

    def _raw_key(self, scope: Scope) -> bytes | None:
        """The request's ``Idempotency-Key`` when its method is one this serves."""
        if scope["method"] in self.methods:
            for name, value in scope.get("headers") or ():
                if name == _HEADER:
                    return bytes(value)
        return None

    def concerns(self, scope: Scope) -> bool:
        """Whether this HTTP request must pass here (a served method with a key); the
        app routes any other request to a Loom endpoint without this layer."""
        return self._raw_key(scope) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_key = self._raw_key(scope) if scope["type"] == "http" else None
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        try:
            key = _check_key(raw_key)
            body = await read_body(receive, self.max_body_size)
        except LoomError as exc:
            await send_problem(send, exc)
            return
        except ClientDisconnected:
            return
        await self._run(scope, send, key, body)

    async def _run(self, scope: Scope, send: Send, key: str, body: bytes) -> None:
        fingerprint = _fingerprint(scope, body)
        route = f"{scope['method']} {scope.get('path', '')}"[:ROUTE_LENGTH]
        captured = _Captured()
        stored: StoredResponse | None = None
        sent_body = False

        async def receive() -> Message:
            nonlocal sent_body
            if sent_body:
                return {"type": "http.disconnect"}
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}

        try:
            async with self.uow.begin():
                stored = await self.store.claim(key, route, fingerprint)
                if stored is not None:
                    raise _Stop
                await self.app(scope, receive, captured.send)
                if not 200 <= captured.status < 300:
                    raise _Stop  # nothing to keep: roll back whatever was started
                await self.store.complete(
                    key, captured.status, captured.content_type, bytes(captured.body)
                )
        except _Stop:
            pass
        except LoomError as exc:
            await send_problem(send, exc)
            return
        except Exception as exc:
            # The store and the unit of work raise framework errors for the database's
            # own failures; anything else is a bug. Nothing was sent yet (the response
            # is captured): answer the 500 problem here, as this middleware may run
            # outside FastAPI's.
            log.exception("unhandled error in an idempotent request", exc_info=exc)
            await send_problem(send, LoomError("an unexpected error occurred"))
            return
        if stored is None:
            await captured.replay(send)
        elif stored.fingerprint != fingerprint:
            await send_problem(
                send,
                ValidationError.single(
                    HEADER,
                    "this key was already used for a different request; use a new key",
                ),
            )
        elif stored.status is None:
            busy = Conflict("a request with this Idempotency-Key is still in progress")
            busy.code = "idempotency_in_progress"
            await send_problem(send, busy)
        else:
            await _send_stored(send, stored)


def _document_header(methods: frozenset[str]) -> Callable[[dict[str, Any]], None]:
    """Adds the optional ``Idempotency-Key`` header to those operations of the
    OpenAPI document (a hook of ``LoomFastAPI.openapi``)."""

    def hook(document: dict[str, Any]) -> None:
        parameter = {
            "name": HEADER,
            "in": "header",
            "required": False,
            "description": (
                "A unique key (a UUID) making a retry of this request safe: the same key "
                "with the same request returns the first successful response, creating "
                "nothing twice; with a different request it is a 422."
            ),
            "schema": {"type": "string", "minLength": 1, "maxLength": KEY_LENGTH},
        }
        for item in document.get("paths", {}).values():
            for method, operation in item.items():
                if method.upper() in methods and isinstance(operation, dict):
                    params = operation.setdefault("parameters", [])
                    if not any(p.get("name") == HEADER for p in params if isinstance(p, dict)):
                        params.append(dict(parameter))

    return hook


def install_idempotency(app: Any, runtime: Any, config: Any = None) -> IdempotencyStore | None:
    """Serve ``Idempotency-Key`` on ``app`` (a ``LoomFastAPI``) with the runtime's
    store (``runtime.idempotency``, chosen by bootstrap: None when disabled or without
    a SQL database); ``config`` (the config or its ``AppSettings``) defaults to the
    runtime's.

    Returns the store (also ``app.state.loom_idempotency``), or ``None`` when disabled.
    """
    store: IdempotencyStore | None = runtime.idempotency
    if store is None:
        return None
    settings = runtime.settings if config is None else settings_of(config)
    idempotency = settings.rest.idempotency
    if not idempotency.enabled:
        return None
    methods = list(idempotency.methods)
    app.add_middleware(
        IdempotencyMiddleware,
        uow=runtime.uow,
        store=store,
        max_body_size=settings.rest.max_body_size,
        methods=methods,
    )
    app.openapi_hooks.append(_document_header(frozenset(methods)))
    runtime.startup_hooks.append(store.startup_hook())
    app.state.loom_idempotency = store
    return store
