"""A small application for the job tests: products, jobs, callbacks, use cases."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from loom.bootstrap import build_runtime
from loom.core.command import Command
from loom.core.errors import RuleViolation
from loom.core.job.job import Job
from loom.core.job.service import JobService
from loom.core.model import BaseModel, ColumnField
from loom.core.observability.context import current_trace_id
from loom.core.repository.abc import RepoFor
from loom.core.runtime import Components, Runtime
from loom.core.use_case import Input, LoadById
from loom.core.use_case.invoker import ApplicationInvoker
from loom.core.use_case.use_case import UseCase


class UjProduct(BaseModel):
    __tablename__ = "ujob_products"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=80)
    category: str = ColumnField(length=120)
    stock: int = ColumnField(default=0)


class TagCommand(Command, frozen=True):
    tag: str
    fail_times: int = 0


#: Attempts seen per product id, so a job can fail its first N attempts.
ATTEMPTS: Counter[int] = Counter()
#: What the sync callbacks and the trace-aware job saw, in call order.
SEEN: list[tuple[Any, ...]] = []


class TagProductJob(Job[str]):
    """Appends ``-<tag>`` to the category; fails its first ``fail_times`` attempts
    *after* writing, so a failed attempt's write must be rolled back."""

    __queue__ = "tagging"

    def __init__(self, products: RepoFor[UjProduct]) -> None:
        self._products = products

    async def execute(
        self,
        product_id: int,
        cmd: TagCommand = Input(),
        product: UjProduct = LoadById(UjProduct, by="product_id"),
    ) -> str:
        ATTEMPTS[product_id] += 1
        category = f"{product.category}-{cmd.tag}"
        await self._products.update(product_id, {"category": category})
        if ATTEMPTS[product_id] <= cmd.fail_times:
            raise RuntimeError(f"attempt {ATTEMPTS[product_id]} failed")
        return category


class TraceJob(Job[str | None]):
    async def execute(self) -> str | None:
        SEEN.append(("job-trace", current_trace_id()))
        return current_trace_id()


class SummaryJob(Job[str]):
    async def execute(
        self, product_id: int, product: UjProduct = LoadById(UjProduct, by="product_id")
    ) -> str:
        return f"{product.name}: {product.stock}"


class RecordingCallback:
    """Sync callback: records its arguments."""

    def on_success(self, job_id: str, result: Any, **context: Any) -> None:
        SEEN.append(("success", job_id, result, context, current_trace_id()))

    def on_failure(self, job_id: str, exc_type: str, exc_msg: str, **context: Any) -> None:
        SEEN.append(("failure", job_id, exc_type, exc_msg, context, current_trace_id()))


class MarkProductCallback:
    """Async callback built by DI: tags the product through the invoker."""

    def __init__(self, app: ApplicationInvoker) -> None:
        self._app = app

    async def _mark(self, product_id: int, suffix: str) -> None:
        entity = self._app.entity(UjProduct)
        product = await entity.get(params={"id": product_id})
        await entity.update(
            params={"id": product_id}, payload={"category": f"{product.category}-{suffix}"}
        )

    async def on_success(self, job_id: str, result: Any, **context: Any) -> None:
        await self._mark(context["product_id"], "notified")

    async def on_failure(self, job_id: str, exc_type: str, exc_msg: str, **context: Any) -> None:
        await self._mark(context["product_id"], "failed")


class BrokenCallback:
    async def on_success(self, job_id: str, result: Any, **context: Any) -> None:
        raise RuntimeError("callback exploded")


class DispatchCommand(Command, frozen=True):
    tag: str
    fail_times: int = 0
    explode: bool = False


class DispatchTagUseCase(UseCase[UjProduct, str]):
    """Renames the product and dispatches a tag job in the same transaction."""

    def __init__(self, jobs: JobService) -> None:
        self._jobs = jobs

    async def execute(self, product_id: int, cmd: DispatchCommand = Input()) -> str:
        await self.main_repo.update(product_id, {"name": "renamed"})
        handle = self._jobs.dispatch(
            TagProductJob,
            params={"product_id": product_id},
            payload={"tag": cmd.tag, "fail_times": cmd.fail_times},
            on_success=MarkProductCallback,
            on_failure=MarkProductCallback,
        )
        if cmd.explode:
            raise RuleViolation("explode after dispatch")
        return handle.job_id


COMPONENTS = dict(
    models=[UjProduct],
    use_cases=[DispatchTagUseCase],
    jobs=[TagProductJob, TraceJob, SummaryJob],
    callbacks=[RecordingCallback, MarkProductCallback, BrokenCallback],
)


def job_config(db_url: str, **extra: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "app": {"name": "jobtests"},
        "database": {"url": db_url},
        "jobs": {"retry_backoff": 0.01, "TagProductJob": {"retries": 2}},
    }
    for key, value in extra.items():
        cfg[key] = {**cfg.get(key, {}), **value}
    return cfg


@asynccontextmanager
async def started_runtime(db_url: str, **extra: Any) -> AsyncIterator[Runtime]:
    """A runtime on ``db_url`` with the in-process backend started, shut down after."""
    runtime = build_runtime(job_config(db_url, **extra), components=Components(**COMPONENTS))
    await runtime.startup()
    try:
        yield runtime
    finally:
        await runtime.shutdown()


async def add_product(runtime: Runtime, **values: Any) -> int:
    data = {"name": "lamp", "category": "home", "stock": 0, **values}
    async with runtime.unit_of_work():
        product = await runtime.repo_for(UjProduct).create(data)
    return int(product.id)


async def product(runtime: Runtime, product_id: int) -> UjProduct:
    async with runtime.unit_of_work():
        found = await runtime.repo_for(UjProduct).get_by_id(product_id)
    assert found is not None
    return found
