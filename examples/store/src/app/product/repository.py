from typing import Any, Protocol

import msgspec

from loom.core.repository.abc import RepoFor
from loom.core.repository.sqlalchemy import RepositorySQLAlchemy, repository_for

from app.product.model import Product


class ProductRepo(RepoFor[Product], Protocol):
    async def get_by_slug(self, slug: str) -> Product | None: ...


@repository_for(Product, contract=ProductRepo)
class ProductRepository(RepositorySQLAlchemy[Product, int]):
    async def create(self, data: msgspec.Struct | Any) -> Product:
        payload = msgspec.to_builtins(data)
        payload["name"] = str(payload["name"]).strip()
        return await super().create(payload)

    async def get_by_slug(self, slug: str) -> Product | None:
        """Products are addressed by their SKU in URLs shared with customers."""
        page = await self.list_by("sku", [slug.upper()])
        return page[0] if page else None
