"""The profile tests that do not count SQL statements, on in-memory repositories.

``loom.testing``'s ``InMemoryRepository`` loads relations and projections through
the same loader logic as the SQL repository (only fetching the related rows
differs), so a use case tested on fakes sees the same ``with_details`` output as in
production. The tests are imported from ``test_profiles_loading`` and run here with
this module's ``repos`` fixture.
"""

from __future__ import annotations

from typing import Any

import pytest
from profile_models import PrfAddress, PrfInvoice, PrfItem, PrfOrder, PrfUser
from test_profiles_loading import (  # noqa: F401  (collected here with memory repos)
    test_a_smaller_profile_omits_the_fields_it_does_not_list,
    test_default_profile_output_omits_relations_and_projections,
    test_empty_relations_give_none_empty_list_zero_and_false,
    test_one_to_one_forward_from_the_owning_side,
    test_unknown_profile_is_a_validation_error,
    test_with_details_loads_every_cardinality_and_loader,
)

from loom.core.repository.abc.query import PageResult, QuerySpec, SortSpec
from loom.testing import InMemoryRepository, UseCaseHarness


@pytest.fixture
def repos() -> dict[type, Any]:
    found: dict[type, Any] = {}
    for model in (PrfUser, PrfAddress, PrfOrder, PrfItem, PrfInvoice):
        found[model] = InMemoryRepository(model, related=found.__getitem__)
    return found


async def test_a_page_loads_each_rows_relations(repos: dict[type, Any]) -> None:
    users = [await repos[PrfUser].create({"full_name": f"u{i}"}) for i in range(2)]
    for i in range(5):
        order = await repos[PrfOrder].create({"user_id": users[i % 2].id})
        for j in range(i % 3):
            await repos[PrfItem].create({"order_id": order.id, "sku": f"s{i}-{j}"})
    page = await repos[PrfOrder].list_with_query(
        QuerySpec(limit=10, sort=(SortSpec(field="id"),)), profile="with_details"
    )
    assert isinstance(page, PageResult)
    assert [o.user.full_name for o in page.items] == [f"u{i % 2}" for i in range(5)]
    assert [o.items_count for o in page.items] == [i % 3 for i in range(5)]
    assert [o.skus for o in page.items] == [[f"s{i}-{j}" for j in range(i % 3)] for i in range(5)]


async def test_the_use_case_harness_wires_profiles_between_its_fakes() -> None:
    harness = UseCaseHarness()
    user = (await harness.seed(PrfUser, {"full_name": "Ada"}))[0]
    order = (await harness.seed(PrfOrder, {"user_id": user.id}))[0]
    await harness.seed(PrfItem, {"order_id": order.id, "sku": "A-1"})
    loaded = await harness.repo(PrfOrder).get_by_id(order.id, profile="with_details")
    assert loaded.user == user and loaded.skus == ["A-1"] and loaded.has_items is True
