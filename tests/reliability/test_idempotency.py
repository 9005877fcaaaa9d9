"""``Idempotency-Key`` on POST: a retry gets the first response and creates nothing twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from tests.reliability.conftest import StoreClient, assert_problem, open_client

USER = {"fullName": "Ada Lovelace", "email": "ada@example.com"}


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def stored_rows(client: StoreClient) -> list[Any]:
    database = client.app.state.loom.database
    async with database.engine.connect() as conn:
        result = await conn.execute(sa.text("SELECT key, route, status FROM loom_idempotency"))
        return list(result)


async def test_retry_returns_the_first_response_and_creates_nothing_twice(
    store: StoreClient,
) -> None:
    headers = key()
    first = await store.post("/users", json=USER, headers=headers)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    for _ in range(3):
        again = await store.post("/users", json=USER, headers=headers)
        assert again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert again.headers["content-type"] == first.headers["content-type"]
    assert (await store.get("/users")).json()["total_count"] == 1
    # Stored in the database, with the route and the status.
    rows = await stored_rows(store)
    assert [(r.key, r.route, r.status) for r in rows] == [
        (headers["Idempotency-Key"], "POST /users", 201)
    ]


async def test_without_a_key_nothing_changes(store: StoreClient) -> None:
    assert (await store.post("/users", json=USER)).status_code == 201
    again = await store.post("/users", json=USER)
    assert_problem(again, (409, 422))
    assert await stored_rows(store) == []


async def test_same_key_with_another_body_or_route_is_422(store: StoreClient) -> None:
    headers = key()
    assert (await store.post("/users", json=USER, headers=headers)).status_code == 201
    other = {"fullName": "Grace Hopper", "email": "grace@example.com"}
    body = assert_problem(await store.post("/users", json=other, headers=headers), 422)
    assert body["errors"][0]["field"] == "Idempotency-Key"
    product = {"sku": "K-1", "name": "n", "category": "c", "priceCents": 1, "stock": 1}
    assert_problem(await store.post("/products", json=product, headers=headers), 422)
    listing = (await store.get("/users")).json()
    assert [u["email"] for u in listing["items"]] == [USER["email"]]
    assert (await store.get("/products", params={"pagination": "offset"})).json()[
        "total_count"
    ] == 0


async def test_a_failed_request_is_not_stored_and_can_be_retried(store: StoreClient) -> None:
    headers = key()
    failed = await store.post("/users", json={"fullName": "Ada"}, headers=headers)
    assert_problem(failed, 422)
    assert await stored_rows(store) == []
    # Nothing was stored for the key, so the corrected request runs (and is then kept).
    fixed = await store.post("/users", json=USER, headers=headers)
    assert fixed.status_code == 201
    replay = await store.post("/users", json=USER, headers=headers)
    assert replay.json() == fixed.json()
    assert replay.headers["idempotent-replayed"] == "true"


async def test_a_conflicting_write_stores_nothing(store: StoreClient) -> None:
    await store.product("DUP-1")
    headers = key()
    body = {"sku": "DUP-1", "name": "again", "category": "c", "priceCents": 5, "stock": 1}
    assert_problem(await store.post("/products", json=body, headers=headers), 409, "conflict")
    assert await stored_rows(store) == []
    assert (await store.get("/products", params={"pagination": "offset"})).json()[
        "total_count"
    ] == 1


async def test_concurrent_duplicates_create_one_row(store: StoreClient) -> None:
    headers = key()
    responses = await asyncio.gather(
        *(store.post("/users", json=USER, headers=headers) for _ in range(10))
    )
    statuses = sorted(r.status_code for r in responses)
    assert all(s < 500 for s in statuses), [r.text for r in responses]
    created = [r for r in responses if r.status_code == 201]
    assert created, statuses
    # Every success is the same response; any other answer is the documented "in progress".
    assert {r.text for r in created} == {created[0].text}
    for r in responses:
        if r.status_code != 201:
            assert_problem(r, 409, "idempotency_in_progress")
    assert (await store.get("/users")).json()["total_count"] == 1


async def test_job_dispatch_is_not_repeated(store: StoreClient) -> None:
    product = await store.product("JOB-1", stock=0)
    headers = key()
    path = f"/products/{product['id']}/jobs/restock-email"
    first = await store.post(path, json={"recipientEmail": "ops@example.com"}, headers=headers)
    assert first.status_code == 202, first.text
    again = await store.post(path, json={"recipientEmail": "ops@example.com"}, headers=headers)
    assert again.status_code == 202
    assert again.json()["jobId"] == first.json()["jobId"]


async def test_invalid_keys_are_422(store: StoreClient) -> None:
    for bad in ("", "   ", "k" * 256, "ключ"):
        resp = await store.post("/users", json=USER, headers={"Idempotency-Key": bad.encode()})
        body = assert_problem(resp, 422)
        assert body["errors"][0]["field"] == "Idempotency-Key"
    assert (await store.get("/users")).json()["total_count"] == 0


async def test_body_over_the_limit_with_a_key_is_413(store: StoreClient) -> None:
    huge = {"fullName": "x" * (1024 * 1024 + 1), "email": "big@example.com"}
    assert_problem(await store.post("/users", json=huge, headers=key()), 413)


async def test_an_expired_key_runs_again(store_app: Callable[..., Any]) -> None:
    app = store_app(app={"rest": {"idempotency": {"ttl_seconds": 0}}})
    async for client in open_client(app):
        headers = key()
        assert (await client.post("/users", json=USER, headers=headers)).status_code == 201
        again = await client.post("/users", json=USER, headers=headers)
        assert_problem(again, (409, 422))  # ran again: the email is taken now
        assert "idempotent-replayed" not in again.headers


async def test_disabled_by_config(store_app: Callable[..., Any]) -> None:
    app = store_app(app={"rest": {"idempotency": {"enabled": False}}})
    async for client in open_client(app):
        headers = key()
        assert (await client.post("/users", json=USER, headers=headers)).status_code == 201
        assert_problem(await client.post("/users", json=USER, headers=headers), (409, 422))


async def test_the_header_is_documented_on_post_operations(store: StoreClient) -> None:
    document = (await store.get("/openapi.json")).json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            names = [p["name"] for p in operation.get("parameters", [])]
            assert ("Idempotency-Key" in names) == (method == "post"), (method, path)
