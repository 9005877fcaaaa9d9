"""Explicit 0.2 column types round-trip through the repository on SQLite and PostgreSQL
(PostgreSQL-only types fall back to portable ones on SQLite)."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Annotated, Any

from loom.core.model import (
    BaseModel,
    ColumnField,
    DateTime,
    Field,
    Integer,
    Numeric,
    Postgres,
    ServerDefault,
    ServerOnUpdate,
    String,
)
from loom.core.repository.sqlalchemy import RepositorySQLAlchemy


class CtrDoc(BaseModel):
    __tablename__ = "ctr_docs"
    id: int = ColumnField(Integer, primary_key=True, autoincrement=True)
    title: Annotated[str, String(30), Field(index=True)]
    price: decimal.Decimal = ColumnField(Numeric(precision=12, scale=3))
    rate: float = ColumnField(Numeric(precision=6, scale=2), default=1.25)
    body: dict[str, Any] = ColumnField(Postgres.JSONB, default_factory=dict)
    tags: list[int] = ColumnField(Postgres.ARRAY(Integer), default_factory=list)
    ref: uuid.UUID | None = ColumnField(Postgres.UUID)
    local: dt.datetime | None = ColumnField(DateTime(tz=False))
    created: dt.datetime = ColumnField(server_default=ServerDefault.NOW)
    touched: dt.datetime = ColumnField(
        server_default=ServerDefault.NOW, server_onupdate=ServerOnUpdate.NOW
    )


async def test_typed_columns_round_trip(database: Any) -> None:
    docs = RepositorySQLAlchemy(database, CtrDoc)
    ref = uuid.uuid4()
    local = dt.datetime(2024, 5, 1, 12, 30)
    made = await docs.create(
        {
            "title": "first",
            "price": decimal.Decimal("12.345"),
            "body": {"a": [1, 2], "b": None},
            "tags": [3, 1, 2],
            "ref": ref,
            "local": local,
        }
    )
    got = await docs.get_by_id(made.id)
    assert got is not None
    assert got.price == decimal.Decimal("12.345")
    assert got.rate == 1.25 and type(got.rate) is float
    assert got.body == {"a": [1, 2], "b": None}
    assert got.tags == [3, 1, 2]
    assert got.ref == ref
    assert got.local == local and got.local.tzinfo is None
    assert got.created.tzinfo is not None and got.touched == got.created
    updated = await docs.update(made.id, {"title": "second"})
    assert updated is not None and updated.title == "second"
    assert updated.touched >= got.touched and updated.created == got.created
