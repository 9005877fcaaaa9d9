from loom.rest.autocrud import build_auto_routes
from loom.rest.model import RestInterface, RestRoute

from app.order.model import Order, OrderItem
from app.order.use_cases import (
    AddOrderItemUseCase,
    CreateOrderUseCase,
    GetOrderTotalUseCase,
    ListOrderItemsUseCase,
    RemoveOrderItemUseCase,
    UpdateOrderUseCase,
)


class OrderRestInterface(RestInterface[Order]):
    prefix = "/orders"
    tags = ("Orders",)
    # GET /orders and GET /orders/{order_id} take ?profile=default|with_details.
    expose_profile = True
    routes = (
        RestRoute(
            use_case=CreateOrderUseCase,
            method="POST",
            path="/",
            summary="Place an order",
            status_code=201,
        ),
        RestRoute(
            use_case=UpdateOrderUseCase,
            method="PATCH",
            path="/{order_id}",
            summary="Update an order",
        ),
        RestRoute(
            use_case=GetOrderTotalUseCase,
            method="GET",
            path="/{order_id}/total",
            summary="Order total",
        ),
        *build_auto_routes(Order, ("get", "list", "delete")),
    )


class OrderItemRestInterface(RestInterface[OrderItem]):
    prefix = "/orders"
    tags = ("OrderItems",)
    routes = (
        RestRoute(
            use_case=AddOrderItemUseCase,
            method="POST",
            path="/{order_id}/items",
            summary="Add an item to an order",
            status_code=201,
        ),
        RestRoute(
            use_case=ListOrderItemsUseCase,
            method="GET",
            path="/{order_id}/items",
            summary="List an order's items",
        ),
        RestRoute(
            use_case=RemoveOrderItemUseCase,
            method="DELETE",
            path="/{order_id}/items/{item_id}",
            summary="Remove an item from an order",
        ),
    )
