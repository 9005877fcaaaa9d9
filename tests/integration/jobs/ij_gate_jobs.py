"""A job that blocks until a file exists: lets a test kill a worker mid-job."""

from __future__ import annotations

import asyncio
import os
import time

from loom.core.job.job import Job
from loom.core.repository.abc import RepoFor

from app.product.model import Product


class GatedSyncJob(Job[bool]):
    """Waits (up to 60s) for ``gate`` to exist, then tags the product ``-gated``."""

    __queue__ = "erp"

    def __init__(self, products: RepoFor[Product]) -> None:
        self._products = products

    async def execute(self, product_id: int, gate: str) -> bool:
        deadline = time.monotonic() + 60
        while not os.path.exists(gate):
            if time.monotonic() > deadline:
                raise TimeoutError(f"gate {gate} never opened")
            await asyncio.sleep(0.05)
        product = await self._products.get_by_id(product_id)
        await self._products.update(product_id, {"category": f"{product.category}-gated"})
        return True
