"""Units of work: rollback on error, nested blocks joining, after-commit hooks."""

from __future__ import annotations

from typing import Any

import pytest
from repo_support import ItrParent

from loom.core.errors import Conflict
from loom.core.repository.sqlalchemy import RepositorySQLAlchemy
from loom.core.uow import current_unit_of_work


class Boom(Exception):
    pass


@pytest.fixture
def parents(database: Any) -> RepositorySQLAlchemy[Any, int]:
    return RepositorySQLAlchemy(database, ItrParent)


async def test_an_error_inside_begin_rolls_back_every_write(database: Any, parents: Any) -> None:
    with pytest.raises(Boom):
        async with database.begin():
            created = await parents.create({"name": "ghost"})
            assert await parents.get_by_id(created.id) is not None  # visible inside
            await parents.create({"name": "ghost 2"})
            raise Boom
    assert await parents.count() == 0


async def test_a_committed_block_is_visible_afterwards(database: Any, parents: Any) -> None:
    async with database.begin():
        await parents.create({"name": "a"})
        await parents.create({"name": "b"})
    assert await parents.count() == 2


async def test_nested_begin_joins_the_outer_transaction(database: Any, parents: Any) -> None:
    with pytest.raises(Boom):
        async with database.begin() as outer:
            async with database.begin() as inner:
                assert inner is outer
                await parents.create({"name": "inner"})
            assert current_unit_of_work() is outer
            await parents.create({"name": "outer"})
            raise Boom
    assert await parents.count() == 0
    assert current_unit_of_work() is None


async def test_an_error_in_a_nested_block_rolls_back_the_outer_writes_too(
    database: Any, parents: Any
) -> None:
    with pytest.raises(Boom):
        async with database.begin():
            await parents.create({"name": "outer"})
            async with database.begin():
                raise Boom
    assert await parents.count() == 0


async def test_after_commit_hooks_run_only_after_commit(database: Any, parents: Any) -> None:
    calls: list[str] = []

    async def async_hook() -> None:
        # The data is committed and visible to a new unit of work by now.
        calls.append(f"async:{await parents.count()}")

    async with database.begin() as uow:
        await parents.create({"name": "a"})
        uow.after_commit(lambda: calls.append("sync"))
        async with database.begin() as nested:
            nested.after_commit(async_hook)
        assert calls == []
    assert calls == ["sync", "async:1"]


async def test_after_commit_hooks_do_not_run_on_rollback(database: Any, parents: Any) -> None:
    calls: list[str] = []
    with pytest.raises(Boom):
        async with database.begin() as uow:
            uow.after_commit(lambda: calls.append("nope"))
            await parents.create({"name": "a"})
            raise Boom
    assert calls == []


async def test_a_failed_statement_rolls_back_the_unit_of_work(database: Any) -> None:
    from repo_support import ItrUser, user_data

    users = RepositorySQLAlchemy(database, ItrUser)
    await users.create(user_data(1))
    calls: list[str] = []
    with pytest.raises(Conflict):
        async with database.begin() as uow:
            uow.after_commit(lambda: calls.append("nope"))
            await users.create(user_data(2))
            await users.create(user_data(3, email="u001@example.com"))
    assert await users.count() == 1
    assert calls == []


async def test_a_block_without_statements_commits_nothing(database: Any) -> None:
    calls: list[str] = []
    async with database.begin() as uow:
        uow.after_commit(lambda: calls.append("ran"))
    assert calls == ["ran"]
