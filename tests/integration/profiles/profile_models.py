"""Models for the read-profile tests (tables prefixed ``prf_``), shared with the cache tests."""

from __future__ import annotations

from typing import Any

from loom.core.model import (
    BaseModel,
    Cardinality,
    ColumnField,
    OnDelete,
    ProjectionField,
    RelationField,
)
from loom.core.projection.loaders import CountLoader, ExistsLoader, JoinFieldsLoader
from loom.core.response import Response


class PrfUser(BaseModel):
    __tablename__ = "prf_users"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    full_name: str = ColumnField(length=60)


class PrfAddress(BaseModel):
    __tablename__ = "prf_addresses"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    user_id: int = ColumnField(foreign_key="prf_users.id", on_delete=OnDelete.CASCADE)
    city: str = ColumnField(length=60)


class PrfLine(Response):
    """A joined-fields element type (a struct, camelCase on the wire)."""

    sku: str
    unit_count: int


class PrfOrder(BaseModel):
    __tablename__ = "prf_orders"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    user_id: int = ColumnField(foreign_key="prf_users.id", on_delete=OnDelete.CASCADE)
    address_id: int | None = ColumnField(
        foreign_key="prf_addresses.id", on_delete=OnDelete.SET_NULL
    )
    note: str = ColumnField(length=60, default="")

    user: PrfUser | None = RelationField(
        foreign_key="user_id", cardinality=Cardinality.MANY_TO_ONE, profiles=("with_details",)
    )
    address: PrfAddress | None = RelationField(
        foreign_key="address_id", cardinality=Cardinality.MANY_TO_ONE, profiles=("with_details",)
    )
    items: list[PrfItem] = RelationField(
        foreign_key="order_id", cardinality=Cardinality.ONE_TO_MANY, profiles=("with_details",)
    )
    invoice: PrfInvoice | None = RelationField(
        foreign_key="order_id", cardinality=Cardinality.ONE_TO_ONE, profiles=("with_details",)
    )
    items_count: int = ProjectionField(
        loader=CountLoader(model="PrfItem", via="order_id"), profiles=("with_details", "summary")
    )
    has_items: bool = ProjectionField(
        loader=ExistsLoader(model="prf_items", via="order_id"), profiles=("with_details",)
    )
    skus: list[str] = ProjectionField(
        loader=JoinFieldsLoader(model="PrfItem", value_columns="sku", via="order_id"),
        profiles=("with_details",),
    )
    item_rows: list[dict[str, Any]] = ProjectionField(
        loader=JoinFieldsLoader(
            model="PrfItem", value_columns=("sku", "unit_count"), via="order_id"
        ),
        profiles=("with_details",),
    )
    lines: list[PrfLine] = ProjectionField(
        loader=JoinFieldsLoader(
            model="PrfItem", value_columns=("sku", "unit_count"), via="order_id"
        ),
        profiles=("with_details",),
    )
    first_sku: str | None = ProjectionField(
        loader=JoinFieldsLoader(model="PrfItem", value_columns="sku", via="order_id"),
        profiles=("with_details",),
        default=None,
    )


class PrfItem(BaseModel):
    __tablename__ = "prf_items"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    order_id: int = ColumnField(foreign_key="prf_orders.id", on_delete=OnDelete.CASCADE)
    sku: str = ColumnField(length=30)
    unit_count: int = ColumnField(default=1)


class PrfInvoice(BaseModel):
    """ONE_TO_ONE both ways: reverse from the order, forward (own column) from here."""

    __tablename__ = "prf_invoices"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    order_id: int = ColumnField(
        foreign_key="prf_orders.id", on_delete=OnDelete.CASCADE, unique=True
    )
    number: str = ColumnField(length=30)

    order: PrfOrder | None = RelationField(
        foreign_key="order_id", cardinality=Cardinality.ONE_TO_ONE, profiles=("with_order",)
    )


ALL_MODELS = (PrfUser, PrfAddress, PrfOrder, PrfItem, PrfInvoice)
