"""Which routes an interface serves, and the settings each route ends up with."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from route_table_app import (
    GetGadgetNameUseCase,
    ListLowStockGadgetsUseCase,
    RtGadget,
    open_client,
    write_config,
)

from loom.core.model import BaseModel, ColumnField
from loom.core.use_case._plan import DeclarationError
from loom.rest.autocrud import build_auto_routes
from loom.rest.fastapi.auto import create_app
from loom.rest.model import PaginationMode, RestApiDefaults, RestInterface, RestRoute
from loom.rest.routes import CompiledRoute, compile_routes


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with open_client(tmp_path_factory.mktemp("route_table")) as c:
        gadget = c.post("/auto-gadgets/", json={"name": "lamp", "stock": 2})
        assert gadget.status_code == 201, gadget.text
        yield c


def _table(client: TestClient) -> list[CompiledRoute]:
    return client.app.state.loom_routes  # type: ignore[attr-defined]


def _compile(client: TestClient, *interfaces: type, **kw: Any) -> list[CompiledRoute]:
    return compile_routes(list(interfaces), client.app.state.loom, **kw)  # type: ignore[attr-defined]


def _served(client: TestClient, prefix: str) -> set[tuple[str, str]]:
    return {(r.method, r.path) for r in _table(client) if r.path.startswith(prefix)}


# -- auto and declared routes ----------------------------------------------------------


def test_auto_without_routes_serves_the_five_crud_routes(client: TestClient) -> None:
    assert _served(client, "/auto-gadgets") == {
        ("GET", "/auto-gadgets/"),
        ("POST", "/auto-gadgets/"),
        ("GET", "/auto-gadgets/{id}"),
        ("PATCH", "/auto-gadgets/{id}"),
        ("DELETE", "/auto-gadgets/{id}"),
    }


def test_declared_routes_are_exactly_what_is_served_even_with_auto(client: TestClient) -> None:
    assert _served(client, "/declared-gadgets") == {
        ("GET", "/declared-gadgets/{id}/name"),
        ("GET", "/declared-gadgets/low-stock/"),
    }
    assert client.get("/declared-gadgets/1/name").json() == "lamp"
    assert client.get("/declared-gadgets/1").status_code == 404
    assert client.delete("/declared-gadgets/1").status_code == 404
    assert client.get("/auto-gadgets/1").status_code == 200


def test_an_interface_with_no_route_is_a_start_up_error(client: TestClient) -> None:
    class RtEmptyInterface(RestInterface[RtGadget]):
        prefix = "/empty"

    with pytest.raises(DeclarationError, match=r"RtEmptyInterface serves no route.*auto = True"):
        _compile(client, RtEmptyInterface)


@pytest.mark.parametrize(("first", "second"), [("/", "/"), ("", "/"), ("/{id}", "/{gid}/")])
def test_the_same_method_and_path_twice_is_a_start_up_error(
    client: TestClient, first: str, second: str
) -> None:
    class RtTwiceInterface(RestInterface[RtGadget]):
        prefix = "/twice"
        routes = (
            RestRoute(
                ListLowStockGadgetsUseCase if "{" not in first else GetGadgetNameUseCase,
                "GET",
                first,
            ),
            RestRoute(
                ListLowStockGadgetsUseCase if "{" not in second else GetGadgetNameUseCase,
                "GET",
                second,
            ),
        )

    with pytest.raises(DeclarationError, match=r"RtTwiceInterface.*already served by"):
        _compile(client, RtTwiceInterface)


# -- summaries ------------------------------------------------------------------------


def test_default_summaries_are_sentences(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()["paths"]
    assert doc["/declared-gadgets/low-stock/"]["get"]["summary"] == "List low stock gadgets"
    assert doc["/declared-gadgets/{id}/name"]["get"]["summary"] == "Get gadget name"
    assert doc["/auto-gadgets/"]["post"]["summary"] == "Create a RtGadget"
    assert doc["/auto-gadgets/"]["get"]["summary"] == "List RtGadgets"
    assert doc["/auto-gadgets/{id}"]["get"]["summary"] == "Get a RtGadget by id"


class User(BaseModel):
    __tablename__ = "rt_summary_users"
    id: int = ColumnField(primary_key=True, autoincrement=True)


class Order(BaseModel):
    __tablename__ = "rt_summary_orders"
    id: int = ColumnField(primary_key=True, autoincrement=True)


class Category(BaseModel):
    __tablename__ = "rt_summary_categories"
    id: int = ColumnField(primary_key=True, autoincrement=True)


def test_auto_crud_summaries_pick_the_article_by_sound() -> None:
    def summaries(model: type) -> dict[str | None, str]:
        return {r.auto: r.summary for r in build_auto_routes(model, ())}

    assert summaries(User)["create"] == "Create a User"
    assert summaries(User)["delete"] == "Delete a User"
    assert summaries(Order)["get"] == "Get an Order by id"
    assert summaries(Category)["list"] == "List Categories"


# -- pagination -----------------------------------------------------------------------


def test_pagination_override_off_refuses_the_other_mode(client: TestClient) -> None:
    assert client.get("/paged-gadgets/").json().keys() >= {"next_cursor"}
    assert client.get("/paged-gadgets/?pagination=cursor").status_code == 200
    refused = client.get("/paged-gadgets/?pagination=offset")
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["pagination"]


def test_a_route_setting_wins_over_its_interface(client: TestClient) -> None:
    # /offset pins OFFSET (override still off: cursor is refused there).
    assert "total_count" in client.get("/paged-gadgets/offset").json()
    assert client.get("/paged-gadgets/offset?pagination=cursor").status_code == 422
    # /either re-allows the override inside an interface that forbids it.
    assert "total_count" in client.get("/paged-gadgets/either?pagination=offset").json()
    assert "next_cursor" in client.get("/paged-gadgets/either").json()


def test_one_use_case_on_several_routes_has_unique_operation_ids(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()["paths"]
    ids = [op["operationId"] for item in doc.values() for op in item.values()]
    assert len(ids) == len(set(ids))
    listed = {i for i in ids if i.startswith("ListLowStockGadgetsUseCase_get")}
    assert len(listed) == 3  # /declared-gadgets/low-stock/, /paged-gadgets/offset, /either


def test_openapi_offers_only_the_allowed_modes(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()["paths"]

    def modes(path: str) -> list[str]:
        params = doc[path]["get"]["parameters"]
        return next(p["schema"]["enum"] for p in params if p["name"] == "pagination")

    assert modes("/paged-gadgets/") == ["cursor"]
    assert sorted(modes("/paged-gadgets/either")) == ["cursor", "offset"]


def test_interface_values_fall_back_to_the_app_defaults(client: TestClient) -> None:
    class RtBareInterface(RestInterface[RtGadget]):
        prefix = "/bare"
        routes = (RestRoute(ListLowStockGadgetsUseCase, "GET", "/"),)

    (plain,) = _compile(client, RtBareInterface)
    assert (plain.pagination_mode, plain.allow_pagination_override) == (PaginationMode.OFFSET, True)
    assert plain.profile_default == "default"
    defaults = RestApiDefaults(
        pagination_mode=PaginationMode.CURSOR, allow_pagination_override=False
    )
    (tuned,) = _compile(client, RtBareInterface, defaults=defaults)
    assert (tuned.pagination_mode, tuned.allow_pagination_override) == (
        PaginationMode.CURSOR,
        False,
    )


def test_app_defaults_come_from_the_config(tmp_path: Path) -> None:
    extra = (
        "  rest:\n    defaults:\n      pagination_mode: CURSOR\n"
        "      allow_pagination_override: false\n"
    )
    with open_client(tmp_path, extra) as client:
        # /auto-gadgets sets nothing itself: the config's defaults apply.
        assert "next_cursor" in client.get("/auto-gadgets/").json()
        assert client.get("/auto-gadgets/?pagination=offset").status_code == 422
        # /paged-gadgets/offset pins OFFSET on the route.
        assert "total_count" in client.get("/paged-gadgets/offset").json()


def test_unknown_default_keys_are_a_start_up_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, "  rest:\n    defaults:\n      paging: cursor\n")
    with pytest.raises(DeclarationError, match=r"app.rest.defaults: unknown key\(s\) \['paging'\]"):
        create_app(config)
