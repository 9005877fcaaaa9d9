"""``build_repository_harness`` seeds a real database (SQLite and PostgreSQL) through
the repositories, parents first."""

from __future__ import annotations

from typing import Any

import pytest

from loom.core.errors import Conflict
from loom.core.model import BaseModel, ColumnField, OnDelete
from loom.core.repository.abc.query import PageParams
from loom.core.repository.sqlalchemy import RepositorySQLAlchemy, SessionManager
from loom.testing import RepositoryIntegrationHarness, ScenarioDict, build_repository_harness


class RhCustomer(BaseModel):
    __tablename__ = "rh_customers"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    email: str = ColumnField(length=80, unique=True)


class RhOrder(BaseModel):
    __tablename__ = "rh_orders"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    customer_id: int = ColumnField(foreign_key="rh_customers.id", on_delete=OnDelete.CASCADE)
    total: int = ColumnField(default=0)


class OrderRepository(RepositorySQLAlchemy[RhOrder, int]):
    async def totals(self) -> int:
        page = await self.list_paginated(PageParams(limit=1000))
        return sum(o.total for o in page.items)


def scenario() -> ScenarioDict:
    # Children listed first: load_order, not the dict's order, decides.
    return {
        "orders": [RhOrder(id=1, customer_id=1, total=5), RhOrder(id=2, customer_id=1, total=7)],
        "customers": [RhCustomer(id=1, email="a@example.com")],
    }


@pytest.fixture(params=["session_manager", "database"])
def harness(request: pytest.FixtureRequest, database: Any) -> RepositoryIntegrationHarness:
    handle = (
        SessionManager.for_database(database) if request.param == "session_manager" else database
    )
    return build_repository_harness(
        session_manager=handle,
        models={"customers": RhCustomer, "orders": RhOrder},
        repositories={"orders": OrderRepository},
        load_order=("customers", "orders"),
    )


async def test_load_creates_the_rows_in_load_order(harness: RepositoryIntegrationHarness) -> None:
    created = await harness.load(scenario())
    assert [c.email for c in created["customers"]] == ["a@example.com"]
    assert isinstance(harness.orders.repository, OrderRepository)
    assert await harness.orders.repository.totals() == 12
    customer = await harness.customers.repository.get_by_id(1)
    assert customer is not None and customer.email == "a@example.com"
    assert harness.orders.model is RhOrder


async def test_rows_are_validated_like_the_application_writes_them(
    harness: RepositoryIntegrationHarness,
) -> None:
    await harness.load({"customers": [RhCustomer(id=1, email="a@example.com")]})
    with pytest.raises(Conflict):
        await harness.load({"customers": [RhCustomer(id=2, email="a@example.com")]})


async def test_unknown_names_are_errors_naming_the_known_ones(
    harness: RepositoryIntegrationHarness, database: Any
) -> None:
    with pytest.raises(KeyError, match="invoices"):
        await harness.load({"invoices": []})
    with pytest.raises(AttributeError, match="customers"):
        _ = harness.invoices
    with pytest.raises(ValueError, match="load_order"):
        build_repository_harness(
            session_manager=database, models={"customers": RhCustomer}, load_order=("orders",)
        )
