"""The profile tests that do not count SQL statements, on in-memory repositories.

``loom.testing``'s ``InMemoryRepository`` loads relations and projections through
the same loader logic as the SQL repository (only fetching the related rows
differs), so a use case tested on fakes sees the same ``with_details`` output as in
production. The tests are imported from ``test_profiles_loading`` and run here with
this module's ``repos`` fixture.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from profile_models import (
    BLOG_MODELS,
    PrfAddress,
    PrfAuthor,
    PrfInvoice,
    PrfItem,
    PrfOrder,
    PrfPost,
    PrfPostTag,
    PrfTag,
    PrfUser,
)
from test_profiles_loading import (  # noqa: F401  (collected here with memory repos)
    test_a_smaller_profile_omits_the_fields_it_does_not_list,
    test_default_profile_output_omits_relations_and_projections,
    test_empty_relations_give_none_empty_list_zero_and_false,
    test_one_to_one_forward_from_the_owning_side,
    test_unknown_profile_is_a_validation_error,
    test_with_details_loads_every_cardinality_and_loader,
)
from test_profiles_relations import (  # noqa: F401  (collected here with memory repos)
    test_a_self_referencing_many_to_many,
    test_default_profile_loads_its_relations_and_projections,
    test_filters_follow_a_many_to_many_relation,
    test_loaders_over_a_many_to_many_relation,
    test_many_to_many_through_the_association_model,
)

from loom.core.repository.abc.query import PageResult, QuerySpec, SortSpec
from loom.testing import InMemoryRepository, UseCaseHarness


@pytest.fixture
def repos() -> dict[type, Any]:
    found: dict[type, Any] = {}
    for model in (PrfUser, PrfAddress, PrfOrder, PrfItem, PrfInvoice, *BLOG_MODELS):
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


async def test_the_use_case_harness_loads_default_profiles_and_many_to_many() -> None:
    harness = UseCaseHarness()
    ada = (await harness.seed(PrfAuthor, {"name": "Ada"}))[0]
    post = (await harness.seed(PrfPost, {"author_id": ada.id, "title": "t"}))[0]
    tag = (await harness.seed(PrfTag, {"name": "x"}))[0]
    await harness.seed(PrfPostTag, {"post_id": post.id, "tag_id": tag.id})
    author = await harness.repo(PrfAuthor).get_by_id(ada.id)
    assert (author.post_count, author.has_posts) == (1, True)
    tagged = await harness.repo(PrfPost).get_by_id(post.id, profile="with_tags")
    assert tagged.tags == [tag] and tagged.tag_count == 1 and tagged.author is msgspec.UNSET
