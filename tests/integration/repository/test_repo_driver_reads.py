"""``get_by_id`` on asyncpg reads the row on the driver itself when it can, and gives
exactly what the SQLAlchemy path gives."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from loom.core.model import BaseModel, ColumnField
from loom.core.repository.sqlalchemy import RepositorySQLAlchemy, table_for


class DriverRow(BaseModel):
    __tablename__ = "drv_rows"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=40)
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


@contextmanager
def sqlalchemy_selects(database: Any) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    sa.event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(database.engine.sync_engine, "before_cursor_execute", record)


async def test_get_by_id_gives_the_same_entity_on_either_path(database: Any) -> None:
    repo = RepositorySQLAlchemy(database, DriverRow)
    seen_at = dt.datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=dt.UTC)
    created = await repo.create(
        {"name": "n", "due": dt.date(2026, 1, 2), "seenAt": seen_at, "price": "9.99"}
    )
    with sqlalchemy_selects(database) as statements:
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
    with sqlalchemy_selects(database) as statements:
        async with database.begin():
            fetched = await repo.get_by_id(created.id)
    assert fetched is not None and fetched.data == {"a": [1, 2]}
    assert len(statements) == 1
