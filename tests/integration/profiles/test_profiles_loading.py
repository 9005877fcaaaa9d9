"""Read profiles on SQLite and PostgreSQL: every cardinality and loader, batched per page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import pytest
from profile_models import PrfAddress, PrfInvoice, PrfItem, PrfOrder, PrfUser
from sqlalchemy import event
from tests.conftest import on_the_driver

from loom.core.errors import ValidationError
from loom.core.repository.abc.query import PageResult, PaginationMode, QuerySpec, SortSpec
from loom.core.repository.sqlalchemy import RepositorySQLAlchemy

DETAIL_FIELDS = (
    "user",
    "address",
    "items",
    "invoice",
    "itemsCount",
    "hasItems",
    "skus",
    "itemRows",
    "lines",
    "firstSku",
)


class StatementCounter:
    """Counts the SELECT statements sent to the database while active."""

    def __init__(self) -> None:
        self.selects: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            self.selects.append(statement)


@contextmanager
def count_selects(database: Any) -> Iterator[StatementCounter]:
    counter = StatementCounter()
    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", counter)


@pytest.fixture
def repos(database: Any) -> dict[type, RepositorySQLAlchemy[Any, int]]:
    return {
        m: RepositorySQLAlchemy(database, m)
        for m in (PrfUser, PrfAddress, PrfOrder, PrfItem, PrfInvoice)
    }


async def seed(repos: dict[type, Any]) -> dict[str, Any]:
    """Three orders: full (two items, an invoice), bare (no address, nothing), one item."""
    ada = await repos[PrfUser].create({"full_name": "Ada"})
    bob = await repos[PrfUser].create({"full_name": "Bob"})
    home = await repos[PrfAddress].create({"user_id": ada.id, "city": "Paris"})
    full = await repos[PrfOrder].create({"user_id": ada.id, "address_id": home.id})
    bare = await repos[PrfOrder].create({"user_id": bob.id})
    single = await repos[PrfOrder].create({"user_id": ada.id, "address_id": home.id})
    await repos[PrfItem].create({"order_id": full.id, "sku": "B-2", "unit_count": 2})
    await repos[PrfItem].create({"order_id": full.id, "sku": "A-1", "unit_count": 1})
    await repos[PrfItem].create({"order_id": single.id, "sku": "C-3", "unit_count": 5})
    invoice = await repos[PrfInvoice].create({"order_id": full.id, "number": "INV-1"})
    return {
        "ada": ada,
        "bob": bob,
        "home": home,
        "full": full,
        "bare": bare,
        "single": single,
        "invoice": invoice,
    }


async def test_with_details_loads_every_cardinality_and_loader(repos: dict[type, Any]) -> None:
    s = await seed(repos)
    order = await repos[PrfOrder].get_by_id(s["full"].id, profile="with_details")
    assert order.user == s["ada"]
    assert order.address == s["home"]
    assert [i.sku for i in order.items] == ["B-2", "A-1"]  # ordered by the item key
    assert order.invoice == s["invoice"]
    assert order.items_count == 2
    assert order.has_items is True
    assert order.skus == ["B-2", "A-1"]
    assert order.item_rows == [{"sku": "B-2", "unitCount": 2}, {"sku": "A-1", "unitCount": 1}]
    assert [(line.sku, line.unit_count) for line in order.lines] == [("B-2", 2), ("A-1", 1)]
    assert order.first_sku == "B-2"


async def test_empty_relations_give_none_empty_list_zero_and_false(
    repos: dict[type, Any],
) -> None:
    s = await seed(repos)
    order = await repos[PrfOrder].get_by_id(s["bare"].id, profile="with_details")
    assert order.user == s["bob"]
    assert order.address is None
    assert order.items == []
    assert order.invoice is None
    assert order.items_count == 0
    assert order.has_items is False
    assert order.skus == []
    assert order.item_rows == []
    assert order.lines == []
    assert order.first_sku is None
    wire = msgspec.json.decode(msgspec.json.encode(order))
    assert wire["address"] is None and wire["items"] == [] and wire["itemsCount"] == 0


async def test_one_to_one_forward_from_the_owning_side(repos: dict[type, Any]) -> None:
    s = await seed(repos)
    invoice = await repos[PrfInvoice].get_by_id(s["invoice"].id, profile="with_order")
    assert invoice.order == s["full"]
    assert invoice.order.items is msgspec.UNSET  # related rows are loaded flat


async def test_default_profile_output_omits_relations_and_projections(
    repos: dict[type, Any],
) -> None:
    s = await seed(repos)
    order = await repos[PrfOrder].get_by_id(s["full"].id)
    wire = msgspec.json.decode(msgspec.json.encode(order))
    assert set(wire) == {"id", "userId", "addressId", "note"}
    for name in DETAIL_FIELDS:
        assert name not in wire


async def test_a_smaller_profile_omits_the_fields_it_does_not_list(
    repos: dict[type, Any],
) -> None:
    s = await seed(repos)
    order = await repos[PrfOrder].get_by_id(s["full"].id, profile="summary")
    wire = msgspec.json.decode(msgspec.json.encode(order))
    assert wire["itemsCount"] == 2
    assert not set(DETAIL_FIELDS[:4]) & set(wire)
    assert "skus" not in wire and "hasItems" not in wire


async def test_unknown_profile_is_a_validation_error(repos: dict[type, Any]) -> None:
    s = await seed(repos)
    with pytest.raises(ValidationError) as err:
        await repos[PrfOrder].get_by_id(s["full"].id, profile="everything")
    assert "everything" in str(err.value.errors[0].message)
    with pytest.raises(ValidationError):
        await repos[PrfOrder].list_with_query(QuerySpec(), profile="everything")
    with pytest.raises(ValidationError):  # even for an id that does not exist
        await repos[PrfOrder].get_by_id(999_999, profile="everything")


@pytest.mark.parametrize("pagination", [PaginationMode.OFFSET, PaginationMode.CURSOR])
async def test_one_query_per_relation_and_projection_per_page(
    repos: dict[type, Any], database: Any, pagination: PaginationMode
) -> None:
    users = [await repos[PrfUser].create({"full_name": f"u{i}"}) for i in range(4)]
    address = await repos[PrfAddress].create({"user_id": users[0].id, "city": "Oslo"})
    orders = []
    for i in range(24):
        orders.append(
            await repos[PrfOrder].create(
                {"user_id": users[i % 4].id, "address_id": address.id if i % 2 else None}
            )
        )
        for j in range(i % 3):
            await repos[PrfItem].create({"order_id": orders[-1].id, "sku": f"s{i}-{j}"})
    query = QuerySpec(pagination=pagination, limit=10, sort=(SortSpec(field="id"),))
    with count_selects(database) as plain:
        await repos[PrfOrder].list_with_query(query)
    with count_selects(database) as detailed:
        page = await repos[PrfOrder].list_with_query(query, profile="with_details")
    assert len(page.items) == 10
    # One statement per relation; every projection of this profile reads the order's
    # items, which the `items` relation already loaded, so they are derived for free.
    per_page = len(PrfOrder.__loom_info__.relations)
    assert len(detailed.selects) - len(plain.selects) == per_page == 4
    # a bigger page costs the same number of statements
    big = QuerySpec(pagination=pagination, limit=24, sort=(SortSpec(field="id"),))
    with count_selects(database) as bigger:
        page = await repos[PrfOrder].list_with_query(big, profile="with_details")
    assert len(bigger.selects) == len(detailed.selects)
    by_id = {o.id: o for o in page.items}
    for i, order in enumerate(orders):
        loaded = by_id[order.id]
        assert loaded.user.full_name == f"u{i % 4}"
        assert (loaded.address is not None) == bool(i % 2)
        assert loaded.items_count == i % 3 == len(loaded.items)
        assert loaded.skus == [f"s{i}-{j}" for j in range(i % 3)]


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_on_postgresql_each_batch_is_one_array_statement_on_the_driver(
    repos: dict[type, Any], database: Any
) -> None:
    """The page's keys travel as one array (``= ANY($1)``): the same statement for any
    page size, run on the asyncpg connection like the repository's own reads."""
    assert database.driver_statements  # nothing watches SQLAlchemy's statements here
    users = [await repos[PrfUser].create({"full_name": f"u{i}"}) for i in range(3)]
    address = await repos[PrfAddress].create({"user_id": users[0].id, "city": "Oslo"})
    for i in range(9):
        order = await repos[PrfOrder].create({"user_id": users[i % 3].id, "address_id": address.id})
        await repos[PrfItem].create({"order_id": order.id, "sku": f"s{i}"})
    for limit in (2, 9):
        query = QuerySpec(limit=limit, sort=(SortSpec(field="id"),))
        async with on_the_driver(database, "SELECT") as statements:
            page = await repos[PrfOrder].list_with_query(query, profile="with_details")
        assert [o.user.full_name for o in page.items] == [f"u{i % 3}" for i in range(limit)]
        assert [o.skus for o in page.items] == [[f"s{i}"] for i in range(limit)]
        loads = [s for s in statements if "= ANY" in s]
        assert len(loads) == len(PrfOrder.__loom_info__.relations) == 4


async def test_summary_profile_costs_one_extra_query(repos: dict[type, Any], database: Any) -> None:
    await seed(repos)
    with count_selects(database) as plain:
        await repos[PrfOrder].list_with_query(QuerySpec())
    with count_selects(database) as summary:
        page = await repos[PrfOrder].list_with_query(QuerySpec(), profile="summary")
    assert len(summary.selects) == len(plain.selects) + 1
    assert isinstance(page, PageResult)
    assert sorted(o.items_count for o in page.items) == [0, 1, 2]


async def test_an_empty_page_sends_no_profile_queries(
    repos: dict[type, Any], database: Any
) -> None:
    with count_selects(database) as counter:
        page = await repos[PrfOrder].list_with_query(QuerySpec(), profile="with_details")
    assert page.items == []
    assert len(counter.selects) == 1


async def test_profile_loads_join_the_active_unit_of_work(
    repos: dict[type, Any], database: Any
) -> None:
    s = await seed(repos)
    async with database.begin():
        await repos[PrfItem].create({"order_id": s["bare"].id, "sku": "NEW"})
        order = await repos[PrfOrder].get_by_id(s["bare"].id, profile="with_details")
        assert order.skus == ["NEW"]  # reads its own uncommitted write
