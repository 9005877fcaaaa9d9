"""Relations declared the 0.2 way, on SQLite and PostgreSQL: by referenced column,
many-to-many through an association model, loaders over relations, and the default
profile loading what is declared for it (a single row's counts riding in its SELECT)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from profile_models import PrfAuthor, PrfPost, PrfPostLink, PrfPostTag, PrfTag, PrfUser
from test_profiles_loading import count_selects
from tests.conftest import on_the_driver

from loom.core.repository.abc.query import FilterGroup, FilterOp, FilterSpec, QuerySpec, SortSpec
from loom.core.repository.sqlalchemy import RepositorySQLAlchemy

BY_ID = QuerySpec(limit=50, sort=(SortSpec(field="id"),))


@pytest.fixture
def repos(database: Any) -> dict[type, RepositorySQLAlchemy[Any, int]]:
    models = (PrfUser, PrfAuthor, PrfPost, PrfTag, PrfPostTag, PrfPostLink)
    return {m: RepositorySQLAlchemy(database, m) for m in models}


async def blog(repos: dict[type, Any]) -> dict[str, Any]:
    """Ada wrote two posts (tagged b, a / untagged), Bob none; post 1 links to post 2."""
    ada = await repos[PrfAuthor].create({"name": "Ada"})
    bob = await repos[PrfAuthor].create({"name": "Bob"})
    first = await repos[PrfPost].create({"author_id": ada.id, "title": "first"})
    second = await repos[PrfPost].create({"author_id": ada.id, "title": "second"})
    a = await repos[PrfTag].create({"name": "a"})
    b = await repos[PrfTag].create({"name": "b"})
    unused = await repos[PrfTag].create({"name": "unused"})
    # Linked in the opposite of key order: the relation lists tags by their key.
    await repos[PrfPostTag].create({"post_id": first.id, "tag_id": b.id})
    await repos[PrfPostTag].create({"post_id": first.id, "tag_id": a.id})
    await repos[PrfPostLink].create({"from_id": first.id, "to_id": second.id})
    return {
        "ada": ada,
        "bob": bob,
        "first": first,
        "second": second,
        "a": a,
        "b": b,
        "unused": unused,
    }


def wire(value: Any) -> Any:
    return msgspec.json.decode(msgspec.json.encode(value))


async def test_default_profile_loads_its_relations_and_projections(
    repos: dict[type, Any],
) -> None:
    s = await blog(repos)
    ada = await repos[PrfAuthor].get_by_id(s["ada"].id)
    assert (ada.post_count, ada.has_posts) == (2, True)
    bob = await repos[PrfAuthor].get_by_id(s["bob"].id)
    assert wire(bob) == {"id": bob.id, "name": "Bob", "postCount": 0, "hasPosts": False}
    post = await repos[PrfPost].get_by_id(s["first"].id)
    assert post.author == s["ada"]  # MANY_TO_ONE by "prf_authors.id"
    assert "tags" not in wire(post)  # declared for another profile only
    page = await repos[PrfAuthor].list_with_query(BY_ID)
    assert [(x.name, x.post_count, x.has_posts) for x in page.items] == [
        ("Ada", 2, True),
        ("Bob", 0, False),
    ]
    posts = await repos[PrfPost].list_with_query(BY_ID)
    assert [p.author.name for p in posts.items] == ["Ada", "Ada"]


async def test_many_to_many_through_the_association_model(repos: dict[type, Any]) -> None:
    s = await blog(repos)
    first = await repos[PrfPost].get_by_id(s["first"].id, profile="with_tags")
    assert first.tags == [s["a"], s["b"]]
    assert first.tag_count == 2
    second = await repos[PrfPost].get_by_id(s["second"].id, profile="with_tags")
    assert second.tags == [] and second.tag_count == 0
    # The reverse side, its target inferred from the association's other key.
    a = await repos[PrfTag].get_by_id(s["a"].id, profile="with_posts")
    assert [p.title for p in a.posts] == ["first"]
    unused = await repos[PrfTag].get_by_id(s["unused"].id, profile="with_posts")
    assert unused.posts == []


async def test_loaders_over_a_many_to_many_relation(repos: dict[type, Any]) -> None:
    s = await blog(repos)
    page = await repos[PrfPost].list_with_query(BY_ID, profile="tag_summary")
    summary = [(p.tag_count, p.tagged, p.tag_names) for p in page.items]
    assert summary == [(2, True, ["a", "b"]), (0, False, [])]
    one = await repos[PrfPost].get_by_id(s["first"].id, profile="tag_summary")
    assert (one.tag_count, one.tagged, one.tag_names) == (2, True, ["a", "b"])
    none = await repos[PrfPost].get_by_id(s["second"].id, profile="tag_summary")
    assert (none.tag_count, none.tagged, none.tag_names) == (0, False, [])


async def test_a_self_referencing_many_to_many(repos: dict[type, Any]) -> None:
    s = await blog(repos)
    first = await repos[PrfPost].get_by_id(s["first"].id, profile="with_links")
    assert [p.title for p in first.see_also] == ["second"] and first.see_also_count == 1
    second = await repos[PrfPost].get_by_id(s["second"].id, profile="with_links")
    assert second.see_also == [] and second.see_also_count == 0
    counted = await repos[PrfPost].get_by_id(s["first"].id, profile="link_count")
    assert counted.see_also_count == 1
    page = await repos[PrfPost].list_with_query(BY_ID, profile="link_count")
    assert [p.see_also_count for p in page.items] == [1, 0]


async def test_filters_follow_a_many_to_many_relation(repos: dict[type, Any]) -> None:
    s = await blog(repos)

    async def titles(field: str, op: FilterOp, value: Any = None) -> list[str]:
        spec = FilterSpec(field=field, op=op, value=value)
        query = QuerySpec(filters=FilterGroup(filters=(spec,)), sort=(SortSpec(field="id"),))
        return [p.title for p in (await repos[PrfPost].list_with_query(query)).items]

    assert await titles("tags.name", FilterOp.EQ, "b") == ["first"]
    assert await titles("tags.name", FilterOp.EQ, "unused") == []
    assert await titles("tags", FilterOp.EXISTS) == ["first"]
    assert await titles("tags", FilterOp.NOT_EXISTS) == ["second"]
    assert await titles("seeAlso.title", FilterOp.EQ, "second") == ["first"]
    assert s["first"].title == "first"


async def test_a_0_2_custom_loader_gets_a_session_and_the_page_ids(
    repos: dict[type, Any],
) -> None:
    s = await blog(repos)
    page = await repos[PrfAuthor].list_with_query(BY_ID, profile="legacy")
    assert [(a.name, a.legacy_total) for a in page.items] == [("Ada", 2), ("Bob", 0)]
    async with repos[PrfAuthor].database.begin():  # joins the unit of work's session
        await repos[PrfPost].create({"author_id": s["bob"].id, "title": "new"})
        bob = await repos[PrfAuthor].get_by_id(s["bob"].id, profile="legacy")
        assert bob.legacy_total == 1


# -- what it costs (SQL only) -----------------------------------------------------------


async def test_a_single_rows_count_and_exists_ride_in_its_select(
    repos: dict[type, Any], database: Any
) -> None:
    s = await blog(repos)
    with count_selects(database) as counter:
        ada = await repos[PrfAuthor].get_by_id(s["ada"].id)
    assert (ada.post_count, ada.has_posts) == (2, True)
    assert len(counter.selects) == 1
    with count_selects(database) as counter:
        assert await repos[PrfAuthor].get_by_id(999_999) is None
    assert len(counter.selects) == 1
    # Joined columns still need their rows: one statement more, not one per projection.
    with count_selects(database) as counter:
        one = await repos[PrfPost].get_by_id(s["first"].id, profile="tag_summary")
    assert one.tag_names == ["a", "b"]
    assert len(counter.selects) == 2
    # A count over rows a relation of the profile loads anyway costs nothing more.
    with count_selects(database) as counter:
        await repos[PrfPost].get_by_id(s["first"].id, profile="with_tags")
    assert len(counter.selects) == 2


async def test_a_profile_with_nothing_declared_costs_the_row_alone(
    repos: dict[type, Any], database: Any
) -> None:
    s = await blog(repos)
    with count_selects(database) as counter:
        tag = await repos[PrfTag].get_by_id(s["a"].id)
        page = await repos[PrfTag].list_with_query(BY_ID)
    assert tag == s["a"] and len(page.items) == 3
    assert len(counter.selects) == 2
    assert "prf_post" not in " ".join(counter.selects)


async def test_a_page_costs_one_statement_per_relation_or_projection(
    repos: dict[type, Any], database: Any
) -> None:
    authors = [await repos[PrfAuthor].create({"name": f"w{i}"}) for i in range(3)]
    tags = [await repos[PrfTag].create({"name": f"t{i}"}) for i in range(4)]
    for i in range(12):
        post = await repos[PrfPost].create({"author_id": authors[i % 3].id, "title": f"p{i}"})
        for tag in tags[: i % 4]:
            await repos[PrfPostTag].create({"post_id": post.id, "tag_id": tag.id})
    for limit in (5, 12):
        query = QuerySpec(limit=limit, sort=(SortSpec(field="id"),))
        with count_selects(database) as tagged:
            page = await repos[PrfPost].list_with_query(query, profile="with_tags")
        # Profiles are independent: `with_tags` loads its tags (the count is derived
        # from them), not the default profile's author.
        assert len(batched(tagged.selects)) == 1
        assert [len(p.tags) for p in page.items] == [i % 4 for i in range(limit)]
        assert [p.tag_count for p in page.items] == [i % 4 for i in range(limit)]
        assert page.items[0].author is msgspec.UNSET
        with count_selects(database) as summary:
            page = await repos[PrfPost].list_with_query(query, profile="tag_summary")
        assert len(batched(summary.selects)) == 3  # count, exists, names
        assert [p.tag_names for p in page.items] == [
            [f"t{j}" for j in range(i % 4)] for i in range(limit)
        ]
        with count_selects(database) as listed:
            found = await repos[PrfAuthor].list_with_query(query)
        assert len(batched(listed.selects)) == 2  # post_count, has_posts
        assert [a.post_count for a in found.items] == [4, 4, 4]


def batched(selects: list[str]) -> list[str]:
    """The statements loading a page's related data (they take the page's keys)."""
    return [sql for sql in selects if " IN (" in sql or "= ANY" in sql]


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_on_postgresql_profile_reads_run_on_the_driver(
    repos: dict[type, Any], database: Any
) -> None:
    """The single row with its scalar subqueries, and the many-to-many join, are
    prebuilt statements that run on the asyncpg connection."""
    assert database.driver_statements
    s = await blog(repos)
    async with on_the_driver(database, "SELECT") as statements:
        ada = await repos[PrfAuthor].get_by_id(s["ada"].id)
        page = await repos[PrfPost].list_with_query(BY_ID, profile="with_tags")
    assert ada.post_count == 2 and [len(p.tags) for p in page.items] == [2, 0]
    assert any("EXISTS" in sql and "count(*)" in sql for sql in statements)
    assert any("JOIN prf_post_tags" in sql and "= ANY" in sql for sql in statements)
