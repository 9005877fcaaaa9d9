"""The statement runner under the SQL adapter: one interface, chosen once per
database, whose writes reach the cache through one channel, once each."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from loom.core.model import BaseModel, ColumnField
from loom.core.repository.sqlalchemy import RepositorySQLAlchemy, table_for
from loom.core.repository.sqlalchemy._asyncpg import AsyncpgRunner
from loom.core.repository.sqlalchemy._runner import SQLAlchemyRunner
from loom.core.repository.sqlalchemy._write_tracking import install_write_tracking


class RunnerRow(BaseModel):
    __tablename__ = "runner_rows"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=40)


class RunnerJsonRow(BaseModel):
    __tablename__ = "runner_json_rows"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    data: dict[str, Any] = ColumnField(default_factory=dict)


table_for(RunnerRow)
table_for(RunnerJsonRow)


class Sink:
    def __init__(self) -> None:
        self.writes: list[tuple[tuple[str, ...], bool]] = []

    def note_write(self, tables: Any, *, delete: bool = False) -> None:
        self.writes.append((tuple(tables), delete))


def test_the_runner_is_chosen_once_per_database(database: Any) -> None:
    expected = AsyncpgRunner if database.dialect == "postgresql" else SQLAlchemyRunner
    assert database.runner_type is expected


@pytest.mark.parametrize("model", [RunnerRow, RunnerJsonRow], ids=["plain", "converted"])
async def test_each_write_reaches_the_cache_once(database: Any, model: type) -> None:
    """Whether a write ran on the driver (plain columns, asyncpg) or through
    SQLAlchemy, the tracking hears of it exactly once."""
    sink = Sink()
    install_write_tracking(database, sink)
    install_write_tracking(database, sink)  # idempotent
    repo = RepositorySQLAlchemy(database, model)
    data = {"name": "a"} if model is RunnerRow else {"data": {"a": 1}}
    row = await repo.create(data)
    await repo.update(row.id, data)
    await repo.get_by_id(row.id)
    await repo.delete(row.id)
    table = model.__tablename__  # type: ignore[attr-defined]
    assert sink.writes == [((table,), False), ((table,), False), ((table,), True)]


async def test_the_runner_api_runs_core_statements_in_the_unit(database: Any) -> None:
    table = table_for(RunnerRow)
    async with database.runner() as run:
        assert await run.execute(sa.insert(table).values(name="x")) == 1
    with pytest.raises(RuntimeError):
        async with database.begin(), database.runner() as run:
            await run.execute(sa.insert(table).values(name="y"))
            assert await run.fetchval(sa.select(sa.func.count()).select_from(table)) == 2
            raise RuntimeError("roll back")
    async with database.runner() as run:
        rows = await run.fetch(sa.select(table.c.name))
        one = await run.fetchrow(sa.select(table.c.name).where(table.c.name == "x"))
        none = await run.fetchrow(sa.select(table.c.name).where(table.c.name == "y"))
        deleted = await run.execute(sa.delete(table))
    assert [r[0] for r in rows] == ["x"]
    assert one is not None and one[0] == "x" and none is None
    assert deleted == 1


async def test_bootstrap_chooses_the_sql_idempotency_store(database: Any) -> None:
    from loom.core.config.settings import load_settings
    from loom.core.repository.sqlalchemy._idempotency import (
        SQLIdempotencyStore,
        idempotency_store,
    )

    store = idempotency_store(load_settings({}), database)
    assert isinstance(store, SQLIdempotencyStore) and store.database is database
    off = load_settings({"app": {"rest": {"idempotency": {"enabled": False}}}})
    assert idempotency_store(off, database) is None
    assert idempotency_store(load_settings({}), None) is None
    await database.create_all()  # loom_idempotency, beside the models' tables
    async with database.begin():
        assert await store.claim("k", "POST /x", "f") is None
        await store.complete("k", 201, "application/json", b"{}")
    async with database.begin():
        again = await store.claim("k", "POST /x", "f")
    assert again is not None and (again.status, again.body) == (201, b"{}")
