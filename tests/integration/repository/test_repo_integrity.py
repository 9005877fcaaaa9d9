"""Foreign keys enforced by the database (SQLite too), translated to framework errors."""

from __future__ import annotations

from typing import Any

import pytest
from repo_support import ItrCascadeChild, ItrParent, ItrRestrictChild, ItrSetNullChild

from loom.core.errors import Conflict
from loom.core.repository.sqlalchemy import RepositorySQLAlchemy


@pytest.fixture
def repos(database: Any) -> dict[str, RepositorySQLAlchemy[Any, int]]:
    return {
        "parent": RepositorySQLAlchemy(database, ItrParent),
        "cascade": RepositorySQLAlchemy(database, ItrCascadeChild),
        "restrict": RepositorySQLAlchemy(database, ItrRestrictChild),
        "set_null": RepositorySQLAlchemy(database, ItrSetNullChild),
    }


async def test_create_with_a_missing_parent_is_a_conflict_naming_the_column(
    repos: dict[str, Any],
) -> None:
    with pytest.raises(Conflict) as err:
        await repos["cascade"].create({"parentId": 4242})
    assert err.value.fields == ("parent_id",)
    assert err.value.status == 409
    assert "FOREIGN KEY" not in err.value.detail and "violates" not in err.value.detail
    assert await repos["cascade"].count() == 0


async def test_update_to_a_missing_parent_is_a_conflict(repos: dict[str, Any]) -> None:
    parent = await repos["parent"].create({"name": "p"})
    child = await repos["cascade"].create({"parent_id": parent.id})
    with pytest.raises(Conflict) as err:
        await repos["cascade"].update(child.id, {"parentId": 4242})
    assert err.value.fields == ("parent_id",)
    assert (await repos["cascade"].get_by_id(child.id)).parent_id == parent.id


async def test_on_delete_cascade_deletes_the_children(repos: dict[str, Any]) -> None:
    keep = await repos["parent"].create({"name": "keep"})
    doomed = await repos["parent"].create({"name": "doomed"})
    for _ in range(3):
        await repos["cascade"].create({"parent_id": doomed.id})
    survivor = await repos["cascade"].create({"parent_id": keep.id})
    assert await repos["parent"].delete(doomed.id) is True
    remaining = await repos["cascade"].list_by("parent_id", [keep.id, doomed.id])
    assert [c.id for c in remaining] == [survivor.id]


async def test_on_delete_restrict_is_a_conflict_and_deletes_nothing(
    repos: dict[str, Any],
) -> None:
    parent = await repos["parent"].create({"name": "p"})
    await repos["restrict"].create({"parent_id": parent.id})
    with pytest.raises(Conflict) as err:
        await repos["parent"].delete(parent.id)
    assert "parent_id" in err.value.fields
    assert "referenced" in err.value.detail
    assert await repos["parent"].get_by_id(parent.id) is not None
    assert await repos["restrict"].count() == 1


async def test_on_delete_set_null_clears_the_reference(repos: dict[str, Any]) -> None:
    parent = await repos["parent"].create({"name": "p"})
    child = await repos["set_null"].create({"parent_id": parent.id})
    orphan = await repos["set_null"].create({})
    assert orphan.parent_id is None
    assert await repos["parent"].delete(parent.id) is True
    assert (await repos["set_null"].get_by_id(child.id)).parent_id is None


async def test_delete_after_children_are_gone_succeeds(repos: dict[str, Any]) -> None:
    parent = await repos["parent"].create({"name": "p"})
    child = await repos["restrict"].create({"parent_id": parent.id})
    assert await repos["restrict"].delete(child.id) is True
    assert await repos["parent"].delete(parent.id) is True
