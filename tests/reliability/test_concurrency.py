"""Racing clients: unique constraints hold without 500s, partial updates lose nothing."""

from __future__ import annotations

import asyncio

from tests.reliability.conftest import StoreClient, assert_problem


async def test_fifty_concurrent_creates_with_one_email(store: StoreClient) -> None:
    body = {"fullName": "Racer", "email": "race@example.com"}
    responses = await asyncio.gather(*(store.post("/users", json=body) for _ in range(50)))
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 1, statuses
    for r in responses:
        if r.status_code != 201:
            # The rule's check (422) or, for the racers that passed it, the unique index (409).
            assert_problem(r, (409, 422))
    listing = (await store.get("/users", params={"email": "race@example.com"})).json()
    assert listing["total_count"] == 1


async def test_fifty_concurrent_auto_crud_creates_with_one_sku(store: StoreClient) -> None:
    body = {"sku": "RACE", "name": "n", "category": "c", "priceCents": 1, "stock": 1}
    responses = await asyncio.gather(*(store.post("/products", json=body) for _ in range(50)))
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 1, statuses
    for r in responses:
        if r.status_code != 201:
            assert_problem(r, 409, "conflict")
    page = (await store.get("/products", params={"pagination": "offset"})).json()
    assert page["total_count"] == 1


async def test_concurrent_updates_of_different_fields_keep_both(store: StoreClient) -> None:
    products = [await store.product(f"UPD-{i}", stock=0) for i in range(10)]
    patches = []
    for i, product in enumerate(products):
        path = f"/products/{product['id']}"
        patches += [
            store.patch(path, json={"name": f"renamed {i}"}),
            store.patch(path, json={"stock": 100 + i}),
            store.patch(path, json={"priceCents": 500 + i}),
            store.patch(path, json={"category": f"cat {i}"}),
        ]
    responses = await asyncio.gather(*patches)
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    for i, product in enumerate(products):
        got = (await store.get(f"/products/{product['id']}")).json()
        assert (got["name"], got["stock"], got["priceCents"], got["category"]) == (
            f"renamed {i}",
            100 + i,
            500 + i,
            f"cat {i}",
        )
        assert got["sku"] == product["sku"]


async def test_concurrent_user_updates_keep_both_fields(store: StoreClient) -> None:
    user = await store.user("both@example.com", name="Before")
    path = f"/users/{user['id']}"
    results = await asyncio.gather(
        store.patch(path, json={"fullName": "After"}),
        store.patch(path, json={"email": "after@example.com"}),
    )
    assert [r.status_code for r in results] == [200, 200]
    got = (await store.get(path)).json()
    assert (got["fullName"], got["email"]) == ("After", "after@example.com")


async def test_concurrent_deletes_of_one_row(store: StoreClient) -> None:
    product = await store.product("DEL-RACE")
    path = f"/products/{product['id']}"
    responses = await asyncio.gather(*(store.delete(path) for _ in range(20)))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 1, statuses
    for r in responses:
        if r.status_code != 200:
            assert_problem(r, 404, "not_found")


async def test_deleting_a_user_while_adding_addresses(store: StoreClient) -> None:
    """A child insert racing its parent's delete is a 404/409, never a 500 or an orphan."""
    user = await store.user("parent@example.com")
    address = {"label": "l", "street": "s", "city": "c", "country": "x", "zipCode": "1"}
    adds = [store.post(f"/users/{user['id']}/addresses/", json=address) for _ in range(20)]
    responses = await asyncio.gather(*adds[:10], store.delete(f"/users/{user['id']}"), *adds[10:])
    for r in responses:
        assert r.status_code < 500, r.text
        if r.status_code >= 400:
            assert_problem(r, (404, 409))
    assert (await store.get(f"/users/{user['id']}")).status_code == 404
    # The address book of a missing user is a 404 itself; no address created before
    # the delete outlived it (each would still answer at its own URL).
    assert_problem(await store.get(f"/users/{user['id']}/addresses/"), 404)
    created = [r.json()["id"] for r in responses if r.status_code == 201]
    for address_id in created:
        left = await store.get(f"/users/{user['id']}/addresses/{address_id}")
        assert left.status_code == 404, left.text
