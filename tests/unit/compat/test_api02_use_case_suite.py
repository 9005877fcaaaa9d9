"""A use-case test suite written the 0.2 way: ``UseCaseTest`` on in-memory repositories.

The use cases below use what 0.2 applications use: ``UseCase[Result]``, a constructor
passing ``main_repo`` on, ``Load``/``LoadById``/``Exists``, several-target checks,
``require_present``, ``forbid(...).from_command``, ``when_present`` with ``|``, a nested
``F`` path, plain-callable rules and computes, and a synchronous ``execute``.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from loom.core.command import Command, Patch
from loom.core.errors import NotFound, RuleViolation, RuleViolations, ValidationError
from loom.core.model import BaseModel, ColumnField
from loom.core.repository.abc import RepoFor
from loom.core.use_case import (
    Compute,
    Exists,
    F,
    Input,
    Load,
    LoadById,
    OnMissing,
    Rule,
    UseCase,
)
from loom.testing import InMemoryRepository, UseCaseTest


class Customer(BaseModel):
    __tablename__ = "s02_customers"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    email: str = ColumnField(length=120, unique=True)
    blocked: bool = ColumnField(default=False)


class Order(BaseModel):
    __tablename__ = "s02_orders"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    customer_id: int = ColumnField(foreign_key="s02_customers.id")
    quantity: int = ColumnField()
    total_cents: int = ColumnField(default=0)
    note: str | None = ColumnField(default=None, length=200)


class Shipping(msgspec.Struct, frozen=True):
    country: str
    express: bool = False


class PlaceOrder(Command, frozen=True):
    customer_email: str
    quantity: int
    unit_cents: int
    shipping: Shipping
    coupon: Patch[str]
    total_cents: int = 0


def _total(cmd: PlaceOrder, fields_set: frozenset[str]) -> PlaceOrder:
    total = cmd.quantity * cmd.unit_cents + (1500 if cmd.shipping.express else 0)
    return msgspec.structs.replace(cmd, total_cents=total)


def _discount(total: int, coupon: str) -> int:
    return total // 2 if coupon == "HALF" else total


def _not_blocked(cmd: PlaceOrder, fields_set: frozenset[str], context: Any) -> None:
    if context["customer"].blocked:
        raise RuleViolation("customer_email", "customer is blocked")


class PlaceOrderUseCase(UseCase[Order]):
    computes = (
        _total,
        Compute.set(F(PlaceOrder).total_cents)
        .from_command(F(PlaceOrder).total_cents, F(PlaceOrder).coupon, via=_discount)
        .when_present(F(PlaceOrder).coupon),
    )
    rules = (
        Rule.check(F(PlaceOrder).quantity, F(PlaceOrder).unit_cents, via=lambda q, u: q * u <= 0),
        Rule.check(
            F(PlaceOrder).shipping.country,
            via=lambda c: None if c in {"FR", "DE"} else "no delivery",
        ),
        Rule.forbid(lambda total: total > 100_000, message="order too large").from_command(
            F(PlaceOrder).total_cents
        ),
        _not_blocked,
    )

    def __init__(self, orders: RepoFor[Order]) -> None:
        super().__init__(main_repo=orders)

    async def execute(
        self,
        cmd: PlaceOrder = Input(),
        customer: Customer = Load(Customer, from_command="customer_email", against="email"),
    ) -> Order:
        return await self.main_repo.create(
            {"customer_id": customer.id, "quantity": cmd.quantity, "total_cents": cmd.total_cents}
        )


class EditOrder(Command, frozen=True):
    quantity: Patch[int]
    note: Patch[str | None]


class EditOrderUseCase(UseCase[Order, Order]):
    rules = (
        Rule.check(F(EditOrder).quantity, via=lambda q: q < 1, message="at least one"),
        Rule.require_present(F(EditOrder).quantity).when_present(F(EditOrder).note),
    )

    async def execute(
        self,
        order_id: int,
        cmd: EditOrder = Input(),
        order: Order = LoadById(Order, by="order_id"),
    ) -> Order:
        return await self.main_repo.update(order.id, cmd)


class CustomerKnown(UseCase[bool]):
    def execute(
        self,
        customer_id: int,
        known: bool = Exists(Customer, from_param="customer_id", on_missing=OnMissing.RETURN_NONE),
    ) -> bool:
        return known


@pytest.fixture
async def repos() -> tuple[InMemoryRepository[Any], InMemoryRepository[Any]]:
    customers: InMemoryRepository[Any] = InMemoryRepository(Customer)
    orders: InMemoryRepository[Any] = InMemoryRepository(Order)
    await customers.create({"email": "ann@example.com"})
    await customers.create({"email": "bad@example.com", "blocked": True})
    return customers, orders


def _place(repos: Any, **payload: Any) -> UseCaseTest[Order]:
    customers, orders = repos
    return (
        UseCaseTest(PlaceOrderUseCase(orders)).with_deps(Customer, customers).with_input(**payload)
    )


_GOOD = {
    "customer_email": "ann@example.com",
    "quantity": 3,
    "unit_cents": 1000,
    "shipping": {"country": "FR", "express": True},
}


async def test_place_order_computes_the_total(repos: Any) -> None:
    order = await _place(repos, **_GOOD).run()
    assert (order.quantity, order.total_cents) == (3, 4500)
    half = await _place(repos, **_GOOD, coupon="HALF").run()
    assert half.total_cents == 2250


async def test_place_order_reports_every_violation(repos: Any) -> None:
    with pytest.raises(RuleViolations) as info:
        await _place(
            repos,
            customer_email="bad@example.com",
            quantity=200,
            unit_cents=1000,
            shipping={"country": "US"},
        ).run()
    assert [(v.field, v.message) for v in info.value.violations] == [
        ("country", "no delivery"),
        ("total_cents", "order too large"),
        ("customer_email", "customer is blocked"),
    ]
    with pytest.raises(RuleViolations) as zero:
        await _place(repos, **{**_GOOD, "quantity": 0}).run()
    assert [(v.field, v.message) for v in zero.value.violations] == [
        ("quantity", "Rule check failed")
    ]


async def test_place_order_for_an_unknown_customer(repos: Any) -> None:
    with pytest.raises(NotFound) as info:
        await _place(repos, **{**_GOOD, "customer_email": "who@example.com"}).run()
    assert info.value.entity == "Customer"
    assert info.value.id == "who@example.com"


async def test_edit_order(repos: Any) -> None:
    _, orders = repos
    order = await _place(repos, **_GOOD).run()

    def edit(**payload: Any) -> UseCaseTest[Order]:
        return (
            UseCaseTest(EditOrderUseCase())
            .with_main_repo(orders)
            .with_params(order_id=order.id)
            .with_input(**payload)
        )

    assert (await edit(note="gift").with_input(quantity=2).run()).note == "gift"
    with pytest.raises(RuleViolations) as info:
        await edit(note="no quantity").run()
    assert [(v.field, v.message) for v in info.value.violations] == [
        ("quantity", "quantity is required")
    ]
    with pytest.raises(ValidationError) as null:
        await edit(quantity=None).run()
    assert [e.field for e in null.value.errors] == ["quantity"]
    cleared = await edit(note=None, quantity=1).run()
    assert cleared.note is None
    with pytest.raises(NotFound):
        await (
            UseCaseTest(EditOrderUseCase())
            .with_main_repo(orders)
            .with_params(order_id=999)
            .with_input(quantity=1)
            .run()
        )


async def test_a_synchronous_execute_with_exists(repos: Any) -> None:
    customers, _ = repos
    known = UseCaseTest(CustomerKnown()).with_deps(Customer, customers)
    assert await known.with_params(customer_id=1).run() is True
    assert await known.with_params(customer_id=404).run() is False
