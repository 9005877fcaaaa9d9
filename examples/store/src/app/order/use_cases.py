from loom.core.command import Command, Patch
from loom.core.errors import NotFound
from loom.core.repository.abc import RepoFor
from loom.core.repository.abc.query import (
    CursorResult,
    FilterGroup,
    FilterOp,
    FilterSpec,
    PageResult,
    QuerySpec,
)
from loom.core.use_case import Compute, Exists, F, Input, LoadById, OnMissing, Rule
from loom.core.use_case.use_case import UseCase

from app.address.model import Address
from app.order.model import Order, OrderItem
from app.product.model import Product
from app.user.model import User

STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled")


def bad_status(status: str | None) -> str | None:
    if status not in STATUSES:
        return f"must be one of {', '.join(STATUSES)}"
    return None


def normalise_status(status: str | None) -> str | None:
    return status.strip().lower() if isinstance(status, str) else status


class CreateOrder(Command, frozen=True):
    user_id: int
    address_id: int
    status: str = "pending"
    notes: str | None = None


class UpdateOrder(Command, frozen=True):
    status: Patch[str] = None
    notes: Patch[str] = None


class CreateOrderUseCase(UseCase[Order, Order]):
    """Place an order for an existing user, shipped to one of that user's addresses."""

    computes = (
        Compute.set(F(CreateOrder).status).from_command(
            F(CreateOrder).status, via=normalise_status
        ),
    )
    rules = (
        Rule.check(F(CreateOrder).status, via=bad_status),
        Rule.forbid(
            lambda cmd, _sent, address: address is not None and address.user_id != cmd.user_id,
            message="the address belongs to another user",
        ).from_params("address"),
    )

    async def execute(
        self,
        cmd: CreateOrder = Input(),
        _user: bool = Exists(User, from_command="user_id", on_missing=OnMissing.RAISE),
        address: Address = LoadById(Address, by="address_id"),
    ) -> Order:
        return await self.main_repo.create(cmd)


class UpdateOrderUseCase(UseCase[Order, Order]):
    computes = (
        Compute.set(F(UpdateOrder).status).from_command(
            F(UpdateOrder).status, via=normalise_status
        ),
    )
    rules = (Rule.check(F(UpdateOrder).status, via=bad_status).when_present(F(UpdateOrder).status),)

    async def execute(self, order_id: int, cmd: UpdateOrder = Input()) -> Order:
        order = await self.main_repo.update(order_id, cmd)
        if order is None:
            raise NotFound(model="Order", id=order_id)
        return order


class CreateOrderItem(Command, frozen=True):
    product_id: int
    quantity: int


class OrderItemRecord(Command, frozen=True):
    order_id: int
    product_id: int
    quantity: int
    unit_price_cents: int


def non_positive(quantity: int) -> str | None:
    return "must be at least 1" if quantity < 1 else None


class AddOrderItemUseCase(UseCase[OrderItem, OrderItem]):
    """Add a product to an order at the product's current price."""

    rules = (Rule.check(F(CreateOrderItem).quantity, via=non_positive),)

    async def execute(
        self,
        order_id: int,
        cmd: CreateOrderItem = Input(),
        _order: bool = Exists(Order, from_param="order_id", on_missing=OnMissing.RAISE),
        product: Product = LoadById(Product, by="product_id"),
    ) -> OrderItem:
        record = OrderItemRecord(
            order_id=order_id,
            product_id=product.id,
            quantity=cmd.quantity,
            unit_price_cents=product.price_cents,
        )
        return await self.main_repo.create(record)


class ListOrderItemsUseCase(UseCase[OrderItem, PageResult[OrderItem] | CursorResult[OrderItem]]):
    async def execute(
        self,
        order_id: int,
        query: QuerySpec,
        _order: bool = Exists(Order, from_param="order_id", on_missing=OnMissing.RAISE),
    ) -> PageResult[OrderItem] | CursorResult[OrderItem]:
        scoped = QuerySpec(
            filters=FilterGroup(
                filters=(FilterSpec(field="order_id", op=FilterOp.EQ, value=order_id),),
                groups=(query.filters,) if query.filters else (),
            ),
            sort=query.sort,
            pagination=query.pagination,
            limit=query.limit,
            page=query.page,
            cursor=query.cursor,
        )
        return await self.main_repo.list_with_query(scoped)


class RemoveOrderItemUseCase(UseCase[OrderItem, bool]):
    async def execute(self, order_id: int, item_id: int) -> bool:
        item = await self.main_repo.get_by_id(item_id)
        if item is None or item.order_id != order_id:
            raise NotFound(model="OrderItem", id=item_id)
        return await self.main_repo.delete(item_id)


class OrderTotalResponse(Command, frozen=True):
    order_id: int
    items: int
    total_cents: int


class GetOrderTotalUseCase(UseCase[Order, OrderTotalResponse]):
    def __init__(self, items: RepoFor[OrderItem]) -> None:
        self._items = items

    async def execute(
        self, order_id: int, _order: Order = LoadById(Order, by="order_id")
    ) -> OrderTotalResponse:
        page = await self._items.list_with_query(
            QuerySpec(
                filters=FilterGroup(filters=(FilterSpec(field="order_id", value=order_id),)),
                limit=1000,
            )
        )
        total = sum(i.quantity * i.unit_price_cents for i in page.items)
        return OrderTotalResponse(order_id=order_id, items=len(page.items), total_cents=total)
