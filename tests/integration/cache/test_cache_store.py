"""The store example with the cache on: ``with_details`` orders stay fresh over HTTP."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from loom.core.cache import CachedRepository
from loom.testing import HttpHarness

STORE_CONFIG = Path(__file__).resolve().parents[3] / "examples" / "store" / "config" / "api.yaml"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def http(request: pytest.FixtureRequest, db_url: str) -> AsyncIterator[HttpHarness]:
    overrides: dict[str, Any] = {
        "database.url": db_url,
        "metrics.enabled": False,
        "logger.level": "WARNING",
        "cache.enabled": True,
        "cache.backend": request.param,
        "cache.namespace": f"loomtest:store:{secrets.token_hex(4)}",
    }
    if request.param == "redis":
        overrides["cache.url"] = request.getfixturevalue("redis_url")
    async with HttpHarness(STORE_CONFIG, overrides=overrides, capture_jobs=True) as harness:
        yield harness


async def place_order(http: HttpHarness) -> dict[str, Any]:
    tag = secrets.token_hex(3)
    user = (await http.post("/users", json={"fullName": "Ada", "email": f"{tag}@x.io"})).json()
    address = await http.post(
        f"/users/{user['id']}/addresses/",
        json={
            "label": "home",
            "street": "1 Main",
            "city": "Oslo",
            "country": "NO",
            "zipCode": "0150",
        },
    )
    assert address.status_code == 201, address.text
    product = await http.post(
        "/products",
        json={
            "sku": f"SKU-{tag}",
            "name": "Lamp",
            "category": "home",
            "priceCents": 900,
            "stock": 3,
        },
    )
    assert product.status_code == 201, product.text
    order = await http.post(
        "/orders", json={"userId": user["id"], "addressId": address.json()["id"]}
    )
    assert order.status_code == 201, order.text
    return {"user": user, "product": product.json(), "order": order.json()}


async def test_store_order_with_details_is_cached_and_invalidated(http: HttpHarness) -> None:
    from app.order.model import Order  # the store's code path is importable once it runs

    assert isinstance(http.repo(Order), CachedRepository)
    seeded = await place_order(http)
    order_id = seeded["order"]["id"]
    plain = (await http.get(f"/orders/{order_id}")).json()
    assert "items" not in plain and "itemsCount" not in plain and "user" not in plain

    detailed = await http.get(f"/orders/{order_id}", params={"profile": "with_details"})
    assert detailed.status_code == 200, detailed.text
    body = detailed.json()
    assert body["user"]["fullName"] == "Ada"
    assert body["address"]["city"] == "Oslo"
    assert body["items"] == [] and body["itemsCount"] == 0

    added = await http.post(
        f"/orders/{order_id}/items", json={"productId": seeded["product"]["id"], "quantity": 2}
    )
    assert added.status_code == 201, added.text
    body = (await http.get(f"/orders/{order_id}", params={"profile": "with_details"})).json()
    assert body["itemsCount"] == 1 and body["items"][0]["quantity"] == 2

    await http.patch(f"/users/{seeded['user']['id']}", json={"fullName": "Ada L."})
    page = (await http.get("/orders", params={"profile": "with_details"})).json()
    mine = next(o for o in page["items"] if o["id"] == order_id)
    assert mine["user"]["fullName"] == "Ada L." and mine["itemsCount"] == 1

    sales = (
        await http.get(f"/products/{seeded['product']['id']}", params={"profile": "with_sales"})
    ).json()
    assert sales["orderLinesCount"] == 1 and sales["everOrdered"] is True

    bad = await http.get(f"/orders/{order_id}", params={"profile": "everything"})
    assert bad.status_code == 422
    assert bad.json()["code"] == "validation_error"


async def test_openapi_describes_the_profile_fields(http: HttpHarness) -> None:
    doc = (await http.get("/openapi.json")).json()
    get_order = doc["paths"]["/orders/{order_id}"]["get"]
    profile = next(p for p in get_order["parameters"] if p["name"] == "profile")
    assert profile["schema"]["enum"] == ["default", "with_details"]
    assert "`with_details` adds `user`, `address`, `items`, `itemsCount`" in profile["description"]
    schema = get_order["responses"]["200"]["content"]["application/json"]["schema"]
    ref = schema["$ref"].rsplit("/", 1)[-1]
    order = doc["components"]["schemas"][ref]
    for name in ("user", "address", "items", "itemsCount"):
        assert name in order["properties"]
        assert name not in order.get("required", [])
    assert order["properties"]["items"]["type"] == "array"
    assert "with_details" in order["properties"]["itemsCount"]["description"]
    # The collection is documented where the interface declares it ("/orders/" for a
    # 0.2-style "/" route), and served with or without the slash.
    listing = next(
        doc["paths"][p]["get"] for p in ("/orders", "/orders/") if "get" in doc["paths"].get(p, {})
    )
    assert any(p["name"] == "profile" for p in listing["parameters"])
