"""The ``Idempotency-Key`` middleware works on the core store protocol: any store
bootstrap chooses serves it, with any unit-of-work factory (no SQL involved)."""

from __future__ import annotations

import json
from typing import Any

from loom.core.idempotency import StoredResponse
from loom.core.uow import NullUnitOfWorkFactory
from loom.rest.asgi._idempotency import IdempotencyMiddleware


class DictStore:
    def __init__(self) -> None:
        self.keys: dict[str, StoredResponse] = {}

    async def claim(self, key: str, route: str, fingerprint: str) -> StoredResponse | None:
        found = self.keys.get(key)
        if found is None:
            self.keys[key] = StoredResponse(route, fingerprint, None, None, b"")
        return found

    async def complete(self, key: str, status: int, content_type: str | None, body: bytes) -> None:
        old = self.keys[key]
        self.keys[key] = StoredResponse(old.route, old.fingerprint, status, content_type, body)

    def startup_hook(self) -> Any:
        async def nothing() -> None:
            return None

        return nothing


async def _call(app: Any, key: str, body: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/orders",
        "query_string": b"",
        "headers": [(b"idempotency-key", key.encode()), (b"content-type", b"application/json")],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    return start["status"], dict(start["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


async def test_a_retry_replays_the_first_response_from_any_store() -> None:
    runs: list[bytes] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        request = await receive()
        runs.append(request["body"])
        body = json.dumps({"n": len(runs)}).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 201, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    store = DictStore()
    app = IdempotencyMiddleware(inner, uow=NullUnitOfWorkFactory(), store=store, max_body_size=1024)
    first = await _call(app, "k-1", b'{"item": 1}')
    again = await _call(app, "k-1", b'{"item": 1}')
    other = await _call(app, "k-1", b'{"item": 2}')
    assert first[0] == 201 and json.loads(first[2]) == {"n": 1}
    assert again[0] == 201 and json.loads(again[2]) == {"n": 1}
    assert again[1][b"idempotent-replayed"] == b"true"
    assert other[0] == 422
    assert len(runs) == 1
