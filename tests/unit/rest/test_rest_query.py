"""The list query-string grammar, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rest_support import PRODUCTS, open_client, seed


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    with open_client(tmp_path_factory.mktemp("rest_query")) as client:
        yield client, seed(client)


@pytest.fixture
def client(seeded: tuple[TestClient, dict[str, Any]]) -> TestClient:
    return seeded[0]


def skus(client: TestClient, query: str) -> list[str]:
    response = client.get(f"/products?{query}")
    assert response.status_code == 200, response.text
    return [p["sku"] for p in response.json()["items"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sku__eq=C-3", ["C-3"]),
        ("sku=C-3", ["C-3"]),
        ("price_cents__ne=990", ["A-1", "B-2", "C-3", "E-5", "G-7"]),
        ("price_cents__gt=990", ["C-3", "E-5"]),
        ("price_cents__gte=990", ["C-3", "D-4", "E-5", "F-6"]),
        ("price_cents__lt=300", ["A-1", "B-2"]),
        ("price_cents__lte=300", ["A-1", "B-2", "G-7"]),
        ("sku__in=A-1,E-5,ZZZ", ["A-1", "E-5"]),
        ("price_cents__in=80", ["B-2"]),
        ("name__like=%25rr%25", ["C-3", "E-5"]),
        ("name__like=c%25", []),
        ("name__ilike=c%25", ["C-3"]),
        ("note__is_null=true", ["B-2", "D-4", "F-6", "G-7"]),
        ("note__is_null=false", ["A-1", "C-3", "E-5"]),
        ("active=false", ["B-2"]),
        ("active__eq=true&price_cents__lt=200", ["A-1"]),
        ("rating__gte=4.1", ["A-1", "C-3", "G-7"]),
        ("priceCents__gt=2000", ["E-5"]),  # camelCase field names work too
    ],
)
def test_each_filter_operator(client: TestClient, query: str, expected: list[str]) -> None:
    assert skus(client, f"{query}&sort=sku") == expected


def test_filter_on_a_foreign_key_and_on_timestamps(
    seeded: tuple[TestClient, dict[str, Any]],
) -> None:
    client, data = seeded
    assert skus(client, f"category_id={data['fruit']}&sort=sku") == ["A-1", "C-3"]
    assert skus(client, "category_id__is_null=true&sort=sku") == ["B-2", "D-4", "E-5", "F-6", "G-7"]
    assert len(skus(client, "created_at__gte=2000-01-01T00:00:00Z")) == len(PRODUCTS)
    assert skus(client, "created_at__lt=2000-01-01T00:00:00Z") == []


def test_sort_and_direction(client: TestClient) -> None:
    by_price = sorted(PRODUCTS, key=lambda p: (p["priceCents"], p["sku"]))
    assert skus(client, "sort=price_cents,sku") == [p["sku"] for p in by_price]
    desc = skus(client, "sort=price_cents&direction=DESC")
    assert [p for p in desc][:2] == ["E-5", "C-3"]
    assert skus(client, "sort=-price_cents&limit=1") == ["E-5"]
    assert skus(client, "sort=sku&direction=desc&limit=2") == ["G-7", "F-6"]


def test_offset_pages_and_limit_bounds(client: TestClient) -> None:
    page = client.get("/products?sort=sku&limit=3&page=2").json()
    assert [p["sku"] for p in page["items"]] == ["D-4", "E-5", "F-6"]
    assert page | {"items": None} == {
        "items": None,
        "total_count": 7,
        "page": 2,
        "limit": 3,
        "has_next": True,
    }
    last = client.get("/products?sort=sku&limit=3&page=3").json()
    assert [p["sku"] for p in last["items"]] == ["G-7"] and last["has_next"] is False
    beyond = client.get("/products?limit=3&page=9").json()
    assert beyond["items"] == [] and beyond["total_count"] == 7
    assert client.get("/products?limit=1").json()["limit"] == 1
    assert client.get("/products?limit=1000").json()["limit"] == 1000
    assert client.get("/products").json()["limit"] == 50


def test_cursor_walk_visits_every_row_once(client: TestClient) -> None:
    seen: list[str] = []
    url = "/products?pagination=cursor&limit=2&sort=price_cents&direction=DESC"
    response = client.get(url).json()
    pages = 1
    while True:
        assert set(response) == {"items", "next_cursor", "has_next"}
        seen += [p["sku"] for p in response["items"]]
        if not response["has_next"]:
            assert response["next_cursor"] is None
            break
        token = response["next_cursor"]
        key = "after" if pages % 2 else "cursor"  # `cursor` is an alias of `after`
        response = client.get(f"{url}&{key}={token}").json()
        pages += 1
    expected = sorted(PRODUCTS, key=lambda p: (-p["priceCents"], p["sku"]))
    assert sorted(seen) == sorted(p["sku"] for p in PRODUCTS)
    assert [p["priceCents"] for p in expected] == sorted(
        (p["priceCents"] for p in PRODUCTS), reverse=True
    )
    assert pages == 4


def test_cursor_interface_default_and_offset_override(client: TestClient) -> None:
    cursor_page = client.get("/categories?limit=1").json()
    assert set(cursor_page) == {"items", "next_cursor", "has_next"}
    assert cursor_page["has_next"] is True
    second = client.get(f"/categories?limit=1&after={cursor_page['next_cursor']}").json()
    assert second["items"][0]["name"] != cursor_page["items"][0]["name"]
    offset = client.get("/categories?pagination=offset").json()
    assert offset["total_count"] == 2


def _errors(client: TestClient, query: str, path: str = "/products") -> list[dict[str, Any]]:
    response = client.get(f"{path}?{query}")
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "validation_error"
    return body["errors"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=-5", "limit"),
        ("limit=ten", "limit"),
        ("limit=", "limit"),
        ("page=0", "page"),
        ("page=x", "page"),
        ("pagination=pages", "pagination"),
        ("direction=sideways", "direction"),
        ("sort=nope", "sort"),
        ("sort=category", "sort"),  # a relation, not a column
        ("nope=1", "nope"),
        ("nope__eq=1", "nope__eq"),
        ("price_cents__between=1", "price_cents__between"),
        ("price_cents__gt=abc", "price_cents__gt"),
        ("rating__gt=nan", "rating__gt"),
        ("rating__lt=inf", "rating__lt"),
        ("active=maybe", "active"),
        ("created_at__gte=yesterday", "created_at__gte"),
        ("note__is_null=perhaps", "note__is_null"),
        ("pagination=cursor&after=garbage", "after"),
        ("after=garbage", "after"),  # offset mode: a cursor would be ignored
        ("page=2&cursor=abc", "cursor"),
        ("profile=nope", "profile"),
    ],
)
def test_bad_query_parameters_are_422_naming_the_parameter(
    client: TestClient, query: str, field: str
) -> None:
    assert [e["field"] for e in _errors(client, query)] == [field]


def test_several_bad_parameters_are_reported_together(client: TestClient) -> None:
    fields = [e["field"] for e in _errors(client, "limit=0&page=0&nope=1")]
    assert fields == ["limit", "page", "nope"]


def test_a_malformed_cursor_is_a_422(client: TestClient) -> None:
    for key in ("after", "cursor"):
        errors = _errors(client, f"pagination=cursor&{key}=bm9wZQ")
        assert len(errors) == 1 and errors[0]["field"] in ("after", "cursor")


def test_a_cursor_from_another_list_is_refused(client: TestClient) -> None:
    token = client.get("/categories?limit=1").json()["next_cursor"]
    assert [e["field"] for e in _errors(client, f"pagination=cursor&after={token}")] == ["after"]


def test_profile_selects_what_is_loaded(seeded: tuple[TestClient, dict[str, Any]]) -> None:
    client, data = seeded
    default = client.get("/products?sku=A-1").json()["items"][0]
    assert "category" not in default
    full = client.get("/products?sku=A-1&profile=with_category").json()["items"][0]
    assert full["category"] == {"id": data["fruit"], "name": "fruit"}
    one = client.get(f"/products/{data['ids']['A-1']}?profile=with_category").json()
    assert one["category"]["name"] == "fruit"
    bad = client.get(f"/products/{data['ids']['A-1']}?profile=everything")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "profile"


def test_profile_is_refused_where_the_interface_does_not_expose_it(client: TestClient) -> None:
    assert [e["field"] for e in _errors(client, "profile=default", "/categories")] == ["profile"]


def test_url_encoding_and_repeated_filters(client: TestClient) -> None:
    assert skus(client, "sku__in=A-1%2CB-2&sort=sku") == ["A-1", "B-2"]
    assert skus(client, "price_cents__gte=100&price_cents__lte=300&sort=sku") == ["A-1", "G-7"]


def test_a_cursor_alone_pages_by_cursor(client: TestClient) -> None:
    """0.2: ``after``/``cursor`` without ``pagination`` switches to cursor mode."""
    first = client.get("/products?pagination=cursor&limit=2&sort=sku").json()
    for key in ("after", "cursor"):
        nxt = client.get(f"/products?limit=2&sort=sku&{key}={first['next_cursor']}")
        assert nxt.status_code == 200, nxt.text
        assert set(nxt.json()) == {"items", "next_cursor", "has_next"}
        assert [p["sku"] for p in nxt.json()["items"]] == ["C-3", "D-4"]
    conflicting = f"pagination=offset&after={first['next_cursor']}"
    assert [e["field"] for e in _errors(client, conflicting)] == ["after"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("sort=", "sort"),
        ("sort=sku,", "sort"),
        ("sort=%20sku", "sort"),
        ("limit=%2B5", "limit"),
        ("limit=%205", "limit"),
        ("pagination=CURSOR", "pagination"),
        ("price_cents__in=1,,2", "price_cents__in"),
        ("price_cents__in=1,9223372036854775808", "price_cents__in"),
        ("note__is_null=TRUE", "note__is_null"),
        ("created_at__gte=0001-01-01T00:00:00%2B01:00", "created_at__gte"),
        ("rating__in=1,x", "rating__in"),
        ("sku__gt=A", "sku__gt"),
    ],
)
def test_text_outside_the_documented_grammar_is_refused(
    client: TestClient, query: str, field: str
) -> None:
    assert [e["field"] for e in _errors(client, query)] == [field]
