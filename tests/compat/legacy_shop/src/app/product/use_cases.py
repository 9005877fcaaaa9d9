from typing import Any

from loom.core.errors import NotFound
from loom.core.job.service import JobService
from loom.core.repository.abc.query import (
    FilterGroup,
    FilterOp,
    FilterSpec,
    PageResult,
    PaginationMode,
    QuerySpec,
    SortSpec,
)
from loom.core.use_case import F, Input, LoadById, Rule
from loom.core.use_case.invoker import ApplicationInvoker
from loom.core.use_case.use_case import UseCase

from app.product.callbacks import RestockEmailFailureCallback, RestockEmailSuccessCallback
from app.product.commands import (
    CreateProduct,
    DispatchRestockEmailCommand,
    DispatchRestockEmailResponse,
    ProductSummaryResponse,
    RestockWorkflowResponse,
    UpdateProduct,
)
from app.product.jobs import SendRestockEmailJob
from app.product.model import Product


def _not_negative(value: int) -> str | None:
    return "must not be negative" if value < 0 else None


def _price_is_positive(price_cents: int) -> bool:
    # A 0.2 rule returning True fails with `message`.
    return price_cents <= 0


class CreateProductUseCase(UseCase[Product, Product]):
    rules = [
        Rule.check(F(CreateProduct).stock, via=_not_negative),
        Rule.check(
            F(CreateProduct).price_cents, via=_price_is_positive, message="must be positive"
        ),
    ]

    async def execute(self, cmd: CreateProduct = Input()) -> Product:
        return await self.main_repo.create(cmd)


class UpdateProductUseCase(UseCase[Product, Product]):
    rules = [
        Rule.check(F(UpdateProduct).stock, via=_not_negative).when_present(F(UpdateProduct).stock),
    ]

    async def execute(self, product_id: int, cmd: UpdateProduct = Input()) -> Product:
        product = await self.main_repo.update(product_id, cmd)
        if product is None:
            raise NotFound("Product", id=product_id)
        return product


class ListLowStockProductsUseCase(UseCase[Product, PageResult[Product]]):
    async def execute(self, profile: str = "default") -> PageResult[Product]:
        query = QuerySpec(
            filters=FilterGroup(filters=(FilterSpec(field="stock", op=FilterOp.LTE, value=5),)),
            sort=(
                SortSpec(field="stock", direction="ASC"),
                SortSpec(field="id", direction="ASC"),
            ),
            pagination=PaginationMode.OFFSET,
            limit=20,
            page=1,
        )
        result = await self.main_repo.list_with_query(query, profile=profile)
        if not isinstance(result, PageResult):
            raise RuntimeError("Expected offset result")
        return result


class BuildProductSummaryUseCase(UseCase[Product, ProductSummaryResponse]):
    async def execute(
        self,
        product_id: int,
        product: Product = LoadById(Product, by="product_id"),
    ) -> ProductSummaryResponse:
        availability = "in stock" if product.stock > 0 else "out of stock"
        return ProductSummaryResponse(summary=f"{product.sku} ({product.name}) is {availability}.")


class DispatchRestockEmailUseCase(UseCase[Product, DispatchRestockEmailResponse]):
    def __init__(self, job_service: JobService) -> None:
        self._jobs = job_service

    async def execute(
        self,
        product_id: str,
        cmd: DispatchRestockEmailCommand = Input(),
    ) -> DispatchRestockEmailResponse:
        handle = self._jobs.dispatch(
            SendRestockEmailJob,
            params={"product_id": int(product_id)},
            payload={
                "product_id": int(product_id),
                "recipient_email": cmd.recipient_email,
                "force_fail": cmd.force_fail,
            },
            on_success=RestockEmailSuccessCallback,
            on_failure=RestockEmailFailureCallback,
        )
        return DispatchRestockEmailResponse(job_id=handle.job_id, queue=handle.queue)


class RestockWorkflowUseCase(UseCase[Product, RestockWorkflowResponse]):
    def __init__(self, app: ApplicationInvoker, job_service: JobService) -> None:
        self._app = app
        self._jobs = job_service

    async def execute(
        self,
        product_id: str,
        cmd: DispatchRestockEmailCommand = Input(),
    ) -> RestockWorkflowResponse:
        summary_result: Any = await self._app.invoke(
            BuildProductSummaryUseCase,
            params={"product_id": int(product_id)},
        )
        handle = self._jobs.dispatch(
            SendRestockEmailJob,
            params={"product_id": int(product_id)},
            payload={"product_id": int(product_id), "recipient_email": cmd.recipient_email},
            on_success=RestockEmailSuccessCallback,
            on_failure=RestockEmailFailureCallback,
        )
        return RestockWorkflowResponse(
            summary=summary_result.summary,
            restock_job_id=handle.job_id,
            queue=handle.queue,
        )
