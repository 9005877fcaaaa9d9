"""Models for the read-profile tests (tables prefixed ``prf_``), shared with the cache tests."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from loom.core.model import (
    BaseModel,
    Cardinality,
    ColumnField,
    OnDelete,
    ProjectionField,
    RelationField,
)
from loom.core.projection.loaders import CountLoader, ExistsLoader, JoinFieldsLoader
from loom.core.repository.sqlalchemy import table_for
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


# -- 0.2-style declarations: relations by referenced column, many-to-many, loaders over
# relations, and the default profile loading what is declared for it.


class LegacyPostTotal:
    """A custom loader written for 0.2: no ProjectionLoader base, ``load_many`` with a
    SQLAlchemy session."""

    async def load_many(self, session: Any, ids: list[int]) -> dict[int, int]:
        posts = table_for(PrfPost)
        stmt = (
            sa.select(posts.c.author_id, sa.func.count())
            .where(posts.c.author_id.in_(ids))
            .group_by(posts.c.author_id)
        )
        return {author: count for author, count in (await session.execute(stmt)).all()}


class PrfAuthor(BaseModel):
    __tablename__ = "prf_authors"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=60)

    posts: list[PrfPost] = RelationField(
        foreign_key="prf_posts.author_id",
        cardinality=Cardinality.ONE_TO_MANY,
        back_populates="author",
        profiles=("with_posts",),
    )
    # Default profile (no profiles=): loaded by every read; via=None is `posts`.
    post_count: int = ProjectionField(loader=CountLoader("PrfPost"))
    has_posts: bool = ProjectionField(loader=ExistsLoader(model="PrfPost", via="posts"))
    legacy_total: int = ProjectionField(loader=LegacyPostTotal(), profiles=("legacy",), default=0)


class PrfPost(BaseModel):
    __tablename__ = "prf_posts"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    author_id: int = ColumnField(foreign_key="prf_authors.id", on_delete=OnDelete.CASCADE)
    title: str = ColumnField(length=60)

    author: PrfAuthor | None = RelationField(
        foreign_key="prf_authors.id",
        cardinality=Cardinality.MANY_TO_ONE,
        back_populates="posts",
        on_delete=OnDelete.CASCADE,
    )
    tags: list[PrfTag] = RelationField(
        foreign_key="post_id",
        cardinality=Cardinality.MANY_TO_MANY,
        secondary="prf_post_tags",
        profiles=("with_tags",),
    )
    tag_count: int = ProjectionField(
        loader=CountLoader("PrfTag"), profiles=("with_tags", "tag_summary")
    )
    tagged: bool = ProjectionField(
        loader=ExistsLoader("PrfTag", via="tags"), profiles=("tag_summary",)
    )
    tag_names: list[str] = ProjectionField(
        loader=JoinFieldsLoader(model="PrfTag", value_columns="name"), profiles=("tag_summary",)
    )
    # A self-referencing many-to-many: foreign_key says which link column is this side.
    see_also: list[PrfPost] = RelationField(
        foreign_key="prf_post_links.from_id",
        cardinality=Cardinality.MANY_TO_MANY,
        secondary="prf_post_links",
        profiles=("with_links",),
    )
    see_also_count: int = ProjectionField(
        loader=CountLoader("PrfPost", via="see_also"), profiles=("with_links", "link_count")
    )


class PrfTag(BaseModel):
    __tablename__ = "prf_tags"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=30)

    # The reverse side: the association's other key, the target inferred from it.
    posts: list[Any] = RelationField(
        foreign_key="tag_id",
        cardinality=Cardinality.MANY_TO_MANY,
        secondary="prf_post_tags",
        profiles=("with_posts",),
    )


class PrfPostTag(BaseModel):
    __tablename__ = "prf_post_tags"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    post_id: int = ColumnField(foreign_key="prf_posts.id", on_delete=OnDelete.CASCADE)
    tag_id: int = ColumnField(foreign_key="prf_tags.id", on_delete=OnDelete.CASCADE)


class PrfPostLink(BaseModel):
    __tablename__ = "prf_post_links"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    from_id: int = ColumnField(foreign_key="prf_posts.id", on_delete=OnDelete.CASCADE)
    to_id: int = ColumnField(foreign_key="prf_posts.id", on_delete=OnDelete.CASCADE)


BLOG_MODELS = (PrfAuthor, PrfPost, PrfTag, PrfPostTag, PrfPostLink)
