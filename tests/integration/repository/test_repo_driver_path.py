"""On asyncpg the repository's prebuilt statements run on the driver connection:
``get_by_id`` reads there, and writes run inside the unit of work's transaction, or
alone in autocommit when the unit holds one statement. Either way they give what the
SQLAlchemy path gives and fail the same way."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from tests.conftest import on_the_driver

from loom.core.errors import Conflict
from loom.core.model import BaseModel, ColumnField
from loom.core.repository.abc.query import (
    CursorResult,
    FilterGroup,
    FilterOp,
    FilterSpec,
    PageResult,
    PaginationMode,
    QuerySpec,
    SortSpec,
)
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


def _in_transaction(uow: Any) -> bool:
    if uow.driver is not None:  # asyncpg
        return bool(uow.driver.is_in_transaction())
    raw = uow.connection.sync_connection.connection.dbapi_connection
    return bool(raw.driver_connection.in_transaction)  # aiosqlite


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
    async with on_the_driver(database, "SELECT") as statements, database.begin():
        fetched = await repo.get_by_id(created.id)
        missing = await repo.get_by_id(created.id + 1000)
    assert fetched == created
    assert missing is None
    assert fetched is not None and fetched.seen_at == seen_at
    assert fetched.seen_at.tzinfo is not None
    assert len(statements) == (2 if database.driver_statements else 0)


async def test_inside_a_transaction_the_read_sees_the_units_own_writes(database: Any) -> None:
    repo = RepositorySQLAlchemy(database, DriverRow)
    async with database.begin():
        row = await repo.create({"name": "mine"})
        assert await repo.get_by_id(row.id) == row


async def test_models_needing_conversion_take_the_sqlalchemy_path(database: Any) -> None:
    repo = RepositorySQLAlchemy(database, DriverJsonRow)
    created = await repo.create({"data": {"a": [1, 2]}})
    async with on_the_driver(database, "SELECT") as statements, database.begin():
        fetched = await repo.get_by_id(created.id)
    assert fetched is not None and fetched.data == {"a": [1, 2]}
    assert statements == []


async def test_create_update_delete_give_what_a_read_gives(database: Any) -> None:
    repo = RepositorySQLAlchemy(database, DriverRow)
    seen_at = dt.datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=dt.UTC)
    async with on_the_driver(database, *WRITES) as statements:
        created = await repo.create(
            {"name": "a", "due": dt.date(2026, 1, 2), "seenAt": seen_at, "price": "9.99"}
        )
        updated = await repo.update(created.id, {"ratio": 0.25, "active": False})
        assert await repo.update(10**9, {"ratio": 1.0}) is None
    assert created.price == decimal.Decimal("9.99") and created.seen_at == seen_at
    assert updated is not None and (updated.ratio, updated.active) == (0.25, False)
    assert await repo.get_by_id(created.id) == updated
    # Plain columns: the asyncpg writes skip SQLAlchemy's execute path.
    assert len(statements) == (3 if database.driver_statements else 0)
    async with on_the_driver(database, *WRITES):
        assert await repo.delete(created.id) is True
        assert await repo.delete(created.id) is False
    assert await repo.get_by_id(created.id) is None


async def test_columns_needing_conversion_take_the_sqlalchemy_path(database: Any) -> None:
    repo = RepositorySQLAlchemy(database, DriverJsonRow)
    async with on_the_driver(database, *WRITES) as statements:
        row = await repo.create({"data": {"k": [1, 2]}})
        row = await repo.update(row.id, {"data": {"k": "v"}})
    assert row is not None and row.data == {"k": "v"}
    assert statements == []


async def test_lists_and_counts_run_on_the_driver(database: Any) -> None:
    repo = RepositorySQLAlchemy(database, DriverRow)
    async with database.begin():
        for i in range(5):
            await repo.create({"name": f"r{i}", "ratio": i / 10})
    query = QuerySpec(
        filters=FilterGroup(filters=(FilterSpec(field="ratio", op=FilterOp.GTE, value=0.2),)),
        sort=(SortSpec(field="ratio", direction="DESC"),),
        pagination=PaginationMode.OFFSET,
        limit=2,
        page=1,
    )
    async with on_the_driver(database, "SELECT") as statements, database.begin():
        page = await repo.list_with_query(query)
        walked = await repo.list_with_query(
            msgspec.structs.replace(query, pagination=PaginationMode.CURSOR)
        )
        # An IN list binds one parameter per value: on the driver as well.
        named = await repo.list_with_query(
            QuerySpec(
                filters=FilterGroup(
                    filters=(FilterSpec(field="name", op=FilterOp.IN, value=["r1", "r4"]),)
                ),
                pagination=PaginationMode.OFFSET,
            )
        )
    assert isinstance(page, PageResult) and isinstance(walked, CursorResult)
    assert [r.name for r in page.items] == ["r4", "r3"] and page.total_count == 3
    assert [r.name for r in walked.items] == ["r4", "r3"] and walked.next_cursor
    assert sorted(r.name for r in named.items) == ["r1", "r4"]  # type: ignore[union-attr]
    # the full offset page and its count, the cursor page, the IN page (short: its
    # total needs no count)
    assert len(statements) == (4 if database.driver_statements else 0)


async def test_statements_go_through_sqlalchemy_while_someone_watches_them(
    database: Any,
) -> None:
    """echo, SQL logging or an instrumentation's cursor listener must see every
    statement, so the driver path steps aside while one is attached."""
    repo = RepositorySQLAlchemy(database, DriverRow)
    watched: list[str] = []

    def watch(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        watched.append(statement.split()[0].upper())

    sa.event.listen(database.engine.sync_engine, "before_cursor_execute", watch)
    try:
        assert not database.driver_statements
        async with on_the_driver(database, "SELECT", *WRITES) as direct, database.begin():
            row = await repo.create({"name": "seen"})
            await repo.get_by_id(row.id)
            await repo.count()
    finally:
        sa.event.remove(database.engine.sync_engine, "before_cursor_execute", watch)
    assert direct == []
    assert watched.count("INSERT") == 1 and watched.count("SELECT") == 2


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


async def test_a_connection_that_died_mid_unit_goes_back_to_the_pool(database: Any) -> None:
    """asyncpg drops a connection after a fatal error; the unit must still release it
    (invalidated), the write must not be committed, and the pool must serve again."""
    repo = RepositorySQLAlchemy(database, DriverRow)
    pool = database.engine.sync_engine.pool
    with pytest.raises(Exception):  # noqa: B017 - the error depends on the backend
        async with database.begin() as uow:
            await repo.create({"name": "lost"})
            if uow.driver is None:  # SQLite: no driver connection to kill
                raise RuntimeError("abandon the unit")
            uow.driver.terminate()
    assert pool.checkedout() == 0
    assert await repo.count() == 0
    assert (await repo.create({"name": "after"})).name == "after"
