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
    SyncErpCommand,
    SyncErpResponse,
)
from app.product.jobs import BuildProductSummaryJob, SendRestockEmailJob, SyncProductToErpJob
from app.product.model import Product


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


class CreateProductUseCase(UseCase[Product, Product]):
    async def execute(self, cmd: CreateProduct = Input()) -> Product:
        return await self.main_repo.create(cmd)


class BuildProductSummaryUseCase(UseCase[Product, ProductSummaryResponse]):
    def __init__(self, job_service: JobService) -> None:
        self._jobs = job_service

    async def execute(
        self,
        product_id: int,
        _product: Product = LoadById(Product, by="product_id"),
    ) -> ProductSummaryResponse:
        summary = await self._jobs.run(BuildProductSummaryJob, params={"product_id": product_id})
        return ProductSummaryResponse(summary=summary)


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
        summary_result = await self._app.invoke(
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


def no_ids(product_ids: list[int]) -> str | None:
    return "give at least one product id" if not product_ids else None


class SyncErpUseCase(UseCase[Product, SyncErpResponse]):
    """Queue one ERP sync job per product."""

    rules = (Rule.check(F(SyncErpCommand).product_ids, via=no_ids),)

    def __init__(self, job_service: JobService) -> None:
        self._jobs = job_service

    async def execute(self, cmd: SyncErpCommand = Input()) -> SyncErpResponse:
        handles = [
            self._jobs.dispatch(SyncProductToErpJob, params={"product_id": pid})
            for pid in dict.fromkeys(cmd.product_ids)
        ]
        return SyncErpResponse(job_ids=[h.job_id for h in handles], queue=handles[0].queue)
