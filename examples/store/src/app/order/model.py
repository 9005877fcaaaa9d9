from __future__ import annotations

from loom.core.model import (
    BaseModel,
    Cardinality,
    ColumnField,
    OnDelete,
    ProjectionField,
    RelationField,
    TimestampedModel,
)
from loom.core.projection.loaders import CountLoader

from app.address.model import Address
from app.user.model import User


class Order(TimestampedModel):
    __tablename__ = "orders"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    user_id: int = ColumnField(foreign_key="users.id", on_delete=OnDelete.CASCADE, index=True)
    address_id: int = ColumnField(
        foreign_key="addresses.id", on_delete=OnDelete.RESTRICT, index=True
    )
    status: str = ColumnField(length=20, default="pending")
    notes: str | None = ColumnField(length=500)

    # Loaded only for ?profile=with_details (one batched query each per page), and
    # absent from the JSON otherwise.
    user: User | None = RelationField(
        foreign_key="user_id", cardinality=Cardinality.MANY_TO_ONE, profiles=("with_details",)
    )
    address: Address | None = RelationField(
        foreign_key="address_id", cardinality=Cardinality.MANY_TO_ONE, profiles=("with_details",)
    )
    items: list[OrderItem] = RelationField(
        foreign_key="order_id", cardinality=Cardinality.ONE_TO_MANY, profiles=("with_details",)
    )
    items_count: int = ProjectionField(
        loader=CountLoader(model="OrderItem", via="order_id"), profiles=("with_details",)
    )


class OrderItem(BaseModel):
    __tablename__ = "order_items"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    order_id: int = ColumnField(foreign_key="orders.id", on_delete=OnDelete.CASCADE, index=True)
    product_id: int = ColumnField(
        foreign_key="products.id", on_delete=OnDelete.RESTRICT, index=True
    )
    quantity: int = ColumnField()
    unit_price_cents: int = ColumnField()
