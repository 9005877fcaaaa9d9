"""A 0.2-era application (``legacy_shop``), unchanged, over real HTTP.

The app under ``legacy_shop/`` was written from the examples page and the 0.2 API,
the way its users write them: relations declared by referenced column, loaders via a
relation and via ``None``, default-profile projections, a many-to-many through an
association table, ``Patch`` commands with rules, nested routes with trailing slashes,
jobs with callbacks. It is served by uvicorn in a subprocess, with default settings,
on SQLite and on PostgreSQL, and driven by an httpx client that does NOT follow
redirects (a 307 would be a failure, as it is for curl and generated clients).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.compat.shop_server import running_shop
from tests.conftest import (
    SQL_BACKENDS,
    own_pg_database,
)


@pytest.fixture(scope="module", params=SQL_BACKENDS)
def shop(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("shop")
    if request.param == "sqlite":
        with running_shop(f"sqlite+aiosqlite:///{workdir / 'shop.db'}", workdir) as url:
            yield url
        return
    with own_pg_database("loom_shop") as database_url, running_shop(database_url, workdir) as url:
        yield url


@pytest.fixture
def client(shop: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shop, follow_redirects=False, timeout=10) as c:
        yield c


def _tag() -> str:
    return secrets.token_hex(4)


def _user(client: httpx.Client, name: str = "Ada") -> dict[str, Any]:
    r = client.post("/users/", json={"full_name": name, "email": f"{_tag()}@example.com"})
    assert r.status_code == 201, r.text
    return r.json()


def _product(client: httpx.Client, **over: Any) -> dict[str, Any]:
    body = {
        "sku": f"SKU-{_tag()}",
        "name": "Lamp",
        "category": "home",
        "priceCents": 1200,
        "stock": 3,
    }
    body.update(over)
    r = client.post("/products/", json=body)
    assert r.status_code == 201, r.text
    return r.json()


# -- URLs: declared paths answer directly, with or without the trailing slash ---------------


def test_collection_urls_answer_directly_with_and_without_slash(client: httpx.Client) -> None:
    user = _user(client)
    for path in ("/users/", "/users"):
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code, r.headers.get("location"))
        assert any(item["id"] == user["id"] for item in r.json()["items"])
    r = client.post("/users", json={"fullName": "Bo", "email": f"{_tag()}@example.com"})
    assert r.status_code == 201, r.text
    for path in (f"/users/{user['id']}", f"/users/{user['id']}/"):
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code)
    r = client.post(
        f"/users/{user['id']}/addresses",
        json={
            "label": "home",
            "street": "1 Main St",
            "city": "Oslo",
            "country": "NO",
            "zipCode": "0150",
        },
    )
    assert r.status_code == 201, r.text
    for path in (f"/users/{user['id']}/addresses/", f"/users/{user['id']}/addresses"):
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code)
        assert [a["label"] for a in r.json()["items"]] == ["home"]


def test_openapi_lists_each_declared_path_once_with_humane_summaries(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    paths = doc["paths"]
    assert "/products/" in paths and "/products" not in paths
    assert "/users/" in paths and "/users" not in paths
    assert "/users/{user_id}/addresses/" in paths
    assert paths["/users/{user_id}/addresses/"]["post"]["summary"] == "Create address"
    assert paths["/users/"]["post"]["summary"] == "Create a User"
    assert paths["/products/low-stock"]["get"]["summary"] == "List low stock products"
    statuses = {
        code
        for ops in paths.values()
        for op in ops.values()
        if isinstance(op, dict)
        for code in op.get("responses", {})
    }
    assert "307" not in statuses


# -- relations and projections declared the 0.2 way ----------------------------------------


def test_default_profile_projections_are_loaded_by_plain_get_and_list(client: httpx.Client) -> None:
    user = _user(client)
    assert user.get("hasAddresses") in (False, None)
    r = client.get(f"/users/{user['id']}")
    assert r.status_code == 200
    body = r.json()
    assert body["noteCount"] == 0
    assert body["hasAddresses"] is False
    assert "addresses" not in body and "notes" not in body  # with_details only
    client.post(
        f"/users/{user['id']}/addresses/",
        json={
            "label": "work",
            "street": "2 Side St",
            "city": "Oslo",
            "country": "NO",
            "zip_code": "0151",
        },
    ).raise_for_status()
    r = client.get(f"/users/{user['id']}")
    assert r.json()["hasAddresses"] is True
    listed = client.get("/users/", params={"id__eq": user["id"]}).json()["items"]
    assert listed[0]["hasAddresses"] is True and listed[0]["noteCount"] == 0


def test_one_to_many_in_a_named_profile(client: httpx.Client) -> None:
    user = _user(client)
    client.post(
        f"/users/{user['id']}/addresses/",
        json={
            "label": "a",
            "street": "s",
            "city": "c",
            "country": "NO",
            "zipCode": "1",
        },
    ).raise_for_status()
    r = client.get(f"/users/{user['id']}", params={"profile": "with_details"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [a["label"] for a in body["addresses"]] == ["a"]
    assert body["notes"] == []


def test_many_to_one_declared_by_referenced_column(client: httpx.Client) -> None:
    user = _user(client, "Grace")
    address = client.post(
        f"/users/{user['id']}/addresses/",
        json={
            "label": "lab",
            "street": "s",
            "city": "c",
            "country": "US",
            "zipCode": "2",
        },
    ).json()
    r = client.get(f"/users/{user['id']}/addresses/{address['id']}")
    assert r.status_code == 200, r.text
    assert r.json()["owner"]["fullName"] == "Grace"
    other = _user(client)
    assert client.get(f"/users/{other['id']}/addresses/{address['id']}").status_code == 404


def test_many_to_many_through_the_association_table(client: httpx.Client) -> None:
    product = _product(client)
    lonely = _product(client)
    tags = [client.post("/tags/", json={"name": f"t-{_tag()}"}).json() for _ in range(2)]
    for tag in tags:
        r = client.post("/product-tags/", json={"productId": product["id"], "tagId": tag["id"]})
        assert r.status_code == 201, r.text
    r = client.get(f"/products/{product['id']}", params={"profile": "with_tags"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert sorted(t["name"] for t in body["tags"]) == sorted(t["name"] for t in tags)
    assert body["tagCount"] == 2
    r = client.get(f"/products/{lonely['id']}", params={"profile": "with_tags"})
    assert r.json()["tags"] == [] and r.json().get("tagCount", 0) == 0
    assert "tags" not in client.get(f"/products/{product['id']}").json()
    page = client.get("/products/", params={"profile": "with_tags", "limit": 1000}).json()
    by_id = {p["id"]: p for p in page["items"]}
    assert len(by_id[product["id"]]["tags"]) == 2 and by_id[lonely["id"]]["tags"] == []


# -- commands, rules and Patch --------------------------------------------------------------


def test_patch_null_and_rules(client: httpx.Client) -> None:
    product = _product(client, note="fragile")
    url = f"/products/{product['id']}"
    r = client.patch(url, json={"stock": None})
    assert r.status_code == 422, r.text
    assert "stock" in r.text
    r = client.patch(url, json={"stock": -1})
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "rule_violations"
    assert [e["field"] for e in r.json()["errors"]] == ["stock"]
    r = client.patch(url, json={"note": None})
    assert r.status_code == 200, r.text
    assert r.json()["note"] is None and r.json()["stock"] == 3
    r = client.patch(url, json={"stock": 9})
    assert r.status_code == 200 and r.json()["stock"] == 9 and r.json()["note"] is None
    r = client.patch(url, json={})
    assert r.status_code == 200 and r.json()["stock"] == 9


def test_create_rules_true_result_is_a_violation(client: httpx.Client) -> None:
    r = client.post(
        "/products/",
        json={
            "sku": f"S-{_tag()}",
            "name": "x",
            "category": "c",
            "priceCents": 0,
            "stock": -2,
        },
    )
    assert r.status_code == 422, r.text
    errors = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert errors == {"stock": "must not be negative", "price_cents": "must be positive"}


def test_exists_guards_on_nested_routes(client: httpx.Client) -> None:
    assert client.get("/users/987654/addresses/").status_code == 404
    r = client.post(
        "/users/987654/addresses/",
        json={
            "label": "x",
            "street": "s",
            "city": "c",
            "country": "NO",
            "zipCode": "1",
        },
    )
    assert r.status_code == 404, r.text


def test_declared_routes_replace_auto_routes(client: httpx.Client) -> None:
    user = _user(client)
    note = client.post("/admin/notes/", json={"userId": user["id"], "body": "hi"})
    assert note.status_code == 201, note.text
    r = client.get(f"/notes/by-user/{user['id']}")
    assert r.status_code == 200 and [n["body"] for n in r.json()["items"]] == ["hi"]
    assert client.delete(f"/notes/{note.json()['id']}").status_code in (404, 405)
    assert client.get(f"/notes/{note.json()['id']}").status_code in (404, 405)
    assert client.get(f"/users/{user['id']}").json()["noteCount"] == 1


# -- jobs, callbacks and the workflow (in-process: no broker configured) --------------------


def _wait_for(
    client: httpx.Client, url: str, predicate: Any, timeout: float = 20
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = client.get(url).json()
        if predicate(body):
            return body
        time.sleep(0.1)
    raise AssertionError(f"condition never met; last body: {body}")


def test_job_dispatch_and_success_callback(client: httpx.Client) -> None:
    product = _product(client, stock=0)
    r = client.post(
        f"/products/{product['id']}/jobs/restock-email", json={"recipientEmail": "a@b.c"}
    )
    assert r.status_code == 202, r.text
    assert r.json()["queue"] == "notifications" and r.json()["jobId"]
    _wait_for(
        client, f"/products/{product['id']}", lambda b: b["category"] == "home-restock-notified"
    )


def test_job_failure_callback_gets_the_payload_as_context(client: httpx.Client) -> None:
    product = _product(client, stock=0)
    r = client.post(
        f"/products/{product['id']}/jobs/restock-email",
        json={"recipientEmail": "a@b.c", "forceFail": True},
    )
    assert r.status_code == 202, r.text
    body = _wait_for(client, f"/products/{product['id']}", lambda b: b["note"] is not None)
    assert body["note"] == "restock email failed: RuntimeError"


def test_workflow_invokes_a_use_case_and_dispatches(client: httpx.Client) -> None:
    product = _product(client, stock=0, name="Desk")
    r = client.post(
        f"/products/{product['id']}/workflows/restock", json={"recipient_email": "x@y.z"}
    )
    assert r.status_code == 202, r.text
    assert r.json()["summary"] == f"{product['sku']} (Desk) is out of stock."
    assert r.json()["restockJobId"]
    _wait_for(
        client, f"/products/{product['id']}", lambda b: b["category"].endswith("-restock-notified")
    )
