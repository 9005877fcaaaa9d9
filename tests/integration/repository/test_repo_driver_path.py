"""On asyncpg the repository's prebuilt statements run on the driver connection:
``get_by_id`` reads there, and writes run inside the unit of work's transaction, or
alone in autocommit when the unit holds one statement. Either way they give what the
SQLAlchemy path gives and fail the same way."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from loom.core.errors import Conflict
from loom.core.model import BaseModel, ColumnField
from loom.core.repository.sqlalchemy import RepositorySQLAlchemy, table_for


class DriverRow(BaseModel):
    __tablename__ = "drv_rows"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=40, unique=True)
    active: bool = ColumnField(default=True)
    ratio: float = ColumnField(default=0.5)
    price: decimal.Decimal = ColumnField(default=decimal.Decimal("1.25"))
    due: dt.date | None = ColumnField()
    seen_at: dt.datetime | None = ColumnField()


class DriverJsonRow(BaseModel):
    __tablename__ = "drv_json_rows"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    data: dict[str, Any] = ColumnField(default_factory=dict)


table_for(DriverRow)
table_for(DriverJsonRow)

WRITES = ("INSERT", "UPDATE", "DELETE")


@contextmanager
def sqlalchemy_statements(database: Any, *verbs: str) -> Iterator[list[str]]:
    """The statements starting with one of ``verbs`` that went through SQLAlchemy."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(verbs):
            seen.append(statement)

    sa.event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(database.engine.sync_engine, "before_cursor_execute", record)


def _in_transaction(uow: Any) -> bool:
    raw = uow.connection.sync_connection.connection.dbapi_connection
    driver = getattr(raw, "driver_connection", raw)
    if hasattr(driver, "is_in_transaction"):
        return bool(driver.is_in_transaction())
    return bool(driver.in_transaction)


async def _visible_elsewhere(database: Any, name: str) -> bool:
    """Whether another connection (not the unit's) sees a row with ``name``."""
    async with database.engine.connect() as conn:
        found = await conn.execute(sa.text("SELECT 1 FROM drv_rows WHERE name = :c"), {"c": name})
        return found.first() is not None


async def test_get_by_id_gives_the_same_entity_on_either_path(database: Any) -> None:
    repo = RepositorySQLAlchemy(database, DriverRow)
    seen_at = dt.datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=dt.UTC)
    created = await repo.create(
        {"name": "n", "due": dt.date(2026, 1, 2), "seenAt": seen_at, "price": "9.99"}
    )
    with sqlalchemy_statements(database, "SELECT") as statements:
        async with database.begin():
            fetched = await repo.get_by_id(created.id)
            missing = await repo.get_by_id(created.id + 1000)
    assert fetched == created
    assert missing is None
    assert fetched is not None and fetched.seen_at == seen_at
    assert fetched.seen_at.tzinfo is not None
    if database.driver_reads:
        assert statements == [], "the asyncpg path should not go through SQLAlchemy"
    else:
        assert len(statements) == 2


async def test_inside_a_transaction_the_read_sees_the_units_own_writes(database: Any) -> None:
    repo = RepositorySQLAlchemy(database, DriverRow)
    async with database.begin():
        row = await repo.create({"name": "mine"})
        assert await repo.get_by_id(row.id) == row


async def test_models_needing_conversion_take_the_sqlalchemy_path(database: Any) -> None:
    repo = RepositorySQLAlchemy(database, DriverJsonRow)
    created = await repo.create({"data": {"a": [1, 2]}})
    with sqlalchemy_statements(database, "SELECT") as statements:
        async with database.begin():
            fetched = await repo.get_by_id(created.id)
    assert fetched is not None and fetched.data == {"a": [1, 2]}
    assert len(statements) == 1


async def test_create_update_delete_give_what_a_read_gives(database: Any) -> None:
    repo = RepositorySQLAlchemy(database, DriverRow)
    seen_at = dt.datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=dt.UTC)
    with sqlalchemy_statements(database, *WRITES) as statements:
        created = await repo.create(
            {"name": "a", "due": dt.date(2026, 1, 2), "seenAt": seen_at, "price": "9.99"}
        )
        updated = await repo.update(created.id, {"ratio": 0.25, "active": False})
        assert await repo.update(10**9, {"ratio": 1.0}) is None
    assert created.price == decimal.Decimal("9.99") and created.seen_at == seen_at
    assert updated is not None and (updated.ratio, updated.active) == (0.25, False)
    assert await repo.get_by_id(created.id) == updated
    if database.driver_transactions:
        assert statements == [], "asyncpg writes of plain columns skip SQLAlchemy's execute"
    with sqlalchemy_statements(database, *WRITES):
        assert await repo.delete(created.id) is True
        assert await repo.delete(created.id) is False
    assert await repo.get_by_id(created.id) is None


async def test_columns_needing_conversion_take_the_sqlalchemy_path(database: Any) -> None:
    repo = RepositorySQLAlchemy(database, DriverJsonRow)
    with sqlalchemy_statements(database, *WRITES) as statements:
        row = await repo.create({"data": {"k": [1, 2]}})
        row = await repo.update(row.id, {"data": {"k": "v"}})
    assert row is not None and row.data == {"k": "v"}
    assert len(statements) == 2


async def test_a_duplicate_inside_a_unit_is_a_conflict_and_rolls_back_the_unit(
    database: Any,
) -> None:
    repo = RepositorySQLAlchemy(database, DriverRow)
    await repo.create({"name": "taken"})
    with pytest.raises(Conflict) as err:
        async with database.begin():
            await repo.create({"name": "fresh"})
            await repo.create({"name": "taken"})
    assert err.value.fields == ("name",)
    assert "duplicate" not in err.value.detail.lower()
    assert await repo.count() == 1, "the unit's first insert rolled back with it"


async def test_a_unit_with_several_writes_commits_them_together(database: Any) -> None:
    repo = RepositorySQLAlchemy(database, DriverRow)
    async with database.begin() as uow:
        first = await repo.create({"name": "one"})
        assert _in_transaction(uow)
        if database.dialect == "postgresql":  # SQLite readers wait for the writer
            assert not await _visible_elsewhere(database, "one"), "uncommitted until the end"
        await repo.update(first.id, {"name": "uno"})
    assert await _visible_elsewhere(database, "uno")


async def test_a_single_statement_unit_commits_its_write_at_once(database: Any) -> None:
    repo = RepositorySQLAlchemy(database, DriverRow)
    async with database.begin() as uow:
        uow.expect_single_statement()
        await repo.create({"name": "alone"})
        if database.dialect == "postgresql":
            assert not _in_transaction(uow), "one statement needs no BEGIN/COMMIT"
            assert await _visible_elsewhere(database, "alone")
        else:
            assert _in_transaction(uow), "SQLite keeps BEGIN IMMEDIATE"
    assert await _visible_elsewhere(database, "alone")


async def test_a_single_statement_unit_refuses_a_second_write(database: Any) -> None:
    repo = RepositorySQLAlchemy(database, DriverRow)
    if database.dialect != "postgresql":  # the hint is a no-op: one transaction as usual
        async with database.begin() as uow:
            uow.expect_single_statement()
            await repo.create({"name": "first"})
            await repo.create({"name": "second"})
        assert await repo.count() == 2
        return
    with pytest.raises(RuntimeError, match="second write"):
        async with database.begin() as uow:
            uow.expect_single_statement()
            await repo.create({"name": "first"})
            await repo.create({"name": "second"})
    assert await _visible_elsewhere(database, "first")
    assert not await _visible_elsewhere(database, "second")


async def test_the_hint_is_ignored_by_a_joined_unit(database: Any) -> None:
    repo = RepositorySQLAlchemy(database, DriverRow)
    async with database.begin(), database.begin() as inner:  # joins the outer unit
        inner.expect_single_statement()
        await repo.create({"name": "x1"})
        await repo.create({"name": "x2"})
    assert await repo.count() == 2


def test_only_the_stock_writes_are_single_statements(database: Any) -> None:
    class AuditedRepository(RepositorySQLAlchemy[DriverRow, int]):
        async def create(self, data: Any) -> DriverRow:
            return await super().create(data)

    stock = RepositorySQLAlchemy(database, DriverRow)
    custom = AuditedRepository(database)
    assert [stock.single_statement(op) for op in ("create", "update", "delete")] == [True] * 3
    assert custom.single_statement("create") is False
    assert custom.single_statement("update") is True
    assert stock.single_statement("get_by_id") is False
