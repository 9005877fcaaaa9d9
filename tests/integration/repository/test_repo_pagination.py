"""Offset and cursor pagination: every row exactly once, on every backend."""

from __future__ import annotations

import base64
from typing import Any

import msgspec
import pytest
from repo_support import ItrItem

from conftest import RepoFactory
from loom.core.errors import ValidationError
from loom.core.model import model_info
from loom.core.repository._listing import cursor_signature, sort_columns
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
from loom.core.repository.cursor import CursorCodec

CURSOR = PaginationMode.CURSOR

# 37 rows, grp in 0..3 (many ties), rank NULL for every third row.
ROW_COUNT = 37


def item_data(n: int) -> dict[str, Any]:
    return {"grp": n % 4, "rank": None if n % 3 == 0 else n % 5, "label": f"i{n:02d}"}


@pytest.fixture
async def items(repo_factory: RepoFactory) -> Any:
    repo = repo_factory(ItrItem)
    async with repo_factory.batch():
        for n in range(ROW_COUNT):
            await repo.create(item_data(n))
    return repo


def expected_order(rows: list[ItrItem], field: str, desc: bool) -> list[int]:
    """NULLs last ascending / first descending; the id breaks ties in the same direction."""

    def key(row: ItrItem) -> tuple[Any, ...]:
        value = getattr(row, field)
        null = value is None
        return (not null, -(value or 0), -row.id) if desc else (null, value or 0, row.id)

    return [r.id for r in sorted(rows, key=key)]


async def walk(repo: Any, query: QuerySpec) -> tuple[list[int], int]:
    """Every id a client sees following ``next_cursor`` to the end, and the page count."""
    seen: list[int] = []
    pages = 0
    cursor: str | None = None
    while True:
        page = await repo.list_with_query(msgspec_replace(query, cursor=cursor))
        assert isinstance(page, CursorResult)
        pages += 1
        assert len(page.items) <= query.limit
        seen.extend(i.id for i in page.items)
        assert page.has_next is (page.next_cursor is not None)
        if not page.has_next:
            return seen, pages
        cursor = page.next_cursor
        assert pages < 100, "cursor pagination does not terminate"


def msgspec_replace(query: QuerySpec, **changes: Any) -> QuerySpec:
    return msgspec.structs.replace(query, **changes)


async def all_rows(repo: Any) -> list[ItrItem]:
    page = await repo.list_with_query(QuerySpec(limit=1000))
    return list(page.items)


# -- offset ----------------------------------------------------------------------------


async def test_offset_pages_cover_all_rows_in_order(items: Any) -> None:
    rows = await all_rows(items)
    seen: list[int] = []
    for page_no in range(1, 6):
        page = await items.list_with_query(
            QuerySpec(sort=(SortSpec(field="grp"),), limit=10, page=page_no)
        )
        assert isinstance(page, PageResult)
        assert (page.total_count, page.page, page.limit) == (ROW_COUNT, page_no, 10)
        assert page.has_next is (page_no < 4)
        seen.extend(i.id for i in page.items)
    assert seen == expected_order(rows, "grp", desc=False)


async def test_offset_page_beyond_the_end(items: Any) -> None:
    page = await items.list_with_query(QuerySpec(limit=10, page=50))
    assert list(page.items) == []
    assert page.total_count == ROW_COUNT and page.has_next is False


async def test_offset_with_filters_counts_only_matches(items: Any) -> None:
    query = QuerySpec(
        filters=FilterGroup(filters=(FilterSpec(field="grp", op=FilterOp.EQ, value=1),)),
        limit=3,
        page=2,
    )
    page = await items.list_with_query(query)
    assert page.total_count == 9 and len(page.items) == 3 and page.has_next is True
    assert all(i.grp == 1 for i in page.items)


async def test_empty_table_first_page(repo_factory: RepoFactory) -> None:
    page = await repo_factory(ItrItem).list_with_query(QuerySpec())
    assert (list(page.items), page.total_count, page.has_next) == ([], 0, False)


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"limit": 0}, "limit"), ({"limit": 1001}, "limit"), ({"page": 0}, "page")],
)
async def test_out_of_range_limit_or_page(items: Any, changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        await items.list_with_query(QuerySpec(**changes))
    assert err.value.errors[0].field == field


async def test_default_order_is_by_primary_key(items: Any) -> None:
    page = await items.list_with_query(QuerySpec(limit=1000))
    ids = [i.id for i in page.items]
    assert ids == sorted(ids)


# -- cursor ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "desc"),
    [("grp", False), ("grp", True), ("rank", False), ("rank", True), ("id", True)],
)
async def test_cursor_walk_sees_every_row_exactly_once(items: Any, field: str, desc: bool) -> None:
    rows = await all_rows(items)
    expected = expected_order(rows, field, desc)
    for limit in (1, 7, 37, 100):
        query = QuerySpec(
            sort=(SortSpec(field=field, direction="DESC" if desc else "asc"),),
            pagination=CURSOR,
            limit=limit,
        )
        seen, pages = await walk(items, query)
        assert seen == expected, f"limit={limit}"
        assert pages == max(1, -(-ROW_COUNT // limit))


async def test_cursor_walk_with_two_sort_keys_and_a_filter(items: Any) -> None:
    rows = [r for r in await all_rows(items) if r.grp != 2]
    query = QuerySpec(
        filters=FilterGroup(filters=(FilterSpec(field="grp", op=FilterOp.NE, value=2),)),
        sort=(SortSpec(field="rank", direction="DESC"), SortSpec(field="grp")),
        pagination=CURSOR,
        limit=5,
    )
    seen, _ = await walk(items, query)

    def key(r: ItrItem) -> tuple[Any, ...]:
        return (r.rank is not None, -(r.rank or 0), r.grp, r.id)

    assert seen == [r.id for r in sorted(rows, key=key)]


async def test_rows_inserted_between_pages_are_not_repeated(items: Any) -> None:
    query = QuerySpec(sort=(SortSpec(field="grp"),), pagination=CURSOR, limit=10)
    first = await items.list_with_query(query)
    # A new row that sorts before the cursor, and one after it.
    await items.create({"grp": -1, "rank": 1, "label": "early"})
    late = await items.create({"grp": 3, "rank": 1, "label": "late"})
    seen = [i.id for i in first.items]
    cursor = first.next_cursor
    while cursor:
        page = await items.list_with_query(msgspec_replace(query, cursor=cursor))
        seen.extend(i.id for i in page.items)
        cursor = page.next_cursor
    assert len(seen) == len(set(seen))
    assert late.id in seen
    assert len(seen) == ROW_COUNT + 1  # the early row sorted before the cursor: not seen


async def test_last_page_has_no_cursor(items: Any) -> None:
    page = await items.list_with_query(QuerySpec(pagination=CURSOR, limit=ROW_COUNT))
    assert len(page.items) == ROW_COUNT
    assert page.has_next is False and page.next_cursor is None


def tamper(token: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[3] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "bad",
    ["garbage", "!!!!", "a" * 5000, "eyJ4IjoxfQ", "tamper", "truncate"],
)
async def test_malformed_or_tampered_cursor_is_a_validation_error(items: Any, bad: str) -> None:
    query = QuerySpec(pagination=CURSOR, limit=5)
    token = (await items.list_with_query(query)).next_cursor
    assert token
    if bad == "tamper":
        bad = tamper(token)
    elif bad == "truncate":
        bad = token[:-3]
    with pytest.raises(ValidationError) as err:
        await items.list_with_query(msgspec_replace(query, cursor=bad))
    assert err.value.errors[0].field == "after"


@pytest.mark.parametrize(
    "other",
    [
        {"sort": (SortSpec(field="grp"),)},
        {"sort": (SortSpec(field="id", direction="DESC"),)},
        {"filters": FilterGroup(filters=(FilterSpec(field="grp", op=FilterOp.EQ, value=1),))},
    ],
    ids=["other-sort", "other-direction", "other-filters"],
)
async def test_cursor_reused_with_another_query_is_rejected(
    items: Any, other: dict[str, Any]
) -> None:
    query = QuerySpec(pagination=CURSOR, limit=5)
    token = (await items.list_with_query(query)).next_cursor
    with pytest.raises(ValidationError) as err:
        await items.list_with_query(msgspec_replace(query, cursor=token, **other))
    assert "cursor" in err.value.detail


@pytest.mark.parametrize("secret", ["loom-default-cursor-secret", "another-secret"])
async def test_only_cursors_signed_with_the_repository_secret_are_accepted(
    items: Any, secret: str
) -> None:
    info = model_info(ItrItem)
    signature = cursor_signature(info, sort_columns(info, ()), None)
    token = CursorCodec(secret).encode(signature, [30])
    query = QuerySpec(pagination=CURSOR, limit=100, cursor=token)
    if secret == items.default_cursor_secret:
        page = await items.list_with_query(query)
        assert [i.id for i in page.items] == list(range(31, ROW_COUNT + 1))
    else:
        with pytest.raises(ValidationError):
            await items.list_with_query(query)


@pytest.mark.parametrize("mode", [PaginationMode.OFFSET, CURSOR])
async def test_unknown_sort_field_is_a_validation_error(items: Any, mode: PaginationMode) -> None:
    with pytest.raises(ValidationError) as err:
        await items.list_with_query(QuerySpec(sort=(SortSpec(field="secret"),), pagination=mode))
    assert err.value.errors[0].field == "secret"


async def test_sort_accepts_camel_case_names(repo_factory: RepoFactory) -> None:
    from repo_support import ItrUser, user_data

    users = repo_factory(ItrUser)
    async with repo_factory.batch():
        for n, name in enumerate(["b", "c", "a"]):
            await users.create(user_data(n, fullName=name))
    page = await users.list_with_query(QuerySpec(sort=(SortSpec(field="fullName"),)))
    assert [u.full_name for u in page.items] == ["a", "b", "c"]
