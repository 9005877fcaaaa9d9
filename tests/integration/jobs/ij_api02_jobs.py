"""0.2-style jobs and a callback the store's manifest does not list: the worker gets
them through ``create_app(jobs=, callbacks=)``."""

from __future__ import annotations

from typing import Any

from loom.core.command import Command
from loom.core.job import Job
from loom.core.repository.abc import RepoFor
from loom.core.use_case import Input

from app.product.model import Product


class AddCommand(Command, frozen=True):
    product_id: int
    n: int


class AddStockJob(Job[int]):
    """Adds ``n`` to the product's stock; ``n < 0`` fails (for the failure path)."""

    def __init__(self, products: RepoFor[Product]) -> None:
        self._products = products

    async def execute(self, cmd: AddCommand = Input()) -> int:
        if cmd.n < 0:
            raise ValueError(f"negative amount {cmd.n}")
        product = await self._products.get_by_id(cmd.product_id)
        stock = int(product.stock) + cmd.n
        await self._products.update(cmd.product_id, {"stock": stock})
        return cmd.n * 10


class ContextCallback:
    """Writes what it received into the product's category, where the test reads it."""

    def __init__(self, products: RepoFor[Product]) -> None:
        self._products = products

    async def _write(self, context: dict[str, Any], text: str) -> None:
        keys = ",".join(context)
        await self._products.update(context["product_id"], {"category": f"{text}|{keys}"})

    async def on_success(self, job_id: str, result: Any, **context: Any) -> None:
        await self._write(context, f"ok:{result}:{context['n']}:{context['actor']}")

    def on_failure(self, job_id: str, exc_type: str, exc_msg: str, **context: Any) -> Any:
        return self._write(context, f"failed:{exc_type}:{exc_msg}")


class EchoCommand(Command, frozen=True):
    product_id: int


class EchoJob(Job[int]):
    async def execute(self, cmd: EchoCommand = Input()) -> int:
        return cmd.product_id


class GroupCallback:
    """A group's callback: tags every product whose id a member returned."""

    def __init__(self, products: RepoFor[Product]) -> None:
        self._products = products

    async def on_success(self, group_id: str, results: list[int], **context: Any) -> None:
        for product_id in set(results):
            await self._products.update(
                product_id, {"category": f"grouped:{len(context['job_ids'])}"}
            )
