"""List statements are built once per query shape and reused with new values: a
shape seen before must answer for the values of this request, never the first one's.
On PostgreSQL, filtered lists are planned for their values."""

from __future__ import annotations

from typing import Any

import pytest
from repo_support import ItrItem, ItrUser, user_data

from conftest import RepoFactory
from loom.bootstrap import database_from_config
from loom.core.config.loader import ConfigError
from loom.core.repository.abc.query import (
    CursorResult,
    FilterGroup,
    FilterOp,
    FilterSpec,
    PageResult,
    PaginationMode,
    QuerySpec,
    SortSpec,
)
from loom.core.repository.sqlalchemy import Database, RepositorySQLAlchemy
from loom.core.uow import current_unit_of_work

AGES = [30, 25, None, 41, 30, None, 25, 25]


@pytest.fixture
async def users(repo_factory: RepoFactory) -> Any:
    repo = repo_factory(ItrUser)
    async with repo_factory.batch():
        for n, age in enumerate(AGES, start=1):
            await repo.create(user_data(n, fullName=f"u{n}", age=age))
    return repo


def where(*filters: FilterSpec, logic: str = "AND", **query: Any) -> QuerySpec:
    return QuerySpec(filters=FilterGroup(filters=filters, logic=logic), **query)


def ids(page: Any) -> list[int]:
    return [item.id for item in page.items]


def expected(keep: Any) -> list[int]:
    return [n for n, age in enumerate(AGES, start=1) if keep(age)]


async def test_the_same_shape_answers_with_each_requests_values(users: Any) -> None:
    for age in (30, 25, 41, 99, 30):
        page = await users.list_with_query(where(FilterSpec(field="age", value=age)))
        assert ids(page) == expected(lambda a, age=age: a == age), age
        assert page.total_count == len(page.items)
        assert await users.count(FilterGroup(filters=(FilterSpec(field="age", value=age),))) == len(
            page.items
        )
    # Same columns and operators in an OR group, new values each time.
    for low, high in ((25, 41), (30, 30), (26, 29)):
        page = await users.list_with_query(
            where(
                FilterSpec(field="age", op=FilterOp.LT, value=low),
                FilterSpec(field="age", op=FilterOp.GTE, value=high),
                logic="OR",
            )
        )
        keep = lambda a, lo=low, hi=high: a is not None and (a < lo or a >= hi)  # noqa: E731
        assert ids(page) == expected(keep), (low, high)


async def test_null_tests_and_in_lists_of_any_length(users: Any) -> None:
    null = await users.list_with_query(where(FilterSpec(field="age", value=None)))
    assert ids(null) == expected(lambda a: a is None)
    not_null = await users.list_with_query(
        where(FilterSpec(field="age", op=FilterOp.NE, value=None))
    )
    assert ids(not_null) == expected(lambda a: a is not None)
    for values in ([25], [25, 41], [41, 30, 25], [], [99, 98]):
        page = await users.list_with_query(
            where(FilterSpec(field="age", op=FilterOp.IN, value=values))
        )
        assert ids(page) == expected(lambda a, v=values: a in v), values


async def test_a_long_in_list_binds_every_value(users: Any) -> None:
    """More values than any shape before: each still gets its own parameter."""
    values = [*range(1000, 1098), 41, 25]
    page = await users.list_with_query(
        where(FilterSpec(field="age", op=FilterOp.IN, value=values), limit=50)
    )
    assert ids(page) == expected(lambda a: a in (41, 25))
    assert await users.count(
        FilterGroup(filters=(FilterSpec(field="age", op=FilterOp.IN, value=values),))
    ) == len(page.items)


async def test_offset_pages_bind_their_limit_and_offset(users: Any) -> None:
    seen: list[int] = []
    for page_no in (1, 2, 3, 4):
        page = await users.list_with_query(QuerySpec(limit=3, page=page_no))
        assert isinstance(page, PageResult)
        assert page.total_count == len(AGES)
        assert page.has_next is (page_no * 3 < len(AGES))
        seen += ids(page)
    assert seen == list(range(1, len(AGES) + 1))
    # The same shape with another limit.
    page = await users.list_with_query(QuerySpec(limit=5, page=2))
    assert ids(page) == [6, 7, 8] and page.total_count == len(AGES)


async def test_cursor_pages_after_null_and_non_null_sort_values(repo_factory: RepoFactory) -> None:
    """``rank`` is nullable: a cursor after a NULL and one after a number make
    different predicates; each page continues exactly where the previous stopped."""
    repo = repo_factory(ItrItem)
    ranks = [3, None, 1, None, 2, 3, None, 1]
    async with repo_factory.batch():
        for rank in ranks:
            await repo.create({"grp": 1, "rank": rank})
    for direction in ("ASC", "DESC"):
        query = QuerySpec(
            sort=(SortSpec(field="rank", direction=direction),),
            pagination=PaginationMode.CURSOR,
            limit=2,
        )
        walked: list[Any] = []
        while True:
            page = await repo.list_with_query(query)
            assert isinstance(page, CursorResult)
            walked += page.items
            if not page.next_cursor:
                break
            query = QuerySpec(
                sort=query.sort, pagination=PaginationMode.CURSOR, limit=2, cursor=page.next_cursor
            )
        assert sorted(item.id for item in walked) == list(range(1, len(ranks) + 1)), direction
        got = [item.rank for item in walked]
        numbers = sorted(r for r in ranks if r is not None)
        nulls = [None] * ranks.count(None)
        assert got == (numbers + nulls if direction == "ASC" else nulls + numbers[::-1])


async def _cached_list_statements(repo: Any) -> list[str]:
    """The list statements PostgreSQL keeps prepared on the unit's connection after
    a filtered list, a third page and a first page ran seven times each."""
    async with repo.database.begin():
        for _ in range(7):
            await repo.list_with_query(where(FilterSpec(field="age", value=25), limit=2))
            await repo.list_with_query(QuerySpec(limit=2, page=3))
            await repo.list_with_query(QuerySpec(limit=2, page=1))
        driver = current_unit_of_work().driver  # type: ignore[attr-defined]
        rows = await driver.fetch("SELECT statement FROM pg_prepared_statements")
    return [row["statement"] for row in rows if "FROM itr_users" in row["statement"]]


@pytest.mark.postgres
@pytest.mark.parametrize("repo_factory", ["postgres"], indirect=True)
async def test_filtered_lists_are_planned_for_their_values(
    repo_factory: RepoFactory,
) -> None:
    """A cached (named) statement gets a generic plan after five runs, blind to a
    filter's selectivity and to the OFFSET; filtered lists run unnamed, so PostgreSQL
    plans each for its values. Unfiltered pages keep their cached statement."""
    repo = repo_factory(ItrUser)
    async with repo_factory.batch():
        for n, age in enumerate(AGES, start=1):
            await repo.create(user_data(n, fullName=f"u{n}", age=age))
    assert repo_factory.database.driver_statements  # nothing watches SQLAlchemy's SQL here
    cached = await _cached_list_statements(repo)
    # The unfiltered pages (first and third share one statement) and the count of the
    # full pages are cached; the filtered page is not.
    assert not [s for s in cached if "WHERE" in s and "LIMIT" in s]
    assert len([s for s in cached if "LIMIT" in s]) == 1
    assert any("count(" in s for s in cached)


@pytest.mark.postgres
async def test_plan_lists_cached_keeps_every_list_prepared(
    db_url_factory: Any, database_factory: Any
) -> None:
    async with database_factory(db_url_factory("postgres"), plan_lists="cached") as database:
        repo = RepositorySQLAlchemy(database, ItrUser)
        async with database.begin():
            for n, age in enumerate(AGES, start=1):
                await repo.create(user_data(n, fullName=f"u{n}", age=age))
        cached = await _cached_list_statements(repo)
    assert len([s for s in cached if "WHERE" in s and "LIMIT" in s]) == 1
    assert len([s for s in cached if "LIMIT" in s]) == 2  # the filtered page, the rest


def test_plan_lists_accepts_values_or_cached_only() -> None:
    with pytest.raises(ConfigError, match=r"database\.plan_lists.*values, cached"):
        database_from_config({"database": {"plan_lists": "sometimes"}})
    with pytest.raises(ValueError, match="plan_lists"):
        Database("sqlite+aiosqlite://", plan_lists="never")
