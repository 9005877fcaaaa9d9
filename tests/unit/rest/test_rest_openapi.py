"""The OpenAPI 3.1 document describes what the routes really accept and return."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient
from rest_support import open_client, seed

ROUTES = {
    "/products/": {"get", "post"},
    "/products/{id}": {"get", "patch", "delete"},
    "/products/cheap": {"get"},
    "/products/{id}/restock": {"post"},
    "/products/{id}/boom": {"post"},
    "/products/{id}/refuse": {"post"},
    "/categories/": {"get", "post"},
    "/categories/{id}": {"get"},
}


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with open_client(tmp_path_factory.mktemp("rest_openapi")) as client:
        seed(client)
        yield client


@pytest.fixture(scope="module")
def doc(app_client: TestClient) -> dict[str, Any]:
    response = app_client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def matches(doc: dict[str, Any], schema: dict[str, Any], instance: Any) -> bool:
    """``instance`` is valid against ``schema`` (refs resolved in the document)."""
    root = {**schema, "components": doc["components"]}
    return jsonschema_rs.validator_for(root).is_valid(instance)


def response_schema(doc: dict[str, Any], path: str, method: str, status: str) -> dict[str, Any]:
    content = doc["paths"][path][method]["responses"][status]["content"]
    media = "application/problem+json" if status.startswith(("4", "5")) else "application/json"
    return content[media]["schema"]  # type: ignore[no-any-return]


def test_document_header_and_every_route(doc: dict[str, Any]) -> None:
    assert doc["openapi"].startswith("3.1")
    assert doc["info"] == {"title": "REST tests", "version": "1.2.3"}
    app_paths = {p: set(ops) for p, ops in doc["paths"].items() if p in ROUTES}
    assert app_paths == ROUTES
    operation_ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))


def test_path_parameters_are_typed(doc: dict[str, Any]) -> None:
    for path in ("/products/{id}", "/products/{id}/restock", "/categories/{id}"):
        for op in doc["paths"][path].values():
            (param,) = [p for p in op["parameters"] if p["in"] == "path"]
            assert param == {
                "name": "id",
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1},
            }


def test_list_routes_document_the_query_grammar(doc: dict[str, Any]) -> None:
    params = {p["name"]: p for p in doc["paths"]["/products/"]["get"]["parameters"]}
    for name in ("pagination", "limit", "page", "after", "cursor", "sort", "direction", "profile"):
        assert name in params, name
    assert params["limit"]["schema"]["minimum"] == 1
    assert params["limit"]["schema"]["maximum"] == 1000
    assert params["pagination"]["schema"]["default"] == "offset"
    assert params["profile"]["schema"]["enum"] == ["default", "with_category"]
    sort = re.compile(params["sort"]["schema"]["pattern"])
    for ok in ("price_cents", "priceCents", "-price_cents,sku", "sku,-id"):
        assert sort.fullmatch(ok), ok
    for bad in ("", "nope", "sku,", ",sku", "sku ,id", "category"):
        assert not sort.fullmatch(bad), bad
    for op in ("eq", "ne", "gt", "gte", "lt", "lte", "in", "is_null"):
        assert f"price_cents__{op}" in params
    assert "name__ilike" in params and "note__is_null" in params
    categories = {p["name"]: p for p in doc["paths"]["/categories/"]["get"]["parameters"]}
    assert categories["pagination"]["schema"]["default"] == "cursor"
    assert "profile" not in categories
    single = {p["name"] for p in doc["paths"]["/products/{id}"]["get"]["parameters"]}
    assert single == {"id", "profile"}


def test_request_bodies_are_camel_case_and_required(doc: dict[str, Any]) -> None:
    body = doc["paths"]["/products/"]["post"]["requestBody"]
    assert body["required"] is True
    schema = body["content"]["application/json"]["schema"]
    assert matches(doc, schema, {"sku": "Z", "name": "n", "priceCents": 1})
    assert not matches(doc, schema, {"sku": "Z", "name": "n"})
    assert not matches(doc, schema, {"sku": "Z", "name": "n", "priceCents": "1"})
    ref = schema["$ref"].rsplit("/", 1)[1]
    props = set(doc["components"]["schemas"][ref]["properties"])
    assert {"sku", "name", "priceCents", "categoryId", "active", "note"} <= props
    assert not {"id", "createdAt", "updatedAt"} & props
    # The decoder also takes Python names: documented as aliases (issue 16).
    alias = doc["components"]["schemas"][ref]["properties"]["price_cents"]
    assert alias["description"] == "Alias of `priceCents`."
    assert matches(doc, schema, {"sku": "Z", "name": "n", "price_cents": 1})
    assert not matches(doc, schema, {"sku": "Z", "name": "n", "price_cents": "1"})
    assert not matches(doc, schema, {"sku": "Z", "name": "n", "price_cents": 1, "priceCents": 1})
    patch = doc["paths"]["/products/{id}"]["patch"]["requestBody"]
    assert patch["required"] is False
    assert matches(doc, patch["content"]["application/json"]["schema"], {})


def test_error_responses_are_problems(doc: dict[str, Any]) -> None:
    problem = doc["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code"} <= set(problem["required"])
    post = doc["paths"]["/products/"]["post"]["responses"]
    assert {"201", "404", "409", "422"} <= set(post)
    assert "200" not in post
    for code in ("404", "409", "422"):
        assert set(post[code]["content"]) == {"application/problem+json"}
    assert "201" in post and "application/json" in post["201"]["content"]
    assert "422" in doc["paths"]["/products/"]["get"]["responses"]
    assert "200" in doc["paths"]["/products/{id}/restock"]["post"]["responses"]


def test_real_responses_match_their_documented_schemas(
    doc: dict[str, Any], app_client: TestClient
) -> None:
    cases = [
        ("get", "/products/", "/products?limit=2", "200"),
        ("get", "/products/", "/products?pagination=cursor&limit=2", "200"),
        ("get", "/products/", "/products?profile=with_category", "200"),
        ("get", "/products/{id}", "/products/1", "200"),
        ("get", "/products/{id}", "/products/1?profile=with_category", "200"),
        ("get", "/products/cheap", "/products/cheap", "200"),
        ("get", "/categories/", "/categories", "200"),
        ("get", "/categories/", "/categories?pagination=offset", "200"),
        ("get", "/products/", "/products?limit=0", "422"),
        ("get", "/products/{id}", "/products/999", "404"),
    ]
    for method, template, url, status in cases:
        response = app_client.request(method.upper(), url)
        assert str(response.status_code) == status, (url, response.text)
        assert matches(doc, response_schema(doc, template, method, status), response.json()), url
    posted = app_client.post("/products/1/restock", json={"quantity": 2})
    assert matches(
        doc, response_schema(doc, "/products/{id}/restock", "post", "200"), posted.json()
    )
    created = app_client.post("/categories", json={"name": "nuts"})
    assert created.status_code == 201
    assert matches(doc, response_schema(doc, "/categories/", "post", "201"), created.json())


def test_both_page_envelopes_are_documented(doc: dict[str, Any]) -> None:
    schema = response_schema(doc, "/products/", "get", "200")
    offset = {"items": [], "total_count": 0, "page": 1, "limit": 50, "has_next": False}
    cursor = {"items": [], "next_cursor": None, "has_next": False}
    assert matches(doc, schema, offset)
    assert matches(doc, schema, cursor)
    assert not matches(doc, schema, {"items": []})


def test_swagger_ui_is_served(app_client: TestClient) -> None:
    response = app_client.get("/docs")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert "swagger-ui" in response.text.lower()
    assert "/openapi.json" in response.text


# -- the document and the validators agree (one grammar for both) ---------------------

INT64_MAX = 2**63 - 1


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_query_text(v) for v in value)
    return str(value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("price_cents__eq", INT64_MAX),
        ("price_cents__eq", -(2**63)),
        ("price_cents__eq", 2**63),
        ("price_cents__gt", -(2**63) - 1),
        ("price_cents__in", [1, -2, 300]),
        ("price_cents__in", [1, 2**63]),
        ("price_cents__in", ["1", "x"]),
        ("id__in", []),
        ("sku__in", ["A-1", "B-2"]),
        ("sku__eq", "A\x00"),  # PostgreSQL text cannot hold NUL: refused on every backend
        ("name__ilike", "%\x00%"),
        ("active__eq", True),
        ("active__eq", "yes"),
        ("note__is_null", False),
        ("note__is_null", "perhaps"),
        ("note__exists", True),
        ("rating__lt", 2.5),
        ("created_at__gte", "2024-01-01T00:00:00Z"),
        ("created_at__gte", "2024-01-01T00:00:00+02:00"),
        ("created_at__gte", "0001-01-01T00:00:00+01:00"),
        ("created_at__lt", "9999-12-31T23:00:00-05:00"),
        ("created_at__lt", "12345"),
        ("sort", "-price_cents,sku"),
        ("sort", "priceCents"),
        ("sort", ""),
        ("sort", "sku,"),
        ("direction", "desc"),
        ("direction", "Desc"),
        ("pagination", "cursor"),
        ("pagination", "CURSOR"),
        ("page", 2147484),  # (page - 1) * 1000 still fits OFFSET's 32 bits
        ("page", 2147485),
    ],
)
def test_a_query_parameter_is_accepted_exactly_when_the_document_allows_it(
    app_client: TestClient, doc: dict[str, Any], name: str, value: Any
) -> None:
    params = {p["name"]: p for p in doc["paths"]["/products/"]["get"]["parameters"]}
    documented = matches(doc, params[name]["schema"], value)
    response = app_client.get("/products", params={name: _query_text(value)})
    assert response.status_code == (200 if documented else 422), (documented, response.text)


def test_in_filters_are_documented_as_comma_separated_typed_lists(doc: dict[str, Any]) -> None:
    params = {p["name"]: p for p in doc["paths"]["/products/"]["get"]["parameters"]}
    ids = params["price_cents__in"]
    assert (ids["style"], ids["explode"]) == ("form", False)
    assert ids["schema"]["items"] == {"type": "integer", "minimum": -(2**63), "maximum": INT64_MAX}
    assert params["note__is_null"]["schema"] == {"type": "boolean"}
    assert "name__gt" not in params and "price_cents__like" not in params


@pytest.mark.parametrize(
    ("raw", "status"), [("9223372036854775807", 404), ("9223372036854775808", 422)]
)
def test_path_ids_are_bounded_to_int64_in_the_document_and_the_router(
    app_client: TestClient, doc: dict[str, Any], raw: str, status: int
) -> None:
    (param,) = doc["paths"]["/products/{id}"]["get"]["parameters"][:1]
    assert matches(doc, param["schema"], int(raw)) is (status == 404)
    assert app_client.get(f"/products/{raw}").status_code == status


def test_body_integers_are_bounded_to_int64(app_client: TestClient, doc: dict[str, Any]) -> None:
    schema = doc["paths"]["/products/"]["post"]["requestBody"]["content"]["application/json"]
    body = {"sku": "BIG-1", "name": "n", "priceCents": 2**63}
    assert not matches(doc, schema["schema"], body)
    response = app_client.post("/products", json=body)
    assert response.status_code == 422, response.text


def test_body_text_is_bounded_by_its_column_in_the_document_and_the_decoder(
    app_client: TestClient, doc: dict[str, Any]
) -> None:
    # sku is ColumnField(length=32): the document says so and the request is refused
    # with 422 before the database would (one bound, one source).
    schema = doc["paths"]["/products/"]["post"]["requestBody"]["content"]["application/json"]
    fits = {"sku": "L" * 32, "name": "n", "priceCents": 1}
    too_long = {**fits, "sku": "L" * 33}
    assert matches(doc, schema["schema"], fits)
    assert not matches(doc, schema["schema"], too_long)
    refused = app_client.post("/products", json=too_long)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "sku"
    assert app_client.post("/products", json=fits).status_code == 201


def test_an_int_field_takes_a_number_without_fraction(app_client: TestClient) -> None:
    created = app_client.post("/products", json={"sku": "F-1", "name": "f", "priceCents": 300.0})
    assert created.status_code == 201, created.text
    assert created.json()["priceCents"] == 300
    pid = created.json()["id"]
    assert (
        app_client.patch(f"/products/{pid}", json={"priceCents": -3.0}).json()["priceCents"] == -3
    )
    refused = app_client.patch(f"/products/{pid}", json={"priceCents": 3.5})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "priceCents"


def test_body_requirement_is_one_rule_documented_and_applied(
    app_client: TestClient, doc: dict[str, Any]
) -> None:
    patch = doc["paths"]["/products/{id}"]["patch"]["requestBody"]
    post = doc["paths"]["/products/"]["post"]["requestBody"]
    restock = doc["paths"]["/products/{id}/restock"]["post"]["requestBody"]
    assert (patch["required"], post["required"], restock["required"]) == (False, True, True)
    pid = app_client.post("/products", json={"sku": "E-9", "name": "e", "priceCents": 5}).json()[
        "id"
    ]
    empty = app_client.patch(f"/products/{pid}")  # no body: an empty patch
    assert empty.status_code == 200, empty.text
    assert empty.json()["priceCents"] == 5
    assert app_client.post("/products").status_code == 422
    assert app_client.post(f"/products/{pid}/restock").status_code == 422


def test_a_json_null_body_is_refused_where_the_document_says_object(
    app_client: TestClient,
) -> None:
    pid = app_client.post("/products", json={"sku": "N-1", "name": "n", "priceCents": 5}).json()[
        "id"
    ]
    headers = {"content-type": "application/json"}
    response = app_client.patch(f"/products/{pid}", content=b"null", headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"] == "request body must be a JSON object"


def test_operations_with_rules_document_rule_violations(doc: dict[str, Any]) -> None:
    restock = doc["paths"]["/products/{id}/restock"]["post"]["responses"]["422"]
    assert "rule_violations" in restock["description"]
    plain = doc["paths"]["/categories/"]["post"]["responses"]["422"]
    assert "rule_violations" not in plain["description"]


def test_creates_link_to_the_operations_on_the_new_resource(doc: dict[str, Any]) -> None:
    links = doc["paths"]["/products/"]["post"]["responses"]["201"]["links"]
    targets = {link["operationId"] for link in links.values()}
    expected = {
        doc["paths"]["/products/{id}"][m]["operationId"] for m in ("get", "patch", "delete")
    }
    assert expected <= targets
    for link in links.values():
        assert link["parameters"] == {"id": "$response.body#/id"}
    operation_ids = {op["operationId"] for item in doc["paths"].values() for op in item.values()}
    assert targets <= operation_ids
