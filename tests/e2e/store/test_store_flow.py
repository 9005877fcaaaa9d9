"""The store example end to end over real HTTP, on SQLite and on PostgreSQL.

One uvicorn process per backend, each on a database of its own created for this
module. Tests do not depend on each other: every one makes its own users, SKUs and
categories (suffixed with a random tag).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from store_server import running_store
from tests.conftest import (
    PG_HOST,
    PG_PORT,
    PG_USER,
    SQL_BACKENDS,
    _pg_admin,
    pg_available,
    pg_problem,
    require_service,
)


@pytest.fixture(scope="module", params=SQL_BACKENDS)
def base_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp(f"store_{request.param}")
    if request.param == "sqlite":
        with running_store(f"sqlite+aiosqlite:///{workdir / 'store.db'}", workdir) as url:
            yield url
        return
    require_service(pg_available(), pg_problem() or "")
    name = f"loom_e2e_store_{secrets.token_hex(4)}"
    _pg_admin(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'")
    try:
        dsn = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
        with running_store(dsn, workdir) as url:
            yield url
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def api(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=20) as client:
        yield client


def tag() -> str:
    return secrets.token_hex(4)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (
        f"{response.request.method} {response.url}: {response.text}"
    )
    return response.json()


def problem(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (
        f"{response.request.method} {response.url}: {response.text}"
    )
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "code", "trace_id"} <= set(body)
    if code is not None:
        assert body["code"] == code
    return body


def new_user(api: httpx.Client, name: str = "Ada Lovelace") -> dict[str, Any]:
    return ok(api.post("/users", json={"fullName": name, "email": f"{tag()}@example.com"}), 201)  # type: ignore[no-any-return]


def new_address(api: httpx.Client, user_id: int, label: str = "home") -> dict[str, Any]:
    body = {
        "label": label,
        "street": "1 Main St",
        "city": "Turin",
        "country": "IT",
        "zipCode": "10100",
    }
    return ok(api.post(f"/users/{user_id}/addresses/", json=body), 201)  # type: ignore[no-any-return]


def new_product(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    body = {
        "sku": f"SKU-{tag()}",
        "name": "Desk",
        "category": "office",
        "priceCents": 1000,
        "stock": 10,
    }
    body.update(fields)
    return ok(api.post("/products", json=body), 201)  # type: ignore[no-any-return]


# -- the full flow -------------------------------------------------------------------


def test_full_shop_flow(api: httpx.Client) -> None:
    user = new_user(api, "Grace Hopper")
    assert set(user) == {"id", "fullName", "email", "createdAt", "updatedAt"}
    uid = user["id"]
    address = new_address(api, uid)
    assert address["userId"] == uid and address["zipCode"] == "10100"
    product = new_product(api, name="  Standing Desk  ", priceCents=45000, stock=3)
    assert product["name"] == "Standing Desk"  # the custom repository strips it
    order = ok(api.post("/orders", json={"userId": uid, "addressId": address["id"]}), 201)
    assert order["status"] == "pending" and order["notes"] is None
    oid = order["id"]
    item = ok(
        api.post(f"/orders/{oid}/items", json={"productId": product["id"], "quantity": 2}), 201
    )
    assert item == {
        "id": item["id"],
        "orderId": oid,
        "productId": product["id"],
        "quantity": 2,
        "unitPriceCents": 45000,
    }
    assert ok(api.get(f"/orders/{oid}/total")) == {"orderId": oid, "items": 1, "totalCents": 90000}
    items = ok(api.get(f"/orders/{oid}/items"))
    assert [i["id"] for i in items["items"]] == [item["id"]]

    # patches: only the fields sent change
    renamed = ok(api.patch(f"/users/{uid}", json={"full_name": "Rear Admiral Hopper"}))
    assert renamed["fullName"] == "Rear Admiral Hopper" and renamed["email"] == user["email"]
    assert renamed["updatedAt"] >= user["updatedAt"]
    moved = ok(api.patch(f"/users/{uid}/addresses/{address['id']}", json={"city": "Milan"}))
    assert (moved["city"], moved["street"]) == ("Milan", "1 Main St")
    paid = ok(api.patch(f"/orders/{oid}", json={"status": " PAID "}))
    assert paid["status"] == "paid"
    repriced = ok(api.patch(f"/products/{product['id']}", json={"priceCents": 40000}))
    assert (repriced["priceCents"], repriced["stock"]) == (40000, 3)

    # what the API reads back
    assert ok(api.get(f"/users/{uid}"))["fullName"] == "Rear Admiral Hopper"
    assert ok(api.get(f"/users/{uid}/addresses/{address['id']}"))["city"] == "Milan"
    assert ok(api.get(f"/orders/{oid}"))["status"] == "paid"
    listed = ok(api.get(f"/users/{uid}/addresses/"))
    assert [a["id"] for a in listed["items"]] == [address["id"]]
    assert listed["total_count"] == 1

    # removing things
    assert ok(api.delete(f"/orders/{oid}/items/{item['id']}")) is True
    assert ok(api.get(f"/orders/{oid}/total"))["items"] == 0
    assert ok(api.delete(f"/orders/{oid}")) is True
    problem(api.get(f"/orders/{oid}"), 404, "not_found")


# -- pagination and filters -----------------------------------------------------------


def test_paginate_products_by_cursor_and_by_offset(api: httpx.Client) -> None:
    category = f"pag-{tag()}"
    created = [new_product(api, category=category, priceCents=100 + i, stock=i) for i in range(11)]
    ids = [p["id"] for p in created]

    # cursor (the products interface's default): walk every page
    seen: list[int] = []
    page = ok(api.get("/products", params={"category": category, "limit": 4}))
    pages = 1
    while True:
        assert set(page) == {"items", "next_cursor", "has_next"}
        seen += [p["id"] for p in page["items"]]
        if not page["has_next"]:
            assert page["next_cursor"] is None
            break
        page = ok(
            api.get(
                "/products", params={"category": category, "limit": 4, "after": page["next_cursor"]}
            )
        )
        pages += 1
    assert seen == sorted(ids) and pages == 3

    # descending by price, through cursors too
    seen = []
    params: dict[str, Any] = {
        "category": category,
        "limit": 5,
        "sort": "price_cents",
        "direction": "DESC",
    }
    page = ok(api.get("/products", params=params))
    while True:
        seen += [p["priceCents"] for p in page["items"]]
        if not page["has_next"]:
            break
        page = ok(api.get("/products", params={**params, "cursor": page["next_cursor"]}))
    assert seen == sorted((p["priceCents"] for p in created), reverse=True)

    # offset
    first = ok(
        api.get("/products", params={"category": category, "pagination": "offset", "limit": 4})
    )
    assert (first["total_count"], first["page"], first["limit"], first["has_next"]) == (
        11,
        1,
        4,
        True,
    )
    last = ok(
        api.get(
            "/products",
            params={"category": category, "pagination": "offset", "limit": 4, "page": 3},
        )
    )
    assert [p["id"] for p in last["items"]] == ids[8:] and last["has_next"] is False

    problem(api.get("/products", params={"limit": 0}), 422, "validation_error")
    problem(api.get("/products", params={"limit": 1001}), 422, "validation_error")
    problem(api.get("/products", params={"pagination": "offset", "page": 0}), 422)
    problem(api.get("/products", params={"after": "not-a-cursor"}), 422)


def test_filters_and_low_stock(api: httpx.Client) -> None:
    category = f"flt-{tag()}"
    a = new_product(api, category=category, name="Oak Chair", priceCents=5000, stock=0)
    b = new_product(api, category=category, name="oak table", priceCents=20000, stock=2)
    c = new_product(api, category=category, name="Lamp", priceCents=3000, stock=50)

    def ids(**query: Any) -> list[int]:
        page = ok(api.get("/products", params={"category": category, "sort": "id", **query}))
        return [p["id"] for p in page["items"]]

    assert ids(price_cents__gte=5000) == [a["id"], b["id"]]
    assert ids(price_cents__lt=5000) == [c["id"]]
    assert ids(stock__lte=2, stock__ne=0) == [b["id"]]
    assert ids(sku__in=f"{a['sku']},{c['sku']}") == [a["id"], c["id"]]
    assert ids(name__ilike="oak%") == [a["id"], b["id"]]
    assert ids(name__like="oak%") == [b["id"]]
    assert ids(category__ne=category) == []
    low = ok(api.get("/products/low-stock"))
    assert {a["id"], b["id"]} <= {p["id"] for p in low["items"]}
    assert c["id"] not in {p["id"] for p in low["items"]}
    assert all(p["stock"] <= 5 for p in low["items"])
    assert "total_count" in low  # an offset page whatever the interface default
    problem(api.get("/products", params={"colour": "red"}), 422, "validation_error")
    problem(api.get("/products", params={"stock__around": 3}), 422, "validation_error")
    problem(api.get("/products", params={"sort": "colour"}), 422, "validation_error")


def test_address_list_is_scoped_and_filterable(api: httpx.Client) -> None:
    owner = new_user(api)
    other = new_user(api)
    home = new_address(api, owner["id"], "home")
    new_address(api, owner["id"], "work")
    new_address(api, other["id"], "home")
    page = ok(api.get(f"/users/{owner['id']}/addresses/", params={"label": "home"}))
    assert [x["id"] for x in page["items"]] == [home["id"]]
    cursor = ok(
        api.get(f"/users/{owner['id']}/addresses/", params={"pagination": "cursor", "limit": 1})
    )
    assert cursor["has_next"] is True
    nxt = ok(
        api.get(
            f"/users/{owner['id']}/addresses/",
            params={"pagination": "cursor", "limit": 1, "after": cursor["next_cursor"]},
        )
    )
    assert nxt["has_next"] is False and nxt["items"][0]["label"] == "work"


# -- deletes ----------------------------------------------------------------------------


def test_deletes_and_cascade(api: httpx.Client) -> None:
    product = new_product(api)
    assert ok(api.delete(f"/products/{product['id']}")) is True
    problem(api.get(f"/products/{product['id']}"), 404, "not_found")
    problem(api.delete(f"/products/{product['id']}"), 404, "not_found")

    user = new_user(api)
    first = new_address(api, user["id"], "home")
    second = new_address(api, user["id"], "work")
    assert ok(api.delete(f"/users/{user['id']}/addresses/{first['id']}")) is True
    problem(api.get(f"/users/{user['id']}/addresses/{first['id']}"), 404)
    assert ok(api.delete(f"/users/{user['id']}")) is True
    problem(api.get(f"/users/{user['id']}"), 404, "not_found")
    # the user's addresses went with them (ON DELETE CASCADE)
    problem(api.get(f"/users/{user['id']}/addresses/{second['id']}"), 404)
    # and so did their address book: a nested collection of a missing user is a 404,
    # like the user (it answered 200 [] before; the stateful fuzzer flagged it)
    problem(api.get(f"/users/{user['id']}/addresses/"), 404, "not_found")
    problem(api.delete(f"/users/{user['id']}"), 404, "not_found")


def test_deleting_a_user_with_orders_removes_everything_of_theirs(api: httpx.Client) -> None:
    user = new_user(api)
    address = new_address(api, user["id"])
    product = new_product(api)
    order = ok(api.post("/orders", json={"userId": user["id"], "addressId": address["id"]}), 201)
    ok(
        api.post(f"/orders/{order['id']}/items", json={"productId": product["id"], "quantity": 1}),
        201,
    )
    assert ok(api.delete(f"/users/{user['id']}")) is True
    problem(api.get(f"/orders/{order['id']}"), 404)
    problem(api.get(f"/users/{user['id']}/addresses/{address['id']}"), 404)
    # the product is still there: items only reference it
    assert ok(api.get(f"/products/{product['id']}"))["id"] == product["id"]


# -- errors -------------------------------------------------------------------------


def test_not_found_everywhere(api: httpx.Client) -> None:
    missing = 987654321
    for method, path, body in [
        ("GET", f"/users/{missing}", None),
        ("PATCH", f"/users/{missing}", {"fullName": "x"}),
        ("DELETE", f"/users/{missing}", None),
        ("GET", f"/products/{missing}", None),
        ("PATCH", f"/products/{missing}", {"stock": 1}),
        ("GET", f"/orders/{missing}", None),
        ("PATCH", f"/orders/{missing}", {"status": "paid"}),
        ("GET", f"/orders/{missing}/total", None),
        ("GET", f"/orders/{missing}/items", None),
        ("POST", f"/orders/{missing}/items", {"productId": 1, "quantity": 1}),
        (
            "POST",
            f"/users/{missing}/addresses/",
            {"label": "l", "street": "s", "city": "c", "country": "x", "zipCode": "1"},
        ),
        ("GET", f"/users/{missing}/addresses/1", None),
        ("GET", "/no/such/route", None),
    ]:
        problem(api.request(method, path, json=body), 404, "not_found")


def test_duplicate_sku_is_409(api: httpx.Client) -> None:
    product = new_product(api)
    body = problem(
        api.post(
            "/products",
            json={"sku": product["sku"], "name": "x", "category": "c", "priceCents": 1, "stock": 1},
        ),
        409,
        "conflict",
    )
    assert "sku" in body["detail"]
    other = new_product(api)
    problem(api.patch(f"/products/{other['id']}", json={"sku": product["sku"]}), 409, "conflict")


def test_user_validation_is_422(api: httpx.Client) -> None:
    email = f"{tag()}@example.com"
    body = problem(
        api.post("/users", json={"fullName": "Ann", "email": "not-an-email"}),
        422,
        "rule_violations",
    )
    assert body["errors"] == [{"field": "email", "message": "must be a valid email address"}]
    body = problem(
        api.post("/users", json={"fullName": "   ", "email": email}), 422, "rule_violations"
    )
    # Rule violations name the Python field, as in 0.2 (body validation errors name the
    # key as sent on the wire).
    assert body["errors"] == [{"field": "full_name", "message": "must not be blank"}]
    both = problem(api.post("/users", json={"fullName": "", "email": "nope"}), 422)
    assert {e["field"] for e in both["errors"]} == {"email", "full_name"}
    ok(api.post("/users", json={"fullName": "Ann", "email": email}), 201)
    dup = problem(
        api.post("/users", json={"full_name": "Other Ann", "email": email}), 422, "rule_violations"
    )
    assert dup["errors"][0]["field"] == "email"
    missing = problem(api.post("/users", json={"fullName": "Ann"}), 422, "validation_error")
    assert missing["errors"][0]["field"] == "email"
    problem(api.post("/users", content=b"{oops", headers={"content-type": "application/json"}), 422)
    problem(api.post("/users", json=["not", "an", "object"]), 422)
    problem(api.post("/users", json={"fullName": 5, "email": email}), 422, "validation_error")


def test_user_patch_validation(api: httpx.Client) -> None:
    user = new_user(api)
    taken = new_user(api)
    uid = user["id"]
    problem(api.patch(f"/users/{uid}", json={"email": "bad"}), 422, "rule_violations")
    problem(api.patch(f"/users/{uid}", json={"fullName": " "}), 422, "rule_violations")
    problem(api.patch(f"/users/{uid}", json={"email": None}), 422)
    dup = problem(
        api.patch(f"/users/{uid}", json={"email": taken["email"]}), 422, "rule_violations"
    )
    assert dup["errors"][0]["field"] == "email"
    # keeping one's own email is not a duplicate
    same = ok(api.patch(f"/users/{uid}", json={"email": user["email"], "fullName": "New Name"}))
    assert same["fullName"] == "New Name"
    assert ok(api.get(f"/users/{uid}"))["email"] == user["email"]


def test_addresses_of_another_user_are_404(api: httpx.Client) -> None:
    owner = new_user(api)
    intruder = new_user(api)
    address = new_address(api, owner["id"])
    url = f"/users/{intruder['id']}/addresses/{address['id']}"
    problem(api.get(url), 404, "not_found")
    problem(api.patch(url, json={"city": "Hacked"}), 404, "not_found")
    problem(api.delete(url), 404, "not_found")
    untouched = ok(api.get(f"/users/{owner['id']}/addresses/{address['id']}"))
    assert untouched["city"] == "Turin"
    assert ok(api.get(f"/users/{intruder['id']}/addresses/"))["items"] == []


def test_order_rules(api: httpx.Client) -> None:
    buyer = new_user(api)
    stranger = new_user(api)
    theirs = new_address(api, stranger["id"])
    mine = new_address(api, buyer["id"])
    body = problem(
        api.post("/orders", json={"userId": buyer["id"], "addressId": theirs["id"]}),
        422,
        "rule_violations",
    )
    assert "another user" in body["errors"][0]["message"]
    problem(api.post("/orders", json={"userId": buyer["id"], "addressId": 987654321}), 404)
    problem(api.post("/orders", json={"userId": 987654321, "addressId": mine["id"]}), 404)
    bad = problem(
        api.post(
            "/orders", json={"userId": buyer["id"], "addressId": mine["id"], "status": "lost"}
        ),
        422,
    )
    assert bad["errors"][0]["field"] == "status"
    order = ok(api.post("/orders", json={"userId": buyer["id"], "addressId": mine["id"]}), 201)
    problem(
        api.patch(f"/orders/{order['id']}", json={"status": "teleported"}), 422, "rule_violations"
    )
    assert (
        ok(api.patch(f"/orders/{order['id']}", json={"notes": "leave at door"}))["status"]
        == "pending"
    )

    # items
    problem(
        api.post(f"/orders/{order['id']}/items", json={"productId": 987654321, "quantity": 1}), 404
    )
    product = new_product(api)
    problem(
        api.post(f"/orders/{order['id']}/items", json={"productId": product["id"], "quantity": 0}),
        422,
        "rule_violations",
    )
    problem(api.post(f"/orders/{order['id']}/items", json={"productId": "x", "quantity": 1}), 422)


def test_routing_details(api: httpx.Client) -> None:
    problem(api.get("/products/abc"), 422, "validation_error")
    problem(api.get("/users/abc/addresses/"), 422, "validation_error")
    response = api.put("/products/1", json={})
    problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "DELETE, GET, HEAD, PATCH"
    response = api.delete("/users")
    assert response.headers["allow"] == "GET, HEAD, POST"
    assert ok(api.get("/products/low-stock"))["limit"] == 20
    request_id = f"e2e-{tag()}"
    response = api.get("/users/0", headers={"x-request-id": request_id})
    assert response.headers["x-request-id"] == request_id
    assert response.json()["trace_id"] == request_id


def test_docs_and_openapi(api: httpx.Client) -> None:
    assert "swagger-ui" in api.get("/docs").text.lower()
    doc = ok(api.get("/openapi.json"))
    assert doc["openapi"].startswith("3.1")
    for path in (
        "/users/",
        "/users/{user_id}",
        "/users/{user_id}/addresses/",
        "/users/{user_id}/addresses/{address_id}",
        "/products/",
        "/products/low-stock",
        "/products/{id}",
        "/orders/",
        "/orders/{order_id}",
        "/orders/{order_id}/items",
        "/orders/{order_id}/items/{item_id}",
        "/orders/{order_id}/total",
    ):
        assert path in doc["paths"], path
    assert set(doc["paths"]["/users/{user_id}"]) == {"get", "patch", "delete"}
    # The create beside the auto-CRUD list: one collection path item, both methods.
    assert set(doc["paths"]["/users/"]) == {"get", "post"}
    assert "/users" not in doc["paths"]
