"""Models declared the 0.2 way, with explicit column types."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Annotated, Any

from loom.core.model import (
    BaseModel,
    Boolean,
    Cardinality,
    ColumnField,
    DateTime,
    Field,
    Float,
    Integer,
    Numeric,
    OnDelete,
    OnUpdate,
    Postgres,
    RelationField,
    ServerDefault,
    ServerOnUpdate,
    String,
    Text,
)


class CtmigCustomer(BaseModel):
    __tablename__ = "ctmig_customers"

    id: int = ColumnField(Integer, primary_key=True, autoincrement=True)
    email: str = ColumnField(String(255), unique=True, index=True)
    name: Annotated[str, String(120), Field(index=True)]
    vip: bool = ColumnField(Boolean, default=False)
    created_at: dt.datetime = ColumnField(DateTime(), server_default=ServerDefault.NOW)
    updated_at: dt.datetime | None = ColumnField(
        DateTime(), server_default=ServerDefault.NOW, server_onupdate=ServerOnUpdate.NOW
    )


class CtmigOrder(BaseModel):
    __tablename__ = "ctmig_orders"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    ref: uuid.UUID = ColumnField(Postgres.UUID, unique=True)
    customer_id: int = ColumnField(
        Integer,
        foreign_key="ctmig_customers.id",
        on_delete=OnDelete.CASCADE,
        on_update=OnUpdate.CASCADE,
        index=True,
    )
    total: decimal.Decimal = ColumnField(Numeric(precision=12, scale=2))
    weight: float | None = ColumnField(Float)
    notes: str | None = ColumnField(Text)
    payload: dict[str, Any] = ColumnField(Postgres.JSONB, default_factory=dict)
    labels: list[str] = ColumnField(Postgres.ARRAY(String(40)), default_factory=list)
    search: str | None = ColumnField(Postgres.TSVECTOR)
    status: str = ColumnField(db_type="VARCHAR(16)", server_default="'new'", default="new")
    placed_at: dt.datetime | None = ColumnField(DateTime(tz=False))

    customer: CtmigCustomer | None = RelationField(
        foreign_key="ctmig_customers.id", cardinality=Cardinality.MANY_TO_ONE
    )
