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


class Tag(BaseModel):
    __tablename__ = "tags"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=60, unique=True)


class ProductTag(BaseModel):
    __tablename__ = "product_tags"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    product_id: int = ColumnField(foreign_key="products.id", on_delete=OnDelete.CASCADE, index=True)
    tag_id: int = ColumnField(foreign_key="tags.id", on_delete=OnDelete.CASCADE, index=True)


class Product(TimestampedModel):
    __tablename__ = "products"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    sku: str = ColumnField(length=64, unique=True, index=True)
    name: str = ColumnField(length=150)
    category: str = ColumnField(length=120, index=True)
    price_cents: int = ColumnField()
    stock: int = ColumnField()
    note: str | None = ColumnField(length=200, nullable=True, default=None)

    tags: list[Tag] = RelationField(
        foreign_key="product_id",
        cardinality=Cardinality.MANY_TO_MANY,
        secondary="product_tags",
        profiles=("with_tags",),
    )
    tag_count: int = ProjectionField(loader=CountLoader(Tag, via="tags"), profiles=("with_tags",))
