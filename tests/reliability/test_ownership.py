"""Nested resources: addresses under users never reach another owner's rows, for every verb."""

from __future__ import annotations

from typing import Any

import pytest

from tests.reliability.conftest import StoreClient, assert_problem


@pytest.fixture
async def two_owners(store: StoreClient) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    alice = await store.user("alice@example.com", "Alice")
    bob = await store.user("bob@example.com", "Bob")
    address = await store.address(alice["id"], label="alice-home")
    await store.address(bob["id"], label="bob-home")
    return alice, bob, address


async def test_get_of_another_owners_address_is_404(store: StoreClient, two_owners: Any) -> None:
    alice, bob, address = two_owners
    assert (await store.get(f"/users/{alice['id']}/addresses/{address['id']}")).status_code == 200
    body = assert_problem(
        await store.get(f"/users/{bob['id']}/addresses/{address['id']}"), 404, "not_found"
    )
    assert "alice" not in body["detail"].lower()


async def test_patch_of_another_owners_address_is_404_and_changes_nothing(
    store: StoreClient, two_owners: Any
) -> None:
    alice, bob, address = two_owners
    resp = await store.patch(
        f"/users/{bob['id']}/addresses/{address['id']}", json={"label": "pwned"}
    )
    assert_problem(resp, 404, "not_found")
    got = (await store.get(f"/users/{alice['id']}/addresses/{address['id']}")).json()
    assert got["label"] == "alice-home"


async def test_delete_of_another_owners_address_is_404_and_keeps_it(
    store: StoreClient, two_owners: Any
) -> None:
    alice, bob, address = two_owners
    assert_problem(await store.delete(f"/users/{bob['id']}/addresses/{address['id']}"), 404)
    assert (await store.get(f"/users/{alice['id']}/addresses/{address['id']}")).status_code == 200
    # The owner can delete it.
    resp = await store.delete(f"/users/{alice['id']}/addresses/{address['id']}")
    assert resp.status_code == 200 and resp.json() is True


async def test_list_shows_only_the_owners_rows(store: StoreClient, two_owners: Any) -> None:
    _alice, bob, _address = two_owners
    for pagination in ("offset", "cursor"):
        listing = await store.get(
            f"/users/{bob['id']}/addresses/", params={"pagination": pagination}
        )
        assert listing.status_code == 200, listing.text
        items = listing.json()["items"]
        assert [a["label"] for a in items] == ["bob-home"]
        assert all(a["userId"] == bob["id"] for a in items)


async def test_list_filters_cannot_widen_the_owner_scope(
    store: StoreClient, two_owners: Any
) -> None:
    alice, bob, _ = two_owners
    for params in (
        {"userId": str(alice["id"])},
        {"user_id__eq": str(alice["id"])},
        {"user_id__in": f"{alice['id']},{bob['id']}"},
        {"user_id__ne": str(bob["id"])},
        {"label__like": "%"},
    ):
        listing = await store.get(f"/users/{bob['id']}/addresses/", params=params)
        assert listing.status_code == 200, listing.text
        assert all(a["userId"] == bob["id"] for a in listing.json()["items"]), params


async def test_a_cursor_from_one_owner_does_not_page_another(
    store: StoreClient, two_owners: Any
) -> None:
    alice, bob, _ = two_owners
    await store.address(alice["id"], label="alice-work")
    first = await store.get(
        f"/users/{alice['id']}/addresses/", params={"pagination": "cursor", "limit": "1"}
    )
    token = first.json()["next_cursor"]
    assert token
    resp = await store.get(
        f"/users/{bob['id']}/addresses/",
        params={"pagination": "cursor", "limit": "1", "after": token},
    )
    if resp.status_code == 200:
        assert all(a["userId"] == bob["id"] for a in resp.json()["items"])
    else:
        assert_problem(resp, 422)


async def test_create_under_an_owner_belongs_to_that_owner(
    store: StoreClient, two_owners: Any
) -> None:
    alice, bob, _ = two_owners
    address = await store.address(bob["id"], label="bob-work")
    assert address["userId"] == bob["id"]
    labels = [
        a["label"] for a in (await store.get(f"/users/{alice['id']}/addresses/")).json()["items"]
    ]
    assert "bob-work" not in labels


async def test_create_under_a_missing_owner_is_404(store: StoreClient) -> None:
    address = {"label": "l", "street": "s", "city": "c", "country": "x", "zipCode": "1"}
    assert_problem(await store.post("/users/999/addresses/", json=address), 404, "not_found")


async def test_every_verb_under_a_missing_owner_is_404(store: StoreClient, two_owners: Any) -> None:
    _, _, address = two_owners
    base = f"/users/999/addresses/{address['id']}"
    assert_problem(await store.get(base), 404)
    assert_problem(await store.patch(base, json={"label": "x"}), 404)
    assert_problem(await store.delete(base), 404)
    listing = await store.get("/users/999/addresses/")
    assert listing.status_code in (200, 404)
    if listing.status_code == 200:
        assert listing.json()["items"] == []


async def test_an_order_cannot_use_another_users_address(
    store: StoreClient, two_owners: Any
) -> None:
    _alice, bob, address = two_owners
    resp = await store.post("/orders", json={"userId": bob["id"], "addressId": address["id"]})
    assert_problem(resp, 422, "rule_violations")


async def test_order_items_stay_under_their_order(store: StoreClient, two_owners: Any) -> None:
    alice, bob, address = two_owners
    bob_address = (await store.get(f"/users/{bob['id']}/addresses/")).json()["items"][0]
    product = await store.product("OWN-1", stock=3)
    order_a = (
        await store.post("/orders", json={"userId": alice["id"], "addressId": address["id"]})
    ).json()
    order_b = (
        await store.post("/orders", json={"userId": bob["id"], "addressId": bob_address["id"]})
    ).json()
    item = (
        await store.post(
            f"/orders/{order_a['id']}/items", json={"productId": product["id"], "quantity": 1}
        )
    ).json()
    assert_problem(await store.delete(f"/orders/{order_b['id']}/items/{item['id']}"), 404)
    items_b = (await store.get(f"/orders/{order_b['id']}/items")).json()["items"]
    assert items_b == []
    items_a = (await store.get(f"/orders/{order_a['id']}/items")).json()["items"]
    assert [i["id"] for i in items_a] == [item["id"]]
