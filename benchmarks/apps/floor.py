"""The floor: a bare ASGI callable on a raw asyncpg pool, issuing the hand-written app's SQL.

No framework, no validation library, msgspec for JSON. Nothing in Python can serve
the surface much faster, so it bounds what Loom could reach on this machine.

Run: ``uvicorn --factory benchmarks.apps.floor:create_app``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import asyncpg
import msgspec

from benchmarks.apps.surface import (
    COUPON_RE,
    MAX_TOTAL_CENTS,
    decode_cursor,
    encode_cursor,
    pricing,
)
from benchmarks.settings import DEFAULT_POOLS, POOL_SIZE, asyncpg_dsn, database_url

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

RECORD_COLS = "id, owner_id, title, status, amount_cents, quantity, created_at, updated_at"
GET_RECORD = f"SELECT {RECORD_COLS} FROM records WHERE id = $1"
GET_DETAILS = (
    "SELECT r.id, r.owner_id, r.title, r.status, r.amount_cents, r.quantity, r.created_at,"
    " r.updated_at, u.id, u.full_name, u.email, u.created_at, u.updated_at"
    " FROM records r JOIN users u ON u.id = r.owner_id WHERE r.id = $1"
)
GET_NOTES = (
    "SELECT id, record_id, author, body, created_at, updated_at"
    " FROM notes WHERE record_id = $1 ORDER BY id"
)
GET_BOARD = (
    "SELECT b.id, b.name, b.created_at, b.updated_at,"
    " EXISTS (SELECT 1 FROM cards c WHERE c.board_id = b.id)"
    " FROM boards b WHERE b.id = $1"
)
INSERT = (
    "INSERT INTO records (owner_id, title, status, amount_cents, quantity, created_at, updated_at)"
    f" VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {RECORD_COLS}"
)
WRITABLE = ("owner_id", "title", "status", "amount_cents", "quantity")
CAMEL = {
    "owner_id": "ownerId",
    "amount_cents": "amountCents",
    "unit_price_cents": "unitPriceCents",
    "discount_pct": "discountPct",
    "tax_rate_pct": "taxRatePct",
    "coupon_code": "couponCode",
}
ENCODE = msgspec.json.Encoder().encode
DECODE = msgspec.json.Decoder().decode
JSON_HEADERS = [(b"content-type", b"application/json")]


class HttpError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def record(row: Any, offset: int = 0) -> dict[str, Any]:
    return {
        "id": row[offset],
        "ownerId": row[offset + 1],
        "title": row[offset + 2],
        "status": row[offset + 3],
        "amountCents": row[offset + 4],
        "quantity": row[offset + 5],
        "createdAt": row[offset + 6],
        "updatedAt": row[offset + 7],
    }


def user(row: Any, offset: int) -> dict[str, Any]:
    return {
        "id": row[offset],
        "fullName": row[offset + 1],
        "email": row[offset + 2],
        "createdAt": row[offset + 3],
        "updatedAt": row[offset + 4],
    }


def note(row: Any) -> dict[str, Any]:
    return {
        "id": row[0],
        "recordId": row[1],
        "author": row[2],
        "body": row[3],
        "createdAt": row[4],
        "updatedAt": row[5],
    }


def field(body: dict[str, Any], name: str, kind: type, default: Any = ...) -> Any:
    value = body.get(name, body.get(CAMEL.get(name, name), default))
    if value is ...:
        raise HttpError(422, f"{name} is required")
    if value is not None and value is not default and (type(value) is not kind):
        raise HttpError(422, f"{name} must be {kind.__name__}")
    return value


def positive_int(params: dict[str, str], name: str, default: int, top: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HttpError(422, f"{name} must be an integer") from None
    if not 1 <= value <= top:
        raise HttpError(422, f"{name} out of range")
    return value


class Floor:
    def __init__(self, url: str) -> None:
        self.dsn = asyncpg_dsn(url)
        self.pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def _pool(self) -> asyncpg.Pool:
        if self.pool is None:
            async with self._lock:
                if self.pool is None:
                    sizes = {} if DEFAULT_POOLS else {"min_size": POOL_SIZE, "max_size": POOL_SIZE}
                    self.pool = await asyncpg.create_pool(self.dsn, **sizes)
        return self.pool

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        method: str = scope["method"]
        path: str = scope["path"]
        try:
            body: dict[str, Any] = {}
            if method in ("POST", "PATCH"):
                body = await self._body(receive)
            status, payload = await self._route(method, path, scope, body)
        except HttpError as exc:
            status, payload = exc.status, {"status": exc.status, "detail": exc.detail}
        data = ENCODE(payload)
        headers = [*JSON_HEADERS, (b"content-length", b"%d" % len(data))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self._pool()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _body(self, receive: Receive) -> dict[str, Any]:
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        try:
            body = DECODE(b"".join(chunks))
        except msgspec.DecodeError:
            raise HttpError(422, "malformed JSON") from None
        if not isinstance(body, dict):
            raise HttpError(422, "body must be an object")
        return body

    async def _route(
        self, method: str, path: str, scope: Scope, body: dict[str, Any]
    ) -> tuple[int, Any]:
        if path == "/health/ping" and method == "GET":
            return 200, {"status": "ok"}
        if path == "/records":
            if method == "GET":
                params = dict(parse_qsl(scope["query_string"].decode()))
                return 200, await self.list_records(params)
            if method == "POST":
                return 201, await self.create(body)
        elif path == "/records/pricing-preview" and method == "POST":
            return 200, self.pricing(body)
        elif path.startswith("/boards/") and method == "GET":
            try:
                board_id = int(path[8:])
            except ValueError:
                raise HttpError(422, "id must be an integer") from None
            return 200, await self.get_board(board_id)
        elif path.startswith("/records/"):
            try:
                record_id = int(path[9:])
            except ValueError:
                raise HttpError(422, "id must be an integer") from None
            if method == "GET":
                params = dict(parse_qsl(scope["query_string"].decode()))
                return 200, await self.get(record_id, params.get("profile", "default"))
            if method == "PATCH":
                return 200, await self.update(record_id, body)
        raise HttpError(404, "not found")

    async def get(self, record_id: int, profile: str) -> dict[str, Any]:
        pool = await self._pool()
        if profile == "with_details":
            async with pool.acquire() as conn:
                row = await conn.fetchrow(GET_DETAILS, record_id)
                if row is None:
                    raise HttpError(404, "record not found")
                notes = [note(n) for n in await conn.fetch(GET_NOTES, record_id)]
            out = record(row)
            out["owner"] = user(row, 8)
            out["notes"] = notes
            out["hasNotes"] = bool(notes)
            out["notesCount"] = len(notes)
            out["noteSnippets"] = [{"author": n["author"], "body": n["body"]} for n in notes]
            return out
        if profile != "default":
            raise HttpError(422, "unknown profile")
        row = await pool.fetchrow(GET_RECORD, record_id)
        if row is None:
            raise HttpError(404, "record not found")
        return record(row)

    async def get_board(self, board_id: int) -> dict[str, Any]:
        pool = await self._pool()
        row = await pool.fetchrow(GET_BOARD, board_id)
        if row is None:
            raise HttpError(404, "board not found")
        return {
            "id": row[0],
            "name": row[1],
            "createdAt": row[2],
            "updatedAt": row[3],
            "hasCards": row[4],
        }

    async def list_records(self, params: dict[str, str]) -> dict[str, Any]:
        pool = await self._pool()
        limit = positive_int(params, "limit", 50, 1000)
        where: list[str] = []
        args: list[Any] = []
        if "status__eq" in params:
            args.append(params["status__eq"])
            where.append(f"status = ${len(args)}")
        if "owner_id__eq" in params:
            args.append(positive_int(params, "owner_id__eq", 0, 2**62))
            where.append(f"owner_id = ${len(args)}")
        if params.get("pagination", "offset") == "cursor":
            if "after" in params:
                last_id = decode_cursor(params["after"])
                if last_id is None:
                    raise HttpError(422, "invalid cursor")
                args.append(last_id)
                where.append(f"id > ${len(args)}")
            sql = f"SELECT {RECORD_COLS} FROM records"
            if where:
                sql += " WHERE " + " AND ".join(where)
            rows = await pool.fetch(f"{sql} ORDER BY id LIMIT {limit + 1}", *args)
            has_next = len(rows) > limit
            items = [record(r) for r in rows[:limit]]
            cursor = encode_cursor(items[-1]["id"]) if has_next else None
            return {"items": items, "next_cursor": cursor, "has_next": has_next}
        page = positive_int(params, "page", 1, 2**31)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        offset = (page - 1) * limit
        async with pool.acquire() as conn:
            total = await conn.fetchval(f"SELECT count(*) FROM records{clause}", *args)
            rows = await conn.fetch(
                f"SELECT {RECORD_COLS} FROM records{clause} ORDER BY id"
                f" LIMIT {limit} OFFSET {offset}",
                *args,
            )
        return {
            "items": [record(r) for r in rows],
            "total_count": total,
            "page": page,
            "limit": limit,
            "has_next": offset + len(rows) < total,
        }

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        values = [
            field(body, "owner_id", int),
            field(body, "title", str),
            field(body, "status", str),
            field(body, "amount_cents", int),
            field(body, "quantity", int),
        ]
        pool = await self._pool()
        try:
            row = await pool.fetchrow(INSERT, *values, dt.datetime.now(dt.UTC))
        except asyncpg.ForeignKeyViolationError:
            raise HttpError(409, "owner does not exist") from None
        return record(row)

    async def update(self, record_id: int, body: dict[str, Any]) -> dict[str, Any]:
        sets: list[str] = []
        args: list[Any] = [record_id]
        for name in WRITABLE:
            camel = CAMEL.get(name, name)
            if name in body or camel in body:
                args.append(field(body, name, str if name in ("title", "status") else int))
                sets.append(f"{name} = ${len(args)}")
        args.append(dt.datetime.now(dt.UTC))
        sets.append(f"updated_at = ${len(args)}")
        pool = await self._pool()
        row = await pool.fetchrow(
            f"UPDATE records SET {', '.join(sets)} WHERE id = $1 RETURNING {RECORD_COLS}", *args
        )
        if row is None:
            raise HttpError(404, "record not found")
        return record(row)

    def pricing(self, body: dict[str, Any]) -> dict[str, Any]:
        quantity = field(body, "quantity", int)
        unit = field(body, "unit_price_cents", int)
        discount = field(body, "discount_pct", int, 0)
        tax = field(body, "tax_rate_pct", int, 0)
        coupon = field(body, "coupon_code", str, None)
        if not (1 <= quantity <= 10_000 and 0 <= unit <= 10_000_000):
            raise HttpError(422, "quantity or unit price out of range")
        if not (0 <= discount <= 90 and 0 <= tax <= 50):
            raise HttpError(422, "discount or tax out of range")
        if coupon is not None and not COUPON_RE.match(coupon):
            raise HttpError(422, "bad coupon code")
        result = pricing(quantity, unit, discount, tax, coupon)
        if result["totalCents"] > MAX_TOTAL_CENTS:
            raise HttpError(422, "total too large")
        return result


def create_app(url: str | None = None) -> Floor:
    return Floor(url or database_url())
