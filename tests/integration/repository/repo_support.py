"""Models shared by the repository integration tests (tables prefixed ``itr_``)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from loom.core.model import BaseModel, ColumnField, OnDelete, TimestampedModel


class ItrUser(TimestampedModel):
    __tablename__ = "itr_users"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    full_name: str = ColumnField(length=40)
    email: str = ColumnField(length=80, unique=True, index=True)
    age: int | None = None
    score: float = ColumnField(default=0.0)
    active: bool = ColumnField(default=True)
    born_on: dt.date | None = None


class ItrItem(BaseModel):
    """Sort-heavy rows: ``grp`` has many ties, ``rank`` is nullable."""

    __tablename__ = "itr_items"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    grp: int = ColumnField(index=True)
    rank: int | None = None
    label: str = ColumnField(length=20, default="")


class ItrParent(BaseModel):
    __tablename__ = "itr_parents"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=40)


class ItrCascadeChild(BaseModel):
    __tablename__ = "itr_cascade_children"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    parent_id: int = ColumnField(
        foreign_key="itr_parents.id", on_delete=OnDelete.CASCADE, index=True
    )


class ItrRestrictChild(BaseModel):
    __tablename__ = "itr_restrict_children"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    parent_id: int = ColumnField(foreign_key="itr_parents.id", on_delete=OnDelete.RESTRICT)


class ItrSetNullChild(BaseModel):
    __tablename__ = "itr_setnull_children"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    parent_id: int | None = ColumnField(foreign_key="itr_parents.id", on_delete=OnDelete.SET_NULL)


class ItrProduct(TimestampedModel):
    __tablename__ = "itr_products"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    sku: str = ColumnField(length=64, unique=True, index=True)
    name: str = ColumnField(length=150)
    price_cents: int = ColumnField()


class ItrProductRepo(Protocol):
    async def get_by_sku(self, sku: str) -> ItrProduct | None: ...


def user_data(n: int, **overrides: Any) -> dict[str, Any]:
    """A valid create payload for user ``n`` (camelCase keys, as a client sends them)."""
    data: dict[str, Any] = {"fullName": f"user {n:03d}", "email": f"u{n:03d}@example.com"}
    data.update(overrides)
    return data
