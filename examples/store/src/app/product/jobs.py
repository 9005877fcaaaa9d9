from loom.core.job.job import Job
from loom.core.repository.abc import RepoFor
from loom.core.use_case import Input, LoadById

from app.product.commands import SendRestockEmailJobCommand
from app.product.model import Product


class SendRestockEmailJob(Job[bool]):
    __queue__ = "notifications"

    async def execute(
        self,
        product_id: int,
        cmd: SendRestockEmailJobCommand = Input(),
        product: Product = LoadById(Product, by="product_id"),
    ) -> bool:
        if cmd.force_fail:
            raise RuntimeError("forced restock email failure")
        if product.stock > 0:
            return False
        # send email to cmd.recipient_email ...
        return True


class BuildProductSummaryJob(Job[str]):
    __queue__ = "analytics"

    async def execute(
        self,
        product_id: int,
        product: Product = LoadById(Product, by="product_id"),
    ) -> str:
        availability = "in stock" if product.stock > 0 else "out of stock"
        return f"{product.sku} ({product.name}) is {availability}."


class SyncProductToErpJob(Job[bool]):
    """Push one product to the ERP; here the "ERP" is a category tag, so tests can see it."""

    __queue__ = "erp"
    __retries__ = 2

    def __init__(self, products: RepoFor[Product]) -> None:
        self._products = products

    async def execute(
        self,
        product_id: int,
        product: Product = LoadById(Product, by="product_id"),
    ) -> bool:
        if not product.category.endswith("-erp-synced"):
            await self._products.update(product_id, {"category": f"{product.category}-erp-synced"})
        return True
