from loom.rest.autocrud import build_auto_routes
from loom.rest.model import PaginationMode, RestInterface, RestRoute

from app.product.model import Product
from app.product.use_cases import (
    BuildProductSummaryUseCase,
    DispatchRestockEmailUseCase,
    ListLowStockProductsUseCase,
    RestockWorkflowUseCase,
    SyncErpUseCase,
)


class ProductRestInterface(RestInterface[Product]):
    prefix = "/products"
    tags = ("Products",)
    pagination_mode = PaginationMode.CURSOR
    expose_profile = True  # ?profile=with_sales on GET /products and /products/{id}
    routes = (
        RestRoute(
            use_case=ListLowStockProductsUseCase,
            method="GET",
            path="/low-stock",
            summary="List low stock products",
        ),
        RestRoute(
            use_case=DispatchRestockEmailUseCase,
            method="POST",
            path="/{product_id}/jobs/restock-email",
            summary="Dispatch restock email job",
            status_code=202,
        ),
        RestRoute(
            use_case=BuildProductSummaryUseCase,
            method="GET",
            path="/{product_id}/jobs/summary",
            summary="Build the product summary (job run inline)",
        ),
        RestRoute(
            use_case=RestockWorkflowUseCase,
            method="POST",
            path="/{product_id}/workflows/restock",
            summary="Run restock workflow",
            status_code=202,
        ),
        RestRoute(
            use_case=SyncErpUseCase,
            method="POST",
            path="/jobs/sync-erp",
            summary="Queue an ERP sync for a batch of products",
            status_code=202,
        ),
        *build_auto_routes(Product, ()),  # GET, GET/:id, POST, PATCH/:id, DELETE/:id
    )
