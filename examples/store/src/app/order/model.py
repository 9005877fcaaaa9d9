from loom.core.model import BaseModel, ColumnField, OnDelete, TimestampedModel


class Order(TimestampedModel):
    __tablename__ = "orders"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    user_id: int = ColumnField(foreign_key="users.id", on_delete=OnDelete.CASCADE, index=True)
    address_id: int = ColumnField(
        foreign_key="addresses.id", on_delete=OnDelete.RESTRICT, index=True
    )
    status: str = ColumnField(length=20, default="pending")
    notes: str | None = ColumnField(length=500)


class OrderItem(BaseModel):
    __tablename__ = "order_items"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    order_id: int = ColumnField(foreign_key="orders.id", on_delete=OnDelete.CASCADE, index=True)
    product_id: int = ColumnField(
        foreign_key="products.id", on_delete=OnDelete.RESTRICT, index=True
    )
    quantity: int = ColumnField()
    unit_price_cents: int = ColumnField()
