"""The HTTP adapter on each SQL backend: filters, both paginations, conflicts, transactions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rest_db_app import open_client

MEMBERS = [
    # name, age, nickname
    ("Alma", 31, "al"),
    ("bruno", 25, None),
    ("Carla", 31, "cc"),
    ("dario", 40, None),
    ("Elena", 25, "ele"),
    ("fabio", 31, None),
    ("Gina", 52, "gi"),
]


@pytest.fixture
def client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    with open_client(tmp_path, db_url) as c:
        yield c


def _seed(client: TestClient) -> int:
    team = client.post("/teams", json={"name": "core"})
    assert team.status_code == 201, team.text
    team_id: int = team.json()["id"]
    for name, age, nick in MEMBERS:
        created = client.post(
            f"/teams/{team_id}/members",
            json={"name": name, "email": f"{name.lower()}@example.com", "age": age},
        )
        assert created.status_code == 201, created.text
        if nick is not None:
            patched = client.patch(f"/members/{created.json()['id']}", json={"nickname": nick})
            assert patched.status_code == 200, patched.text
    return team_id


def names(client: TestClient, query: str) -> list[str]:
    """The matching names, sorted here: text collation differs between databases."""
    response = client.get(f"/members?pagination=offset&{query}")
    assert response.status_code == 200, response.text
    return sorted((m["name"] for m in response.json()["items"]), key=str.lower)


def test_filters_behave_the_same_on_every_backend(client: TestClient) -> None:
    _seed(client)
    assert names(client, "age=31") == ["Alma", "Carla", "fabio"]
    assert names(client, "age__ne=31&age__lt=45") == ["bruno", "dario", "Elena"]
    assert names(client, "age__gte=40") == ["dario", "Gina"]
    assert names(client, "age__in=25,52") == ["bruno", "Elena", "Gina"]
    assert names(client, "nickname__is_null=true") == ["bruno", "dario", "fabio"]
    # LIKE is case-sensitive and ILIKE is not, on SQLite as on PostgreSQL.
    assert names(client, "name__like=%25a") == ["Alma", "Carla", "Elena", "Gina"]
    assert names(client, "name__like=a%25") == []
    assert names(client, "name__ilike=a%25") == ["Alma"]
    assert names(client, "email__ilike=%25IO@EXAMPLE.COM") == ["dario", "fabio"]
    assert len(names(client, "name__like=_____")) == 5  # `_` is one character
    page = client.get("/members?pagination=offset&sort=age&direction=DESC&limit=3&page=1").json()
    assert [m["age"] for m in page["items"]] == [52, 40, 31]
    assert (page["total_count"], page["has_next"]) == (7, True)


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_cursor_walk_over_ties_is_complete_and_ordered(client: TestClient, direction: str) -> None:
    _seed(client)
    url = f"/members?sort=age&direction={direction}&limit=2"
    seen: list[dict[str, Any]] = []
    response = client.get(url).json()
    while True:
        seen += response["items"]
        if not response["has_next"]:
            assert response["next_cursor"] is None
            break
        response = client.get(f"{url}&after={response['next_cursor']}").json()
    assert sorted(m["name"] for m in seen) == sorted(n for n, _, _ in MEMBERS)
    ages = [m["age"] for m in seen]
    assert ages == sorted(ages, reverse=direction == "DESC")


def test_conflicts_and_missing_parents(client: TestClient) -> None:
    team_id = _seed(client)
    dup = client.post(
        f"/teams/{team_id}/members", json={"name": "X", "email": "alma@example.com", "age": 1}
    )
    assert dup.status_code == 409
    assert dup.json()["code"] == "conflict"
    assert "alma@example.com" not in dup.json()["detail"]
    assert client.post("/teams", json={"name": "core"}).status_code == 409
    missing = client.post("/teams/999/members", json={"name": "X", "email": "x@e.com", "age": 1})
    assert missing.status_code == 404
    bad_fk = client.patch("/members/1", json={"teamId": 999})
    assert bad_fk.status_code == 409


def test_a_failing_step_rolls_back_the_whole_request(client: TestClient) -> None:
    response = client.post(
        "/teams",
        json={
            "name": "doomed",
            "members": [
                {"name": "a", "email": "same@example.com", "age": 1},
                {"name": "b", "email": "same@example.com", "age": 2},
            ],
        },
    )
    assert response.status_code == 409, response.text
    assert client.get("/teams").json()["total_count"] == 0
    assert client.get("/members").json()["items"] == []
    ok = client.post(
        "/teams",
        json={"name": "fine", "members": [{"name": "a", "email": "a@example.com", "age": 1}]},
    )
    assert ok.status_code == 201
    assert len(client.get("/members").json()["items"]) == 1


def test_cascade_delete_through_the_api(client: TestClient) -> None:
    team_id = _seed(client)
    assert client.delete(f"/teams/{team_id}").json() is True
    assert client.get("/members").json() == {"items": [], "next_cursor": None, "has_next": False}
    assert client.delete(f"/teams/{team_id}").status_code == 404


def test_only_auto_crud_writes_on_stock_repositories_skip_the_transaction(
    client: TestClient,
) -> None:
    """Auto-CRUD create/update/delete are one statement each (PostgreSQL then runs them
    without BEGIN/COMMIT); a hand-written use case may write several times and keeps
    its transaction."""
    single = {
        (method, dispatcher.path)
        for dispatcher in client.app.state.loom_dispatchers  # type: ignore[attr-defined]
        for method, bound in dispatcher.by_method.items()
        if bound.single_write
    }
    assert single == {
        ("DELETE", "/teams/{id}"),
        ("POST", "/members/"),
        ("PATCH", "/members/{id}"),
        ("DELETE", "/members/{id}"),
    }
    team = client.post(
        "/teams", json={"name": "t", "members": [{"name": "a", "email": "a@x.io", "age": 3}]}
    )
    assert team.status_code == 201, team.text
    member = client.get("/members").json()["items"][0]
    patched = client.patch(f"/members/{member['id']}", json={"age": 4})
    assert patched.status_code == 200 and patched.json()["age"] == 4
    assert client.get(f"/members/{member['id']}").json()["age"] == 4
    assert client.delete(f"/members/{member['id']}").status_code == 200
    assert client.get(f"/members/{member['id']}").status_code == 404
