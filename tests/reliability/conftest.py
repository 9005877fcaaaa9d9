"""Fixtures for attacking the store example (``examples/store``) in-process.

``store_app`` builds the store's FastAPI app from its own ``config/api.yaml`` plus an
override file (database URL, quiet logs, whatever a test adds); ``store`` is an
``httpx.AsyncClient`` talking to it over ASGI with the app's lifespan running, once
per SQL backend (``db_url``).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

STORE = Path(__file__).resolve().parents[2] / "examples" / "store"
STORE_CONFIG = STORE / "config" / "api.yaml"

# What must never reach a client: stack traces, SQL, driver and ORM names.
_LEAKS = re.compile(
    r"Traceback|File \"|sqlalchemy|asyncpg|aiosqlite|sqlite3|psycopg|IntegrityError|"
    r"OperationalError|ProgrammingError|DataError|InterfaceError|"
    r"\bSELECT\b|\bINSERT INTO\b|\bUPDATE \w+ SET\b|\bDELETE FROM\b|\bWHERE\b|"
    r"violates|constraint failed|DETAIL:|HINT:|\[SQL:|\[parameters:|background on this error",
)


def assert_no_leak(text: str) -> None:
    match = _LEAKS.search(text)
    assert match is None, f"response leaks internals ({match.group(0)!r}): {text[:500]}"


def assert_problem(
    resp: httpx.Response, status: int | tuple[int, ...], code: str | None = None
) -> Any:
    """``resp`` is an RFC 9457 problem with ``status`` (one of them) and leaks nothing."""
    statuses = (status,) if isinstance(status, int) else status
    assert resp.status_code in statuses, f"{resp.status_code} {resp.text[:500]}"
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers
    body = resp.json()
    for key in ("type", "title", "status", "detail", "code", "trace_id"):
        assert key in body, f"problem without {key!r}: {body}"
    assert body["status"] == resp.status_code
    if code is not None:
        assert body["code"] == code, body
    assert_no_leak(resp.text)
    return body


def write_override(directory: Path, settings: dict[str, Any]) -> Path:
    """An override config file (JSON is YAML) merged over the store's own config."""
    path = directory / f"override-{len(list(directory.glob('override-*')))}.yaml"
    path.write_text(json.dumps(settings))
    return path


def store_settings(db_url: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "database": {"url": db_url, "create_tables": True},
        "logger": {"level": "WARNING", "access_log": False},
        "metrics": {"enabled": False},
    }
    for section, values in (extra or {}).items():
        if isinstance(values, dict) and isinstance(settings.get(section), dict):
            settings[section] = {**settings[section], **values}
        else:
            settings[section] = values
    return settings


@pytest.fixture
def store_app(db_url: str, tmp_path: Path) -> Callable[..., Any]:
    """``store_app(**sections)``: the store app on ``db_url``, config sections overridden."""
    from loom.rest.fastapi.auto import create_app

    def build(**extra: Any) -> Any:
        override = write_override(tmp_path, store_settings(db_url, extra))
        return create_app(STORE_CONFIG, override)

    return build


class StoreClient(httpx.AsyncClient):
    """An ``AsyncClient`` on the store app with a few helpers for seeding data."""

    app: Any

    async def user(self, email: str, name: str = "Ada Lovelace") -> dict[str, Any]:
        resp = await self.post("/users", json={"fullName": name, "email": email})
        assert resp.status_code == 201, resp.text
        return resp.json()  # type: ignore[no-any-return]

    async def address(self, user_id: int, label: str = "home") -> dict[str, Any]:
        resp = await self.post(
            f"/users/{user_id}/addresses/",
            json={
                "label": label,
                "street": "1 Main St",
                "city": "Springfield",
                "country": "US",
                "zipCode": "12345",
            },
        )
        assert resp.status_code == 201, resp.text
        return resp.json()  # type: ignore[no-any-return]

    async def product(self, sku: str, **fields: Any) -> dict[str, Any]:
        body = {
            "sku": sku,
            "name": f"Product {sku}",
            "category": "tools",
            "priceCents": 1999,
            "stock": 0,
        }
        body.update(fields)
        resp = await self.post("/products", json=body)
        assert resp.status_code == 201, resp.text
        return resp.json()  # type: ignore[no-any-return]


async def raw_asgi(
    app: Any, method: str, path: str, query: bytes = b"", body: bytes = b""
) -> tuple[int, str, str]:
    """Call the ASGI app with a raw scope (for requests no HTTP client would send)."""
    sent: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]
            sent["headers"] = dict(message.get("headers") or [])
        elif message["type"] == "http.response.body":
            sent["body"] += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": [(b"host", b"store.test"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("store.test", 80),
    }
    await app(scope, receive, send)
    content_type = sent["headers"].get(b"content-type", b"").decode()
    return sent["status"], content_type, sent["body"].decode("utf-8", "replace")


async def open_client(app: Any) -> AsyncIterator[StoreClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with StoreClient(transport=transport, base_url="http://store.test") as client:
            client.app = app
            yield client


@pytest.fixture
async def store(store_app: Callable[..., Any]) -> AsyncIterator[StoreClient]:
    """A client on the store app (default config) on each SQL backend."""
    async for client in open_client(store_app()):
        yield client
