from loom.rest.autocrud import build_auto_routes
from loom.rest.model import PaginationMode, RestInterface, RestRoute

from app.product.model import Product, ProductTag, Tag
from app.product.use_cases import (
    CreateProductUseCase,
    DispatchRestockEmailUseCase,
    ListLowStockProductsUseCase,
    RestockWorkflowUseCase,
    UpdateProductUseCase,
)


class ProductRestInterface(RestInterface[Product]):
    prefix = "/products"
    tags = ("Products",)
    pagination_mode = PaginationMode.CURSOR
    allowed_profiles = ("default", "with_tags")
    expose_profile = True
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
            use_case=RestockWorkflowUseCase,
            method="POST",
            path="/{product_id}/workflows/restock",
            summary="Run restock workflow",
            status_code=202,
        ),
        RestRoute(use_case=CreateProductUseCase, method="POST", path="/", status_code=201),
        RestRoute(use_case=UpdateProductUseCase, method="PATCH", path="/{product_id}"),
        *build_auto_routes(Product, ("get", "list", "delete")),
    )


class TagRestInterface(RestInterface[Tag]):
    prefix = "/tags"
    tags = ("Tags",)
    auto = True


class ProductTagRestInterface(RestInterface[ProductTag]):
    prefix = "/product-tags"
    tags = ("Tags",)
    auto = True
    include = ("create", "delete")
