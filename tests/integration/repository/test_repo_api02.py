"""The 0.2 repository API on SQLite, PostgreSQL and the in-memory repository:
``get_by``, ``list_paginated``, ``exists``, ``exists_by``, ``count``, positional query
structs, dotted relation paths and ``exists``/``not_exists`` filters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.conftest import SQL_BACKENDS

from loom.core.errors import ValidationError
from loom.core.model import BaseModel, Cardinality, ColumnField, OnDelete, RelationField
from loom.core.repository import (
    FilterGroup,
    FilterOp,
    FilterParams,
    FilterSpec,
    PageParams,
    PageResult,
    QuerySpec,
    SortSpec,
)
from loom.core.repository.sqlalchemy import RepositorySQLAlchemy
from loom.testing import InMemoryRepository


class A2Category(BaseModel):
    __tablename__ = "a2r_categories"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=40)
    parent_id: int | None = ColumnField(
        foreign_key="a2r_categories.id", on_delete=OnDelete.SET_NULL, default=None
    )
    parent: A2Category | None = RelationField(
        foreign_key="parent_id", cardinality=Cardinality.MANY_TO_ONE, profiles=("with_details",)
    )


class A2Product(BaseModel):
    __tablename__ = "a2r_products"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    sku: str = ColumnField(length=20, unique=True)
    stock: int = ColumnField(default=0)
    category_id: int | None = ColumnField(
        foreign_key="a2r_categories.id", on_delete=OnDelete.SET_NULL, default=None
    )
    category: A2Category | None = RelationField(
        foreign_key="category_id", cardinality=Cardinality.MANY_TO_ONE, profiles=("with_details",)
    )
    reviews: list[A2Review] = RelationField(
        foreign_key="product_id", cardinality=Cardinality.ONE_TO_MANY, profiles=("with_details",)
    )
    tags: list[A2Tag] = RelationField(
        foreign_key="product_id",
        cardinality=Cardinality.MANY_TO_MANY,
        secondary="a2r_product_tags",
        profiles=("with_details",),
    )


class A2Review(BaseModel):
    __tablename__ = "a2r_reviews"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    product_id: int = ColumnField(foreign_key="a2r_products.id", on_delete=OnDelete.CASCADE)
    stars: int = ColumnField()


class A2Tag(BaseModel):
    __tablename__ = "a2r_tags"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=20)


class A2ProductTag(BaseModel):
    __tablename__ = "a2r_product_tags"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    product_id: int = ColumnField(foreign_key="a2r_products.id", on_delete=OnDelete.CASCADE)
    tag_id: int = ColumnField(foreign_key="a2r_tags.id", on_delete=OnDelete.CASCADE)


class Repos:
    def __init__(self, kind: str, make: Any) -> None:
        self.kind = kind
        self.categories = make(A2Category)
        self.products = make(A2Product)
        self.reviews = make(A2Review)
        self.tags = make(A2Tag)
        self.product_tags = make(A2ProductTag)


@pytest.fixture(params=[*SQL_BACKENDS, pytest.param("memory", id="memory")])
async def repos(
    request: pytest.FixtureRequest, db_url_factory: Any, database_factory: Any
) -> AsyncIterator[Repos]:
    if request.param == "memory":
        memory: dict[type, InMemoryRepository[Any]] = {}

        def make(model: type) -> InMemoryRepository[Any]:
            memory[model] = InMemoryRepository(model, related=memory.__getitem__)
            return memory[model]

        yield Repos("memory", make)
        return
    async with database_factory(db_url_factory(request.param)) as db:
        yield Repos(request.param, lambda model: RepositorySQLAlchemy(db, model))


async def _catalogue(r: Repos) -> dict[str, Any]:
    """tools > hand tools; p1 (tools, reviews 5 and 2), p2 (hand tools, review 4), p3 (none)."""
    tools = await r.categories.create({"name": "tools"})
    hand = await r.categories.create({"name": "hand tools", "parentId": tools.id})
    p1 = await r.products.create({"sku": "p1", "stock": 3, "categoryId": tools.id})
    p2 = await r.products.create({"sku": "p2", "stock": 0, "categoryId": hand.id})
    p3 = await r.products.create({"sku": "p3", "stock": 7})
    for product, stars in ((p1, 5), (p1, 2), (p2, 4)):
        await r.reviews.create({"productId": product.id, "stars": stars})
    sale = await r.tags.create({"name": "sale"})
    new = await r.tags.create({"name": "new"})
    for product, tag in ((p1, sale), (p3, sale), (p3, new)):
        await r.product_tags.create({"productId": product.id, "tagId": tag.id})
    return {"tools": tools, "hand": hand, "p1": p1, "p2": p2, "p3": p3}


async def _skus(r: Repos, *filters: Any, op: str = "AND") -> list[str]:
    page = await r.products.list_with_query(QuerySpec(FilterGroup(filters, op)))
    return [p.sku for p in page.items]


async def test_get_by_exists_and_count(repos: Repos) -> None:
    c = await _catalogue(repos)
    assert (await repos.products.get_by("sku", "p2")).id == c["p2"].id
    assert await repos.products.get_by("sku", "nope") is None
    # The first row in primary-key order when several match.
    assert (await repos.products.get_by("categoryId", None)).sku == "p3"
    assert (await repos.reviews.get_by("product_id", c["p1"].id)).stars == 5
    assert await repos.products.exists(c["p1"].id)
    assert not await repos.products.exists(10_000)
    assert not await repos.products.exists("not-an-id")
    assert await repos.products.exists_by("sku", "p3")
    assert not await repos.products.exists_by("sku", "p4")
    assert await repos.products.count() == 3
    with pytest.raises(ValidationError):
        await repos.products.get_by("colour", "red")


async def test_get_by_through_a_relation_path(repos: Repos) -> None:
    await _catalogue(repos)
    assert (await repos.products.get_by("category.name", "hand tools")).sku == "p2"
    assert await repos.products.exists_by("category.parent.name", "tools")
    assert not await repos.products.exists_by("category.parent.name", "garden")


async def test_list_paginated_orders_by_id_and_filters_by_equality(repos: Repos) -> None:
    for n in range(7):
        await repos.products.create({"sku": f"s{n}", "stock": n % 2})
    page = await repos.products.list_paginated(PageParams(page=2, limit=3))
    assert [p.sku for p in page.items] == ["s3", "s4", "s5"]
    assert (page.total_count, page.page, page.limit, page.has_next) == (7, 2, 3, True)
    last = await repos.products.list_paginated(PageParams(page=3, limit=3))
    assert [p.sku for p in last.items] == ["s6"] and not last.has_next
    odd = await repos.products.list_paginated(PageParams(), FilterParams(filters={"stock": 1}))
    assert [p.sku for p in odd.items] == ["s1", "s3", "s5"] and odd.total_count == 3
    everything = await repos.products.list_paginated(PageParams())
    assert len(everything.items) == 7
    if repos.kind != "memory":
        assert isinstance(page, PageResult)


async def test_positional_structs_and_op_groups(repos: Repos) -> None:
    await _catalogue(repos)
    assert await _skus(repos, FilterSpec("stock", FilterOp.GT, 0)) == ["p1", "p3"]
    either = (FilterSpec("sku", FilterOp.EQ, "p1"), FilterSpec("stock", FilterOp.EQ, 0))
    assert await _skus(repos, *either, op="OR") == ["p1", "p2"]
    query = QuerySpec(None, (SortSpec("stock", "DESC"),), limit=2)
    page = await repos.products.list_with_query(query)
    assert [p.sku for p in page.items] == ["p3", "p1"]


async def test_dotted_paths_filter_through_relations(repos: Repos) -> None:
    await _catalogue(repos)
    assert await _skus(repos, FilterSpec("category.name", FilterOp.EQ, "tools")) == ["p1"]
    assert await _skus(repos, FilterSpec("category.name", FilterOp.LIKE, "%tools")) == ["p1", "p2"]
    # Two steps, back through the same table (an alias per step).
    assert await _skus(repos, FilterSpec("category.parent.name", FilterOp.EQ, "tools")) == ["p2"]
    # One-to-many: some review matches.
    assert await _skus(repos, FilterSpec("reviews.stars", FilterOp.GTE, 4)) == ["p1", "p2"]
    assert await _skus(repos, FilterSpec("reviews.stars", FilterOp.LT, 3)) == ["p1"]
    # camelCase field names work along the path.
    combined = (
        FilterSpec("reviews.stars", FilterOp.EQ, 4),
        FilterSpec("category.parentId", FilterOp.IS_NULL, False),
    )
    assert await _skus(repos, *combined) == ["p2"]
    assert (
        await repos.products.count(FilterGroup((FilterSpec("category.name", "eq", "tools"),))) == 1
    )


async def test_many_to_many_paths(repos: Repos) -> None:
    await _catalogue(repos)
    assert await _skus(repos, FilterSpec("tags.name", FilterOp.EQ, "sale")) == ["p1", "p3"]
    assert await _skus(repos, FilterSpec("tags.name", FilterOp.EQ, "new")) == ["p3"]
    assert await _skus(repos, FilterSpec("tags", FilterOp.NOT_EXISTS)) == ["p2"]


async def test_exists_and_not_exists(repos: Repos) -> None:
    await _catalogue(repos)
    assert await _skus(repos, FilterSpec("reviews", FilterOp.EXISTS)) == ["p1", "p2"]
    assert await _skus(repos, FilterSpec("reviews", FilterOp.NOT_EXISTS)) == ["p3"]
    assert await _skus(repos, FilterSpec("category", FilterOp.EXISTS, False)) == ["p3"]
    # A sub-filter on the related rows: a FilterSpec, a FilterGroup or a mapping.
    five = FilterSpec("stars", FilterOp.EQ, 5)
    assert await _skus(repos, FilterSpec("reviews", FilterOp.EXISTS, five)) == ["p1"]
    assert await _skus(repos, FilterSpec("reviews", FilterOp.NOT_EXISTS, five)) == ["p2", "p3"]
    low = FilterGroup((FilterSpec("stars", FilterOp.LT, 3),))
    assert await _skus(repos, FilterSpec("reviews", FilterOp.EXISTS, low)) == ["p1"]
    assert await _skus(repos, FilterSpec("reviews", FilterOp.EXISTS, {"stars": 4})) == ["p2"]
    # On a column: NOT NULL / NULL.
    assert await _skus(repos, FilterSpec("categoryId", FilterOp.EXISTS)) == ["p1", "p2"]
    assert await _skus(repos, FilterSpec("categoryId", FilterOp.NOT_EXISTS)) == ["p3"]


async def test_relation_filter_mistakes_are_422s(repos: Repos) -> None:
    await _catalogue(repos)
    with pytest.raises(ValidationError, match="colour"):
        await _skus(repos, FilterSpec("category.colour", FilterOp.EQ, "red"))
    with pytest.raises(ValidationError, match="is a relation"):
        await _skus(repos, FilterSpec("category", FilterOp.EQ, 1))
    with pytest.raises(ValidationError):
        await _skus(repos, FilterSpec("reviews.stars", FilterOp.EQ, "many"))


async def test_keyword_spellings_of_both_apis(repos: Repos) -> None:
    c = await _catalogue(repos)
    p1 = c["p1"].id
    assert (await repos.products.get_by_id(obj_id=p1)).sku == "p1"
    assert (await repos.products.get_by_id(id=p1)).sku == "p1"
    assert (await repos.products.update(obj_id=p1, data={"stock": 9})).stock == 9
    assert (await repos.products.update(id=p1, patch={"stock": 8})).stock == 8
    assert await repos.products.delete(obj_id=c["p3"].id)
    assert not await repos.products.delete(id=c["p3"].id)


async def test_orm_classes_carry_the_relations(repos: Repos) -> None:
    if repos.kind == "memory":
        pytest.skip("ORM classes are SQL only")
    import sqlalchemy as sa
    from sqlalchemy.orm import selectinload

    from loom.core.backend.sqlalchemy import compile_all, get_compiled
    from loom.core.repository.sqlalchemy import SessionManager

    compile_all(A2Product)
    await _catalogue(repos)
    product, category = get_compiled(A2Product), get_compiled(A2Category)
    manager = SessionManager.for_database(repos.products.database)
    async with manager.session() as session:
        stmt = (
            sa.select(product)
            .options(
                selectinload(product.reviews),  # type: ignore[attr-defined]
                selectinload(product.tags),  # type: ignore[attr-defined]
                selectinload(product.category).selectinload(category.parent),  # type: ignore[attr-defined]
            )
            .order_by(product.id)  # type: ignore[attr-defined]
        )
        rows = (await session.execute(stmt)).scalars().all()
        summary = [
            (
                p.sku,
                sorted(r.stars for r in p.reviews),
                p.category.name if p.category else None,
                p.category.parent.name if p.category and p.category.parent else None,
                sorted(t.name for t in p.tags),
            )
            for p in rows
        ]
    assert summary == [
        ("p1", [2, 5], "tools", None, ["sale"]),
        ("p2", [4], "hand tools", "tools", []),
        ("p3", [], None, None, ["new", "sale"]),
    ]


async def test_lookups_reuse_one_statement_per_shape(repos: Repos) -> None:
    if repos.kind == "memory":
        pytest.skip("statements are SQL only")
    await _catalogue(repos)
    shapes = repos.products._plan.shapes
    await repos.products.exists_by("sku", "p1")
    await repos.products.get_by("sku", "p1")
    await repos.products.exists(1)
    kinds = {key[0] for key in shapes._cache}
    assert {"exists", "exists_pk", "page"} <= kinds  # built once, kept
    built = len(shapes._cache)
    for n in range(5):
        assert await repos.products.exists_by("sku", f"p{n}") is (1 <= n <= 3)
        await repos.products.get_by("sku", f"p{n}")
        await repos.products.exists(n)
    assert len(shapes._cache) == built
