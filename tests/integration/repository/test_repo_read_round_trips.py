"""Reads before a unit of work's first write skip BEGIN/COMMIT on PostgreSQL, and
writes after them still commit or roll back together."""

from __future__ import annotations

from typing import Any

import pytest

from loom.core.model import BaseModel, ColumnField
from loom.core.repository.sqlalchemy import RepositorySQLAlchemy, table_for


class RoundTripNote(BaseModel):
    __tablename__ = "rt_notes"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    body: str = ColumnField(length=50)


table_for(RoundTripNote)


def _in_transaction(uow: Any) -> bool:
    if uow.driver is not None:  # asyncpg
        return bool(uow.driver.is_in_transaction())
    raw = uow.connection.sync_connection.connection.dbapi_connection
    return bool(raw.driver_connection.in_transaction)  # aiosqlite


async def test_a_read_only_unit_runs_outside_a_transaction_on_postgres(database: Any) -> None:
    repo = RepositorySQLAlchemy(database, RoundTripNote)
    created = await repo.create({"body": "a"})
    async with database.begin() as uow:
        assert await repo.get_by_id(created.id) == created
        in_tx = _in_transaction(uow)
    if database.dialect == "postgresql":
        assert not in_tx, "a read-only request should be one round trip, no BEGIN/COMMIT"
    else:
        assert in_tx, "SQLite reads keep BEGIN IMMEDIATE so writers stay serialised"


async def test_the_first_write_after_reads_starts_one_transaction_that_rolls_back(
    database: Any,
) -> None:
    repo = RepositorySQLAlchemy(database, RoundTripNote)
    with pytest.raises(RuntimeError):
        async with database.begin() as uow:
            assert await repo.count() == 0
            await repo.create({"body": "first"})
            assert _in_transaction(uow)
            assert await repo.count() == 1  # the unit sees its own uncommitted write
            await repo.create({"body": "second"})
            raise RuntimeError("boom")
    assert await repo.count() == 0


async def test_reads_then_writes_commit_together(database: Any) -> None:
    repo = RepositorySQLAlchemy(database, RoundTripNote)
    async with database.begin():
        assert await repo.get_by_id(1) is None
        one = await repo.create({"body": "x"})
        await repo.update(one.id, {"body": "y"})
    fetched = await repo.get_by_id(one.id)
    assert fetched is not None and fetched.body == "y"
