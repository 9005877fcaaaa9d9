"""Every kind of bad input answers a clear 4xx problem+json, never a 500, and leaks nothing."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.reliability.conftest import StoreClient, assert_no_leak, assert_problem, raw_asgi

USER = {"fullName": "Ada Lovelace", "email": "ada@example.com"}
PRODUCT = {"sku": "SKU-1", "name": "Hammer", "category": "tools", "priceCents": 1999, "stock": 3}


def _fields(body: dict) -> set[str]:
    return {e["field"] for e in body.get("errors", [])}


# -- request bodies -------------------------------------------------------------------


async def test_missing_field_is_422_naming_it(store: StoreClient) -> None:
    body = assert_problem(
        await store.post("/users", json={"fullName": "Ada"}), 422, "validation_error"
    )
    assert _fields(body) & {"email"}, body
    assert (await store.get("/users")).json()["total_count"] == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("priceCents", "abc"),
        ("priceCents", 1.5),
        ("priceCents", True),
        ("priceCents", None),
        ("priceCents", [1]),
        ("stock", {"n": 1}),
        ("name", 42),
        ("sku", ["a"]),
    ],
)
async def test_wrong_typed_field_is_422(store: StoreClient, field: str, value: object) -> None:
    body = assert_problem(
        await store.post("/products", json={**PRODUCT, field: value}), 422, "validation_error"
    )
    assert body["errors"], body
    assert (await store.get("/products", params={"pagination": "offset"})).json()[
        "total_count"
    ] == 0


async def test_integer_beyond_64_bits_is_422(store: StoreClient) -> None:
    resp = await store.post("/products", json={**PRODUCT, "priceCents": 2**70})
    assert_problem(resp, 422)
    resp = await store.post("/products", json={**PRODUCT, "stock": -(2**63) - 1})
    assert_problem(resp, 422)


async def test_unknown_fields_are_ignored(store: StoreClient) -> None:
    resp = await store.post("/users", json={**USER, "isAdmin": True, "role": "root"})
    assert resp.status_code == 201, resp.text
    user = resp.json()
    assert "isAdmin" not in user and "role" not in user
    assert set(user) == {"id", "fullName", "email", "createdAt", "updatedAt"}


@pytest.mark.parametrize(
    "raw",
    [
        b'{"fullName": "Ada", "email": ',
        b"{'fullName': 'Ada'}",
        b"not json at all",
        b'{"fullName": "Ada", "email": "a@b.co"} trailing',
        b"\xff\xfe\x00garbage",
        b'{"fullName": "\xff\xfe", "email": "a@b.co"}',
    ],
)
async def test_invalid_json_is_4xx(store: StoreClient, raw: bytes) -> None:
    resp = await store.post("/users", content=raw, headers={"content-type": "application/json"})
    assert_problem(resp, (400, 422))


@pytest.mark.parametrize("raw", [b"[]", b'"a string"', b"null", b"42", b"[1, 2, 3]"])
async def test_json_that_is_not_an_object_is_4xx(store: StoreClient, raw: bytes) -> None:
    resp = await store.post("/users", content=raw, headers={"content-type": "application/json"})
    assert_problem(resp, (400, 422))


async def test_empty_body_is_4xx(store: StoreClient) -> None:
    assert_problem(await store.post("/users"), (400, 422))
    resp = await store.post("/users", content=b"", headers={"content-type": "application/json"})
    assert_problem(resp, (400, 422))
    resp = await store.patch("/users/1", content=b"", headers={"content-type": "application/json"})
    assert_problem(resp, (400, 404, 422))


async def test_non_json_media_type_is_415(store: StoreClient) -> None:
    resp = await store.post(
        "/users", content=b"fullName=Ada", headers={"content-type": "text/plain"}
    )
    assert_problem(resp, 415)


async def test_body_over_the_limit_is_413(store: StoreClient) -> None:
    huge = {"fullName": "x" * (1024 * 1024 + 10), "email": "big@example.com"}
    assert_problem(await store.post("/users", json=huge), 413, "payload_too_large")

    # Without a Content-Length (chunked upload) the limit holds while reading.
    async def chunks():
        for _ in range(20):
            yield b" " * 65536
        yield b'{"fullName": "Ada", "email": "chunked@example.com"}'

    resp = await store.post(
        "/users", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(resp, 413, "payload_too_large")
    assert (await store.get("/users")).json()["total_count"] == 0


async def test_configured_body_limit_is_honoured(store_app) -> None:
    from tests.reliability.conftest import open_client

    app = store_app(app={"rest": {"max_body_size": 200}})
    async for client in open_client(app):
        ok = await client.post("/users", json=USER)
        assert ok.status_code == 201
        big = {"fullName": "x" * 300, "email": "b@example.com"}
        assert_problem(await client.post("/users", json=big), 413)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/users", {**USER, "fullName": "x" * 121}, "fullName"),
        ("/users", {**USER, "email": "a" * 250 + "@example.com"}, "email"),
        ("/products", {**PRODUCT, "sku": "S" * 65}, "sku"),
        ("/products", {**PRODUCT, "name": "n" * 151}, "name"),
    ],
)
async def test_string_beyond_column_length_is_422(
    store: StoreClient, path: str, body: dict, field: str
) -> None:
    problem = assert_problem(await store.post(path, json=body), 422, "validation_error")
    assert problem["errors"], problem


async def test_string_beyond_column_length_on_update_is_422(store: StoreClient) -> None:
    user = await store.user("len@example.com")
    resp = await store.patch(f"/users/{user['id']}", json={"fullName": "x" * 500})
    assert_problem(resp, 422, "validation_error")
    product = await store.product("LEN-1")
    resp = await store.patch(f"/products/{product['id']}", json={"category": "c" * 121})
    assert_problem(resp, 422, "validation_error")
    assert (await store.get(f"/users/{user['id']}")).json()["fullName"] == user["fullName"]


async def test_exactly_column_length_is_accepted(store: StoreClient) -> None:
    resp = await store.post("/users", json={**USER, "fullName": "é" * 120})
    assert resp.status_code == 201, resp.text
    assert resp.json()["fullName"] == "é" * 120


@pytest.mark.parametrize(
    "value",
    ["nul\u0000byte", "lone surrogate \ud800", "\u202eright-to-left", "emoji 🦄 ok"],
)
async def test_odd_strings_never_500(store: StoreClient, value: str) -> None:
    import json

    raw = json.dumps({"fullName": value, "email": "odd@example.com"}).encode()
    resp = await store.post("/users", content=raw, headers={"content-type": "application/json"})
    assert resp.status_code in (201, 400, 422), resp.text
    if resp.status_code != 201:
        assert_problem(resp, (400, 422))
    # Percent-encoded as a browser would; a lone surrogate becomes invalid UTF-8 bytes.
    resp = await store.get(f"/users?fullName={quote(value, errors='surrogatepass')}")
    assert resp.status_code in (200, 400, 422), resp.text
    assert_no_leak(resp.text)


# -- list query strings ---------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "-5"},
        {"limit": "ten"},
        {"limit": "9" * 40},
        {"limit": ""},
        {"page": "0"},
        {"page": "-1"},
        {"page": "1.5"},
        {"page": "99999999999999999999999"},
        {"pagination": "sideways"},
        {"direction": "UPWARDS"},
        {"sort": "password"},
        {"sort": "email,nope"},
        {"sort": "-nope"},
        {"nope": "1"},
        {"nope__eq": "1"},
        {"email__regex": ".*"},
        {"email__": "x"},
        {"__eq": "x"},
        {"id__eq": "abc"},
        {"id__gt": "1.5"},
        {"id__in": "1,two,3"},
        {"createdAt__gt": "yesterday"},
        {"created_at__lt": "2024-13-45T99:00:00"},
        {"email__is_null": "maybe"},
        {"profile": "admin"},
    ],
)
async def test_bad_list_query_is_422(store: StoreClient, params: dict[str, str]) -> None:
    body = assert_problem(await store.get("/users", params=params), (400, 422))
    assert body["errors"], body


async def test_wrong_typed_filter_on_products(store: StoreClient) -> None:
    for params in ({"priceCents__gte": "cheap"}, {"stock": "lots"}, {"id": "1.5"}, {"id": "x"}):
        assert_problem(await store.get("/products", params=params), 422)


async def test_huge_in_list_is_rejected_not_a_driver_error(store: StoreClient) -> None:
    # More values than any driver binds (asyncpg stops at 32767 parameters); the URL is
    # longer than httpx sends, so the request goes to the ASGI app directly.
    for name, value in (("id__in", "1"), ("email__in", "x"), ("fullName__in", "")):
        query = f"{name}=" + ",".join(value or str(i) for i in range(40_000))
        status, content_type, text = await raw_asgi(store.app, "GET", "/users", query.encode())
        assert status in (400, 422), text[:300]
        assert content_type.startswith("application/problem+json")
        assert_no_leak(text)


async def test_too_many_query_parameters_is_422(store: StoreClient) -> None:
    query = "&".join(f"email__ne=x{i}" for i in range(300))
    assert_problem(await store.get(f"/users?{query}"), 422)


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "!!!not-base64!!!",
        "",
        "A" * 5000,
        "eyJhIjoxfQ",  # base64 of {"a":1}: well-formed, unsigned
        "%00%01",
    ],
)
async def test_malformed_cursor_is_422(store: StoreClient, token: str) -> None:
    await store.product("CUR-1")
    resp = await store.get("/products", params={"after": token, "limit": "1"})
    if token == "":
        assert resp.status_code == 200  # an empty cursor is the first page
        return
    assert_problem(resp, 422, "validation_error")


async def test_tampered_cursor_is_422(store: StoreClient) -> None:
    for i in range(3):
        await store.product(f"TAMPER-{i}")
    first = (await store.get("/products", params={"limit": "1"})).json()
    token = first["next_cursor"]
    assert token and first["has_next"]
    ok = await store.get("/products", params={"limit": "1", "after": token})
    assert ok.status_code == 200

    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    assert_problem(await store.get("/products", params={"limit": "1", "after": flipped}), 422)
    assert_problem(await store.get("/products", params={"limit": "1", "after": token[:-4]}), 422)
    # A genuine cursor replayed against another sort order or filter set.
    other = {"limit": "1", "after": token, "sort": "name"}
    assert_problem(await store.get("/products", params=other), 422)
    other = {"limit": "1", "after": token, "category": "tools"}
    assert_problem(await store.get("/products", params=other), 422)


# -- path parameters ------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["abc", "1.5", "1e3", "0x10", "99999999999999999999999", "1;DROP TABLE users", "%20", "١٢"],
)
async def test_non_integer_path_id_is_422(store: StoreClient, raw: str) -> None:
    for method, path in (
        ("GET", f"/users/{raw}"),
        ("PATCH", f"/users/{raw}"),
        ("DELETE", f"/users/{raw}"),
        ("GET", f"/users/{raw}/addresses/"),
        ("GET", f"/users/1/addresses/{raw}"),
        ("GET", f"/products/{raw}/jobs/summary"),
        ("GET", f"/orders/{raw}/total"),
    ):
        kwargs = {"json": {"fullName": "x"}} if method == "PATCH" else {}
        resp = await store.request(method, path, **kwargs)
        assert_problem(resp, (404, 422))
        if resp.status_code == 404:  # only a route that does not exist, not a lookup
            assert "no route" in resp.json()["detail"], resp.text


async def test_negative_and_zero_ids_are_404(store: StoreClient) -> None:
    for raw in ("0", "-1", "9223372036854775807"):
        assert_problem(await store.get(f"/users/{raw}"), 404, "not_found")


# -- SQL-looking input is data, never SQL ---------------------------------------------

INJECTIONS = [
    "x' OR '1'='1",
    "x'; DROP TABLE users; --",
    '" OR ""="',
    "1 OR 1=1",
    "%' OR 1=1 --",
    "') UNION SELECT id, email, email, created_at, updated_at FROM users --",
    "\\'; DELETE FROM users; --",
]


@pytest.mark.parametrize("payload", INJECTIONS)
async def test_sql_in_filters_is_bound_as_a_value(store: StoreClient, payload: str) -> None:
    await store.user("victim@example.com")
    for params in (
        {"email__eq": payload},
        {"email": payload},
        {"fullName__like": payload},
        {"full_name__ilike": payload},
        {"email__in": f"{payload},{payload}"},
        {"email__ne": payload, "fullName": payload},
    ):
        resp = await store.get("/users", params=params)
        assert resp.status_code == 200, resp.text
        assert resp.json()["items"] == [], (params, resp.text)
    # The table is still there, with its row.
    listing = (await store.get("/users")).json()
    assert listing["total_count"] == 1
    assert listing["items"][0]["email"] == "victim@example.com"


async def test_sql_in_sort_and_other_params_is_rejected(store: StoreClient) -> None:
    await store.user("victim@example.com")
    for params in (
        {"sort": "email; DROP TABLE users"},
        {"sort": "(SELECT 1)"},
        {"direction": "ASC; DROP TABLE users"},
        {"email; DROP TABLE users": "x"},
        {"limit": "1; DROP TABLE users"},
    ):
        resp = await store.get("/users", params=params)
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        echoed = resp.text
        for text in (*params, *params.values()):  # the client's own input may be quoted back
            echoed = echoed.replace(text, "")
        assert_no_leak(echoed)
    assert (await store.get("/users")).json()["total_count"] == 1


@pytest.mark.parametrize("payload", INJECTIONS)
async def test_sql_in_bodies_is_stored_verbatim(store: StoreClient, payload: str) -> None:
    resp = await store.post("/users", json={"fullName": payload, "email": "sql@example.com"})
    assert resp.status_code == 201, resp.text
    got = (await store.get(f"/users/{resp.json()['id']}")).json()
    assert got["fullName"] == payload
    found = (await store.get("/users", params={"fullName": payload})).json()
    assert [u["id"] for u in found["items"]] == [got["id"]]


async def test_like_wildcards_in_values_do_not_widen_eq(store: StoreClient) -> None:
    await store.user("a@example.com")
    assert (await store.get("/users", params={"email": "%"})).json()["items"] == []
    assert (await store.get("/users", params={"email": "_@example.com"})).json()["items"] == []


# -- methods and routes ---------------------------------------------------------------


async def test_unknown_route_and_method_are_problems(store: StoreClient) -> None:
    assert_problem(await store.get("/nope"), 404, "not_found")
    assert_problem(await store.put("/users", json=USER), 405, "method_not_allowed")
    assert_problem(await store.delete("/users"), 405)


# -- regressions found by the fuzzer ----------------------------------------------------


@pytest.mark.parametrize("raw", ["¹", "³", "²5", "-¹", "1²"])
async def test_superscript_digit_path_id_is_422_not_500(store: StoreClient, raw: str) -> None:
    """``str.isdigit`` is true for "¹", ``int()`` refuses it: that used to be a 500."""
    for method, path in (
        ("GET", f"/users/{raw}"),
        ("DELETE", f"/products/{raw}"),
        ("GET", f"/orders/{raw}/total"),
        ("DELETE", f"/orders/{raw}/items/1"),
        ("GET", f"/users/{raw}/addresses/1"),
        ("GET", f"/products/{raw}/jobs/summary"),
    ):
        assert_problem(await store.request(method, path), 422, "validation_error")


@pytest.mark.parametrize("name", ["limit", "page"])
async def test_superscript_digit_limit_and_page_are_422_not_500(
    store: StoreClient, name: str
) -> None:
    assert_problem(await store.get("/users", params={name: "¹"}), 422, "validation_error")


@pytest.mark.parametrize(
    "params",
    [
        {"updated_at__gte": "8"},  # lax conversion read it as a Unix timestamp
        {"createdAt__lt": "1700000000.5"},
        {"created_at__in": "2024-01-01T00:00:00Z,12"},
        {"email__is_null": ""},  # blank used to mean true; the document says boolean
        {"full_name__is_null": "1"},
        {"id__eq": "1e3"},  # lax conversion read it as 1000
        {"id": "+1_000"},
    ],
)
async def test_filter_text_the_document_does_not_allow_is_422(
    store: StoreClient, params: dict[str, str]
) -> None:
    await store.user("lax@example.com")
    body = assert_problem(await store.get("/users", params=params), 422, "validation_error")
    assert [e["field"] for e in body["errors"]] == list(params)
