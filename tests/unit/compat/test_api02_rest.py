"""0.2 signature pins for ``loom.rest`` / ``loom.rest.model`` / ``loom.rest.autocrud`` /
``loom.rest.fastapi``, and behaviour written from API-0.2.md's descriptions (auto
routes only without declared routes, ``"/"`` collection paths, settings inherited
route -> interface -> ``RestApiDefaults``, ``allow_pagination_override``)."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from loom.bootstrap import build_runtime
from loom.core.model import BaseModel, ColumnField
from loom.core.repository.abc.query import CursorResult, PageResult, QuerySpec
from loom.core.runtime import Components
from loom.core.use_case._plan import DeclarationError
from loom.core.use_case.use_case import UseCase
from loom.rest.autocrud import build_auto_routes
from loom.rest.fastapi.app import build_fastapi_app
from loom.rest.model import PaginationMode, RestApiDefaults, RestInterface, RestRoute

EMPTY = inspect.Parameter.empty


def params_of(fn: Any) -> list[tuple[str, Any]]:
    return [
        (p.name, p.default) for p in inspect.signature(fn).parameters.values() if p.name != "self"
    ]


# -- imports and signatures ---------------------------------------------------------------


def test_package_re_exports() -> None:
    import loom.rest
    import loom.rest.autocrud
    import loom.rest.fastapi
    import loom.rest.fastapi.auto
    import loom.rest.model

    for name in ("RestInterface", "RestRoute", "RestApiDefaults", "PaginationMode"):
        assert getattr(loom.rest, name) is getattr(loom.rest.model, name)
    assert loom.rest.build_auto_routes is loom.rest.autocrud.build_auto_routes
    assert loom.rest.fastapi.create_app is loom.rest.fastapi.auto.create_app
    assert loom.rest.PaginationMode is PaginationMode
    assert {m.value for m in PaginationMode} == {"offset", "cursor"}


def test_rest_route_signature() -> None:
    assert params_of(RestRoute)[:11] == [
        ("use_case", EMPTY),
        ("method", EMPTY),
        ("path", EMPTY),
        ("summary", ""),
        ("description", ""),
        ("status_code", 200),
        ("pagination_mode", None),
        ("allow_pagination_override", None),
        ("profile_default", ""),
        ("allowed_profiles", ()),
        ("expose_profile", False),
    ]
    # Loom's own keywords stay, after 0.2's positional ones.
    extra = {p.name: p.kind for p in inspect.signature(RestRoute).parameters.values()}
    assert {extra[k] for k in ("tags", "name", "auto")} == {inspect.Parameter.KEYWORD_ONLY}


def test_rest_route_is_a_frozen_dataclass_built_positionally() -> None:
    route = RestRoute(ListThings, "get", "/things", "List them", "", 200, PaginationMode.CURSOR)
    assert [f.name for f in dataclasses.fields(RestRoute)][:3] == ["use_case", "method", "path"]
    assert (route.method, route.path, route.summary) == ("GET", "/things", "List them")
    assert route.pagination_mode is PaginationMode.CURSOR
    assert route.allow_pagination_override is None and route.allowed_profiles == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        route.path = "/other"
    with pytest.raises(ValueError, match="unsupported method"):
        RestRoute(ListThings, "FETCH", "/")


def test_rest_api_defaults_signature() -> None:
    assert params_of(RestApiDefaults) == [
        ("pagination_mode", PaginationMode.OFFSET),
        ("allow_pagination_override", True),
        ("profile_default", "default"),
        ("allowed_profiles", ()),
    ]


def test_rest_interface_defaults() -> None:
    assert RestInterface.tags == ()
    assert RestInterface.auto is False
    assert RestInterface.include == ()
    assert RestInterface.routes == ()
    assert RestInterface.pagination_mode is None
    assert RestInterface.allow_pagination_override is None
    assert RestInterface.profile_default == ""
    assert RestInterface.allowed_profiles == ()
    assert RestInterface.expose_profile is False


def test_build_auto_routes_signature_and_paths() -> None:
    assert [name for name, _ in params_of(build_auto_routes)] == ["model", "include"]
    routes = {(r.method, r.path): r for r in build_auto_routes(C02Thing, ())}
    assert set(routes) == {
        ("POST", "/"),
        ("GET", "/{id}"),
        ("GET", "/"),
        ("PATCH", "/{id}"),
        ("DELETE", "/{id}"),
    }
    assert routes[("POST", "/")].status_code == 201
    only = build_auto_routes(C02Thing, ("get", "list"))
    assert {(r.method, r.path) for r in only} == {("GET", "/{id}"), ("GET", "/")}


# -- behaviour ------------------------------------------------------------------------------


class C02Thing(BaseModel):
    __tablename__ = "c02r_things"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=40)


class ListThings(UseCase[C02Thing, PageResult[C02Thing] | CursorResult[C02Thing]]):
    async def execute(self, query: QuerySpec) -> PageResult[C02Thing] | CursorResult[C02Thing]:
        return await self.main_repo.list_with_query(query)


class CountThingsUseCase(UseCase[C02Thing, int]):
    async def execute(self) -> int:
        return len((await self.main_repo.list_with_query(QuerySpec(limit=1000))).items)


class AutoThings(RestInterface[C02Thing]):
    prefix = "/w1"
    auto = True


class DeclaredThings(RestInterface[C02Thing]):
    prefix = "/w2"
    auto = True
    routes = (RestRoute(CountThingsUseCase, "GET", "/count"),)


class StrictThings(RestInterface[C02Thing]):
    prefix = "/w3"
    allow_pagination_override = False
    routes = (RestRoute(ListThings, "GET", "/"),)


class RouteModeThings(RestInterface[C02Thing]):
    prefix = "/w4"
    pagination_mode = PaginationMode.CURSOR
    routes = (
        RestRoute(ListThings, "GET", "/"),
        RestRoute(ListThings, "GET", "/paged", pagination_mode=PaginationMode.OFFSET),
    )


INTERFACES = [AutoThings, DeclaredThings, StrictThings, RouteModeThings]


@contextmanager
def _client(directory: Path, defaults: RestApiDefaults | None = None) -> Iterator[TestClient]:
    cfg = {
        "app": {"name": "compat-rest"},
        "database": {"url": f"sqlite+aiosqlite:///{directory / 'compat_rest.db'}"},
    }
    runtime = build_runtime(cfg, components=Components(models=[C02Thing], interfaces=INTERFACES))
    app = build_fastapi_app(runtime, defaults=defaults)
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with _client(tmp_path_factory.mktemp("compat_rest")) as c:
        for name in ("a", "b", "c"):
            assert c.post("/w1/", json={"name": name}).status_code == 201
        yield c


def test_auto_routes_only_when_routes_is_empty(client: TestClient) -> None:
    assert client.get("/w1/1").status_code == 200
    assert client.get("/w2/count").json() == 3
    # "/w2/1 returns 200 on Loom (before), 404 on 0.2": the declared list is exact.
    assert client.get("/w2/1").status_code == 404
    assert client.post("/w2/", json={"name": "x"}).status_code in (404, 405)


def test_collection_paths_answer_with_and_without_the_slash(client: TestClient) -> None:
    assert client.get("/w1/").json()["total_count"] == 3
    assert client.get("/w1").json()["total_count"] == 3
    created = client.post("/w1", json={"name": "d"})
    assert created.status_code == 201 and created.json()["name"] == "d"
    assert client.delete(f"/w1/{created.json()['id']}/").json() is True


def test_allow_pagination_override_false_refuses_another_mode(client: TestClient) -> None:
    assert client.get("/w3/?pagination=offset").status_code == 200
    assert 400 <= client.get("/w3/?pagination=cursor").status_code < 500


def test_values_inherit_route_then_interface_then_defaults(client: TestClient) -> None:
    assert "next_cursor" in client.get("/w4/").json()  # the interface's CURSOR
    assert "total_count" in client.get("/w4/paged").json()  # the route's OFFSET
    assert "total_count" in client.get("/w1/").json()  # RestApiDefaults: OFFSET


def test_app_defaults_are_passed_to_the_app_factory(tmp_path: Path) -> None:
    defaults = RestApiDefaults(
        pagination_mode=PaginationMode.CURSOR, allow_pagination_override=False
    )
    with _client(tmp_path, defaults) as client:
        assert "next_cursor" in client.get("/w1/").json()
        assert 400 <= client.get("/w1/?pagination=offset").status_code < 500
        assert "total_count" in client.get("/w4/paged").json()  # the route still wins


def test_a_profile_query_on_a_route_that_does_not_expose_it_is_refused(
    client: TestClient,
) -> None:
    assert 400 <= client.get("/w1/?profile=default").status_code < 500


def test_empty_or_duplicate_routes_are_start_up_errors(tmp_path: Path) -> None:
    class NoRoutes(RestInterface[C02Thing]):
        prefix = "/none"

    class Twice(RestInterface[C02Thing]):
        prefix = "/twice"
        routes = (RestRoute(ListThings, "GET", "/"), RestRoute(ListThings, "GET", "/"))

    cfg = {"app": {"name": "x"}, "database": {"url": "sqlite+aiosqlite:///:memory:"}}
    for bad, message in ((NoRoutes, "serves no route"), (Twice, "already served")):
        runtime = build_runtime(cfg, components=Components(models=[C02Thing], interfaces=[bad]))
        with pytest.raises(DeclarationError, match=message):
            build_fastapi_app(runtime)
