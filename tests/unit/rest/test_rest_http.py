"""Routing, status codes, problem+json errors and request-body decoding."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rest_support import open_client, seed

PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "trace_id"}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    with open_client(tmp_path_factory.mktemp("rest_http")) as client:
        yield client, seed(client)


@pytest.fixture
def client(seeded: tuple[TestClient, dict[str, Any]]) -> TestClient:
    return seeded[0]


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].startswith("https://") and body["title"] and body["detail"]
    assert body["trace_id"] == response.headers["x-request-id"]
    return body


# -- routing ------------------------------------------------------------------------


def test_static_route_beats_the_parameter_route_declared_before_it(client: TestClient) -> None:
    response = client.get("/products/cheap")
    assert response.status_code == 200, response.text
    assert [p["sku"] for p in response.json()["items"]] == ["B-2", "A-1", "G-7", "D-4", "F-6"]


def test_typed_path_ids(seeded: tuple[TestClient, dict[str, Any]]) -> None:
    client, data = seeded
    assert client.get(f"/products/{data['ids']['A-1']}").json()["sku"] == "A-1"
    for bad in ("abc", "1.5", "99999999999999999999999", "%20"):
        body = problem(client.get(f"/products/{bad}"), 422, "validation_error")
        assert [e["field"] for e in body["errors"]] == ["id"]
    problem(client.get("/products/424242"), 404, "not_found")
    problem(client.get("/products/-3"), 404, "not_found")
    body = problem(
        client.post("/products/xyz/restock", json={"quantity": 1}), 422, "validation_error"
    )
    assert body["errors"][0]["field"] == "id"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/products/1", "DELETE, GET, HEAD, PATCH"),
        ("POST", "/products/1", "DELETE, GET, HEAD, PATCH"),
        ("DELETE", "/products", "GET, HEAD, POST"),
        ("POST", "/products/cheap", "GET, HEAD"),
        ("GET", "/products/1/restock", "POST"),
        ("PATCH", "/categories/1", "GET, HEAD"),
        ("DELETE", "/categories", "GET, HEAD, POST"),
    ],
)
def test_405_carries_every_method_of_the_path(
    client: TestClient, method: str, path: str, allowed: str
) -> None:
    response = client.request(method, path)
    problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allowed


def test_unknown_path_is_a_problem_404(client: TestClient) -> None:
    body = problem(client.get("/no/such/thing"), 404, "not_found")
    assert "errors" not in body


def test_head_is_served_for_get_routes(client: TestClient) -> None:
    response = client.head("/products/cheap")
    assert response.status_code == 200


# -- statuses and CRUD round trip -----------------------------------------------------


def test_auto_crud_statuses_and_camel_case_output(client: TestClient) -> None:
    created = client.post(
        "/products", json={"sku": "H-8", "full_name": "x", "name": "Honeydew", "price_cents": 5}
    )
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {
        "id",
        "sku",
        "name",
        "categoryId",
        "priceCents",
        "rating",
        "active",
        "note",
        "createdAt",
        "updatedAt",
    }
    assert body["rating"] == 0.0 and body["active"] is True and body["note"] is None
    assert body["createdAt"].endswith("Z") or body["createdAt"].endswith("+00:00")
    pid = body["id"]
    patched = client.patch(f"/products/{pid}", json={"priceCents": 7, "note": "ripe"})
    assert patched.status_code == 200
    assert (patched.json()["priceCents"], patched.json()["name"]) == (7, "Honeydew")
    cleared = client.patch(f"/products/{pid}", json={"note": None}).json()
    assert cleared["note"] is None and cleared["priceCents"] == 7
    assert client.patch(f"/products/{pid}", json={}).json()["priceCents"] == 7
    deleted = client.delete(f"/products/{pid}")
    assert (deleted.status_code, deleted.json()) == (200, True)
    problem(client.delete(f"/products/{pid}"), 404, "not_found")
    problem(client.get(f"/products/{pid}"), 404, "not_found")
    problem(client.patch(f"/products/{pid}", json={"note": "x"}), 404, "not_found")


def test_custom_route_with_rules_and_markers(seeded: tuple[TestClient, dict[str, Any]]) -> None:
    client, data = seeded
    pid = data["ids"]["G-7"]
    ok = client.post(f"/products/{pid}/restock", json={"quantity": 3, "reason": "sold out"})
    assert ok.status_code == 200
    assert ok.json() == {"productId": pid, "addedUnits": 3, "newNote": "restocked 3: sold out"}
    body = problem(
        client.post(f"/products/{pid}/restock", json={"quantity": 0, "reason": " "}),
        422,
        "rule_violations",
    )
    assert body["errors"] == [
        {"field": "quantity", "message": "must be at least 1"},
        {"field": "reason", "message": "is blank"},
    ]
    problem(client.post("/products/9999/restock", json={"quantity": 1}), 404, "not_found")


def test_conflicts_are_409(seeded: tuple[TestClient, dict[str, Any]]) -> None:
    client, _ = seeded
    body = problem(
        client.post("/products", json={"sku": "A-1", "name": "again", "priceCents": 1}),
        409,
        "conflict",
    )
    assert "INSERT" not in body["detail"] and "UNIQUE" not in body["detail"]
    problem(
        client.post(
            "/products", json={"sku": "Q-1", "name": "q", "priceCents": 1, "categoryId": 999}
        ),
        409,
        "conflict",
    )
    problem(client.post("/products/1/refuse"), 409, "conflict")
    # One RuleViolation raised by execute: code rule_violation (0.2's); declared rules
    # failing together are rule_violations.
    problem(client.post("/products/2/refuse"), 422, "rule_violation")


def test_unexpected_failure_is_a_500_without_details(client: TestClient) -> None:
    body = problem(client.post("/products/1/boom"), 500, "internal_error")
    text = str(body)
    assert "secret" not in text and "Traceback" not in text and "RuntimeError" not in text


def test_client_request_id_is_echoed_in_problems(client: TestClient) -> None:
    response = client.get("/products/abc", headers={"x-request-id": "req-12345"})
    assert response.headers["x-request-id"] == "req-12345"
    assert response.json()["trace_id"] == "req-12345"


# -- request bodies -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b"{not json", None),
        (b'{"sku": "Z", ', None),
        (b"", None),
        (b"   ", None),
        (b"null", None),  # not an object (issue 16), not an empty one
        (b"[]", None),
        (b'["sku", "Z"]', None),
        (b'"a string"', None),
        (b"42", None),
        (b"true", None),
        (b'{"sku": 5, "name": "n", "priceCents": 1}', "sku"),
        (b'{"sku": "Z", "name": "n", "priceCents": "12"}', "priceCents"),
        (b'{"sku": "Z", "name": "n", "priceCents": 1.5}', "priceCents"),
        (b'{"sku": "Z", "name": "n", "priceCents": 1e400}', None),
        (b'{"sku": "Z", "name": "n", "priceCents": 99999999999999999999999}', "priceCents"),
        (b'{"sku": "Z", "name": "n"}', "priceCents"),
        (b'{"sku": "Z", "name": null, "priceCents": 1}', "name"),
        (b'{"sku": "Z", "name": "n", "priceCents": 1, "active": "yes"}', "active"),
        (b'{"sku": "Z", "name": "n", "priceCents": 1, "categoryId": {}}', "categoryId"),
        (b'{"sku": "' + b"x" * 40 + b'", "name": "n", "priceCents": 1}', "sku"),
        (b"\xff\xfe{}", None),
    ],
)
def test_bad_bodies_are_422_not_500(client: TestClient, content: bytes, field: str | None) -> None:
    response = client.post(
        "/products", content=content, headers={"content-type": "application/json"}
    )
    body = problem(response, 422, "validation_error")
    assert len(body["errors"]) >= 1
    if field is not None:
        assert body["errors"][0]["field"] == field


def test_bad_patch_bodies_are_422(client: TestClient) -> None:
    # b"" is not here: an empty body on an all-optional command is an empty patch (issue 16).
    for content in (b"{oops", b"[1]", b'{"priceCents": "x"}', b'{"name": null}', b"null"):
        response = client.patch(
            "/products/1", content=content, headers={"content-type": "application/json"}
        )
        problem(response, 422, "validation_error")


def test_unknown_body_fields_are_ignored_and_both_casings_accepted(client: TestClient) -> None:
    response = client.post(
        "/products",
        json={"sku": "K-1", "name": "Kiwi", "price_cents": 10, "categoryId": None, "bogus": 1},
    )
    assert response.status_code == 201, response.text
    assert response.json()["priceCents"] == 10
    client.delete(f"/products/{response.json()['id']}")


def test_body_size_and_media_type(client: TestClient) -> None:
    big = b'{"sku": "' + b"x" * 5000 + b'"}'
    problem(
        client.post("/products", content=big, headers={"content-type": "application/json"}),
        413,
        "payload_too_large",
    )
    problem(
        client.post("/products", content=b"sku=Z", headers={"content-type": "text/plain"}),
        415,
        "unsupported_media_type",
    )


def test_body_without_content_type_is_read_as_json(client: TestClient) -> None:
    response = client.post(
        "/products/1/restock", content=b'{"quantity": 1}', headers={"content-type": ""}
    )
    assert response.status_code == 200, response.text
