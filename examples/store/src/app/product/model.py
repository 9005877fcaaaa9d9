from loom.core.model import ColumnField, ProjectionField, TimestampedModel
from loom.core.projection.loaders import CountLoader, ExistsLoader


class Product(TimestampedModel):
    __tablename__ = "products"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    sku: str = ColumnField(length=64, unique=True, index=True)
    name: str = ColumnField(length=150)
    category: str = ColumnField(length=120, index=True)
    price_cents: int = ColumnField()
    stock: int = ColumnField()

    # ?profile=with_sales: how often the product was ordered (OrderItem is named by
    # string because the order package imports this one).
    order_lines_count: int = ProjectionField(
        loader=CountLoader(model="OrderItem", via="product_id"), profiles=("with_sales",)
    )
    ever_ordered: bool = ProjectionField(
        loader=ExistsLoader(model="OrderItem", via="product_id"), profiles=("with_sales",)
    )
