"""Every filter operator and nested groups, with identical results on every backend."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from repo_support import ItrUser, user_data

from conftest import RepoFactory
from loom.core.errors import ValidationError
from loom.core.repository.abc.query import (
    FilterGroup,
    FilterOp,
    FilterSpec,
    PageResult,
    QuerySpec,
)

# name, age, score, active
ROWS = [
    ("Alice", 30, 1.5, True),
    ("alan", 25, 2.0, False),
    ("Bob", None, 0.0, True),
    ("bo_b", 41, 9.75, True),
    ("Carol%", 30, -1.0, False),
    ("dave", None, 3.25, True),
]


@pytest.fixture
async def users(repo_factory: RepoFactory) -> Any:
    repo = repo_factory(ItrUser)
    async with repo_factory.batch():
        for n, (name, age, score, active) in enumerate(ROWS, start=1):
            await repo.create(user_data(n, fullName=name, age=age, score=score, active=active))
    return repo


async def names(repo: Any, *filters: FilterSpec, logic: str = "AND") -> list[str]:
    query = QuerySpec(filters=FilterGroup(filters=filters, logic=logic), limit=100)
    page = await repo.list_with_query(query)
    assert isinstance(page, PageResult)
    assert page.total_count == len(page.items)
    assert await repo.count(query.filters) == page.total_count
    return sorted(u.full_name for u in page.items)


def f(field: str, op: FilterOp | str, value: Any = None) -> FilterSpec:
    return FilterSpec(field=field, op=op, value=value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (f("age", FilterOp.EQ, 30), ["Alice", "Carol%"]),
        (f("age", FilterOp.EQ, "30"), ["Alice", "Carol%"]),
        (f("age", FilterOp.EQ, None), ["Bob", "dave"]),
        # NULL ages are neither equal nor unequal to 30, as in SQL.
        (f("age", FilterOp.NE, 30), ["alan", "bo_b"]),
        (f("age", FilterOp.NE, None), ["Alice", "Carol%", "alan", "bo_b"]),
        (f("age", FilterOp.GT, 30), ["bo_b"]),
        (f("age", FilterOp.GTE, 30), ["Alice", "Carol%", "bo_b"]),
        (f("age", FilterOp.LT, 30), ["alan"]),
        (f("age", FilterOp.LTE, 30), ["Alice", "Carol%", "alan"]),
        (f("score", FilterOp.GT, 2), ["bo_b", "dave"]),
        (f("score", FilterOp.LTE, "0"), ["Bob", "Carol%"]),
        (f("active", FilterOp.EQ, False), ["Carol%", "alan"]),
        (f("active", FilterOp.EQ, "true"), ["Alice", "Bob", "bo_b", "dave"]),
        (f("age", FilterOp.IN, [25, 41, 99]), ["alan", "bo_b"]),
        (f("age", FilterOp.IN, "25,41"), ["alan", "bo_b"]),
        (f("age", FilterOp.IN, []), []),
        (f("full_name", FilterOp.IN, ["Bob", "bob"]), ["Bob"]),
        (f("fullName", FilterOp.LIKE, "A%"), ["Alice"]),
        (f("fullName", FilterOp.LIKE, "%l%"), ["Alice", "Carol%", "alan"]),
        (f("fullName", FilterOp.LIKE, "bo_b"), ["bo_b"]),
        (f("fullName", FilterOp.LIKE, "b__"), []),
        (f("fullName", FilterOp.LIKE, "_ob"), ["Bob"]),
        (f("fullName", FilterOp.LIKE, "bo\\_b"), ["bo_b"]),
        (f("fullName", FilterOp.LIKE, "%\\%"), ["Carol%"]),
        (f("fullName", FilterOp.ILIKE, "a%"), ["Alice", "alan"]),
        (f("fullName", FilterOp.ILIKE, "BO%"), ["Bob", "bo_b"]),
        (f("fullName", FilterOp.ILIKE, "%O%"), ["Bob", "Carol%", "bo_b"]),
        (f("age", FilterOp.IS_NULL, True), ["Bob", "dave"]),
        (f("age", FilterOp.IS_NULL, "false"), ["Alice", "Carol%", "alan", "bo_b"]),
        (f("email", "eq", "u002@example.com"), ["alan"]),
        (f("createdAt", FilterOp.GT, "2000-01-01T00:00:00Z"), [n for n, *_ in sorted(ROWS)]),
        (f("createdAt", FilterOp.LT, dt.datetime(2000, 1, 1, tzinfo=dt.UTC)), []),
        # A naive datetime is read as UTC, on the driver path as through SQLAlchemy.
        (f("createdAt", FilterOp.GT, dt.datetime(2000, 1, 1)), [n for n, *_ in sorted(ROWS)]),
    ],
    ids=lambda s: (
        f"{s.field}-{getattr(s.op, 'value', s.op)}-{s.value}"[:40]
        if isinstance(s, FilterSpec)
        else ""
    ),
)
async def test_filter_operator(users: Any, spec: FilterSpec, expected: list[str]) -> None:
    assert await names(users, spec) == sorted(expected)


async def test_filters_in_one_group_are_anded(users: Any) -> None:
    assert await names(users, f("age", "gte", 25), f("active", "eq", True)) == [
        "Alice",
        "bo_b",
    ]


async def test_or_group(users: Any) -> None:
    result = await names(users, f("age", "eq", 25), f("fullName", "eq", "dave"), logic="OR")
    assert result == ["alan", "dave"]


async def test_nested_groups(users: Any) -> None:
    # active AND (age IS NULL OR (age > 35 AND score > 5))
    group = FilterGroup(
        filters=(f("active", "eq", True),),
        groups=(
            FilterGroup(
                logic="or",
                filters=(f("age", "is_null", True),),
                groups=(FilterGroup(filters=(f("age", "gt", 35), f("score", "gt", 5))),),
            ),
        ),
    )
    page = await users.list_with_query(QuerySpec(filters=group))
    assert sorted(u.full_name for u in page.items) == ["Bob", "bo_b", "dave"]
    assert await users.count(group) == 3


async def test_empty_groups_match_everything(users: Any) -> None:
    group = FilterGroup(groups=(FilterGroup(), FilterGroup(logic="OR")))
    assert await users.count(group) == len(ROWS)


@pytest.mark.parametrize(
    "spec",
    [
        f("password", "eq", "x"),
        f("age", "eq", "thirty"),
        f("age", "gt", 2**70),
        f("age", "in", ["1", "two"]),
        f("age", "like", "3%"),
        f("fullName", "like", 5),
        f("age", "is_null", "maybe"),
        f("age", "between", 3),
        f("createdAt", "gt", "yesterday"),
        f("active", "eq", "perhaps"),
    ],
    ids=lambda s: f"{s.field}-{getattr(s.op, 'value', s.op)}",
)
async def test_invalid_filters_are_validation_errors(users: Any, spec: FilterSpec) -> None:
    with pytest.raises(ValidationError) as err:
        await users.list_with_query(QuerySpec(filters=FilterGroup(filters=(spec,))))
    assert err.value.errors[0].field == spec.field
    with pytest.raises(ValidationError):
        await users.count(FilterGroup(filters=(spec,)))
