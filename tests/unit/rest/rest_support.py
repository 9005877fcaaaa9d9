"""A small REST application (tables prefixed ``rs_``) served through ``create_app``.

The config discovers this very module (``modules`` mode), so the app is what a user
would get from YAML; :func:`open_client` starts it with a ``TestClient``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from loom.core.command import Command, Patch
from loom.core.errors import Conflict, RuleViolation
from loom.core.model import (
    BaseModel,
    Cardinality,
    ColumnField,
    OnDelete,
    RelationField,
    TimestampedModel,
)
from loom.core.repository.abc.query import (
    FilterGroup,
    FilterOp,
    FilterSpec,
    PageResult,
    QuerySpec,
    SortSpec,
)
from loom.core.response import Response
from loom.core.use_case import F, Input, LoadById, Rule
from loom.core.use_case.use_case import UseCase
from loom.rest.autocrud import build_auto_routes
from loom.rest.fastapi.auto import create_app
from loom.rest.model import PaginationMode, RestInterface, RestRoute


class RsCategory(BaseModel):
    __tablename__ = "rs_categories"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=60, unique=True)


class RsProduct(TimestampedModel):
    __tablename__ = "rs_products"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    sku: str = ColumnField(length=32, unique=True)
    name: str = ColumnField(length=80)
    category_id: int | None = ColumnField(
        foreign_key="rs_categories.id", on_delete=OnDelete.SET_NULL, index=True
    )
    price_cents: int = ColumnField()
    rating: float = ColumnField(default=0.0)
    active: bool = ColumnField(default=True)
    note: str | None = ColumnField(length=200)

    category: RsCategory | None = RelationField(
        foreign_key="category_id", cardinality=Cardinality.MANY_TO_ONE, profiles=("with_category",)
    )


class ListCheapProducts(UseCase[RsProduct, PageResult[RsProduct]]):
    """Products under 10.00, cheapest first."""

    async def execute(self) -> PageResult[RsProduct]:
        query = QuerySpec(
            filters=FilterGroup(
                filters=(FilterSpec(field="price_cents", op=FilterOp.LT, value=1000),)
            ),
            sort=(SortSpec(field="price_cents"), SortSpec(field="id")),
            limit=100,
        )
        return await self.main_repo.list_with_query(query)  # type: ignore[no-any-return]


class Restock(Command, frozen=True):
    quantity: int
    reason: Patch[str] = None


class RestockResult(Response):
    product_id: int
    added_units: int
    new_note: str


def _positive(quantity: int) -> str | None:
    return "must be at least 1" if quantity < 1 else None


class RestockProduct(UseCase[RsProduct, RestockResult]):
    rules = (
        Rule.check(F(Restock).quantity, via=_positive),
        Rule.check(
            F(Restock).reason, via=lambda r: not (r or "").strip(), message="is blank"
        ).when_present(F(Restock).reason),
    )

    async def execute(
        self,
        id: int,
        cmd: Restock = Input(),
        product: RsProduct = LoadById(RsProduct, by="id"),
    ) -> RestockResult:
        note = f"restocked {cmd.quantity}" + (f": {cmd.reason}" if cmd.reason else "")
        await self.main_repo.update(id, {"note": note})
        return RestockResult(product_id=product.id, added_units=cmd.quantity, new_note=note)


class Boom(UseCase[RsProduct, bool]):
    async def execute(self, id: int) -> bool:
        raise RuntimeError("SELECT secret FROM passwords -- driver detail")


class Refuse(UseCase[RsProduct, bool]):
    async def execute(self, id: int) -> bool:
        if id == 1:
            raise Conflict("that product is locked", fields=["sku"])
        raise RuleViolation("not today", field="id")


class RsProductInterface(RestInterface[RsProduct]):
    prefix = "/products"
    tags = ("Products",)
    expose_profile = True
    # The parameter routes come first on purpose: /cheap must still win over /{id}.
    routes = (
        *build_auto_routes(RsProduct, ()),
        RestRoute(use_case=ListCheapProducts, method="GET", path="/cheap", summary="Cheap ones"),
        RestRoute(
            use_case=RestockProduct,
            method="POST",
            path="/{id}/restock",
            summary="Restock a product",
            status_code=200,
        ),
        RestRoute(use_case=Boom, method="POST", path="/{id}/boom"),
        RestRoute(use_case=Refuse, method="POST", path="/{id}/refuse"),
    )


class RsCategoryInterface(RestInterface[RsCategory]):
    prefix = "/categories"
    tags = ("Categories",)
    auto = True
    include = ("list", "get", "create")
    pagination_mode = PaginationMode.CURSOR


CONFIG = """\
app:
  name: rest-tests
  discovery:
    mode: modules
    modules:
      include: [rest_support]
  rest:
    title: REST tests
    version: 1.2.3
    max_body_size: 4096
database:
  url: {url}
"""


@contextmanager
def open_client(directory: Path, url: str | None = None) -> Iterator[TestClient]:
    """The app on ``url`` (default: a new SQLite file in ``directory``), started."""
    path = directory / "api.yaml"
    db = url or f"sqlite+aiosqlite:///{directory / 'rest.db'}"
    path.write_text(CONFIG.format(url=db))
    app = create_app(path)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


PRODUCTS: list[dict[str, Any]] = [
    {"sku": "A-1", "name": "Apple", "priceCents": 120, "rating": 4.5, "note": "fresh"},
    {"sku": "B-2", "name": "banana", "priceCents": 80, "rating": 3.0, "active": False},
    {"sku": "C-3", "name": "Cherry", "priceCents": 1500, "rating": 4.9, "note": "seasonal"},
    {"sku": "D-4", "name": "date", "priceCents": 990, "rating": 2.5},
    {"sku": "E-5", "name": "Elderberry", "priceCents": 2500, "rating": 4.0, "note": "rare"},
    {"sku": "F-6", "name": "Fig", "priceCents": 990, "rating": 3.5},
    {"sku": "G-7", "name": "Grape", "priceCents": 300, "rating": 4.1},
]


def seed(client: TestClient) -> dict[str, Any]:
    """Two categories and the products above (Apple and Cherry in "fruit")."""
    fruit = client.post("/categories", json={"name": "fruit"}).json()
    client.post("/categories", json={"name": "berries"})
    ids: dict[str, int] = {}
    for data in PRODUCTS:
        body = dict(data)
        if body["sku"] in ("A-1", "C-3"):
            body["categoryId"] = fruit["id"]
        response = client.post("/products", json=body)
        assert response.status_code == 201, response.text
        ids[body["sku"]] = response.json()["id"]
    return {"fruit": fruit["id"], "ids": ids}
