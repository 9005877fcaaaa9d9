"""Create and update never set the key, the timestamps, or fields the command does not declare."""

from __future__ import annotations

import datetime as dt

from tests.reliability.conftest import StoreClient

FORGED = {
    "id": 4242,
    "createdAt": "2000-01-01T00:00:00Z",
    "created_at": "2000-01-01T00:00:00Z",
    "updatedAt": "2000-01-01T00:00:00Z",
    "updated_at": "2000-01-01T00:00:00Z",
}


def _recent(value: str) -> bool:
    stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return stamp.year > 2000


async def test_auto_crud_create_ignores_key_and_timestamps(store: StoreClient) -> None:
    body = {"sku": "MA-1", "name": "n", "category": "c", "priceCents": 1, "stock": 1, **FORGED}
    resp = await store.post("/products", json=body)
    assert resp.status_code == 201, resp.text
    product = resp.json()
    assert product["id"] != 4242
    assert _recent(product["createdAt"]) and _recent(product["updatedAt"])
    assert (await store.get("/products/4242")).status_code == 404


async def test_auto_crud_update_ignores_key_and_timestamps(store: StoreClient) -> None:
    product = await store.product("MA-2")
    path = f"/products/{product['id']}"
    resp = await store.patch(path, json={"name": "renamed", **FORGED})
    assert resp.status_code == 200, resp.text
    got = (await store.get(path)).json()
    assert got["id"] == product["id"] and got["name"] == "renamed"
    assert got["createdAt"] == product["createdAt"]
    assert _recent(got["updatedAt"]) and got["updatedAt"] >= product["updatedAt"]
    assert (await store.get("/products/4242")).status_code == 404


async def test_update_with_only_forged_fields_changes_nothing(store: StoreClient) -> None:
    product = await store.product("MA-3")
    resp = await store.patch(f"/products/{product['id']}", json=FORGED)
    assert resp.status_code == 200, resp.text
    got = (await store.get(f"/products/{product['id']}")).json()
    assert {k: got[k] for k in ("id", "createdAt", "name")} == {
        k: product[k] for k in ("id", "createdAt", "name")
    }


async def test_command_create_ignores_undeclared_fields(store: StoreClient) -> None:
    resp = await store.post(
        "/users", json={"fullName": "Ada", "email": "ma@example.com", **FORGED, "role": "admin"}
    )
    assert resp.status_code == 201, resp.text
    user = resp.json()
    assert user["id"] != 4242 and _recent(user["createdAt"]) and "role" not in user


async def test_command_update_ignores_undeclared_fields(store: StoreClient) -> None:
    user = await store.user("ma-upd@example.com")
    resp = await store.patch(f"/users/{user['id']}", json={"fullName": "New", **FORGED})
    assert resp.status_code == 200, resp.text
    got = (await store.get(f"/users/{user['id']}")).json()
    assert got["id"] == user["id"] and got["createdAt"] == user["createdAt"]
    assert got["fullName"] == "New"


async def test_nested_create_takes_the_owner_from_the_path(store: StoreClient) -> None:
    owner = await store.user("owner@example.com")
    other = await store.user("other@example.com")
    body = {
        "label": "home",
        "street": "s",
        "city": "c",
        "country": "x",
        "zipCode": "1",
        "userId": other["id"],
        "user_id": other["id"],
        "id": 999,
    }
    resp = await store.post(f"/users/{owner['id']}/addresses/", json=body)
    assert resp.status_code == 201, resp.text
    address = resp.json()
    assert address["userId"] == owner["id"] and address["id"] != 999
    assert (await store.get(f"/users/{other['id']}/addresses/")).json()["items"] == []


async def test_nested_update_cannot_move_a_row_to_another_owner(store: StoreClient) -> None:
    owner = await store.user("owner2@example.com")
    other = await store.user("other2@example.com")
    address = await store.address(owner["id"])
    path = f"/users/{owner['id']}/addresses/{address['id']}"
    resp = await store.patch(path, json={"label": "moved?", "userId": other["id"], "id": 1})
    assert resp.status_code == 200, resp.text
    got = (await store.get(path)).json()
    assert got["userId"] == owner["id"] and got["id"] == address["id"]
    assert got["label"] == "moved?"


async def test_server_computed_fields_cannot_be_sent(store: StoreClient) -> None:
    """The price of an order item is the product's, whatever the client says."""
    user = await store.user("buyer@example.com")
    address = await store.address(user["id"])
    product = await store.product("PRICED", priceCents=1999, stock=5)
    order = await store.post("/orders", json={"userId": user["id"], "addressId": address["id"]})
    assert order.status_code == 201, order.text
    item = await store.post(
        f"/orders/{order.json()['id']}/items",
        json={"productId": product["id"], "quantity": 2, "unitPriceCents": 1, "orderId": 0},
    )
    assert item.status_code == 201, item.text
    assert item.json()["unitPriceCents"] == 1999
    assert item.json()["orderId"] == order.json()["id"]


async def test_order_update_cannot_change_its_owner(store: StoreClient) -> None:
    user = await store.user("o1@example.com")
    thief = await store.user("o2@example.com")
    address = await store.address(user["id"])
    order = (
        await store.post("/orders", json={"userId": user["id"], "addressId": address["id"]})
    ).json()
    resp = await store.patch(
        f"/orders/{order['id']}", json={"notes": "hi", "userId": thief["id"], "addressId": 0}
    )
    assert resp.status_code == 200, resp.text
    got = (await store.get(f"/orders/{order['id']}")).json()
    assert (got["userId"], got["addressId"], got["notes"]) == (user["id"], address["id"], "hi")
