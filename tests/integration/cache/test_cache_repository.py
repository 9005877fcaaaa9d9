"""The repository cache on memory and real Redis, over SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from cache_support import (
    CchAuthor,
    Repos,
    memory_backend,
    open_cache,
    redis_backend,
    selects,
)

from loom.core.cache import CachedRepository, RepositoryCache
from loom.core.errors import ValidationError
from loom.core.repository.abc.query import (
    FilterGroup,
    FilterSpec,
    PaginationMode,
    QuerySpec,
    SortSpec,
)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[RepositoryCache]:
    if request.param == "memory":
        backend = memory_backend()
    else:
        backend = redis_backend(request.getfixturevalue("redis_url"))
    async with open_cache(backend) as cache:
        yield cache


@pytest.fixture
def repos(database: Any, cache: RepositoryCache) -> Repos:
    return Repos(database, cache)


async def test_second_read_is_a_hit_without_a_statement(repos: Repos) -> None:
    author = await repos.authors.create({"name": "Ursula"})
    assert await repos.authors.get_by_id(author.id) == author  # miss, stored
    with selects(repos.database) as counter:
        again = await repos.authors.get_by_id(author.id)
        also = await repos.authors.get_by_id(str(author.id))  # same key after coercion
    assert again == author == also
    assert counter.count == 0
    assert repos.cache.stats.hits == 2


@pytest.mark.parametrize("pagination", [PaginationMode.OFFSET, PaginationMode.CURSOR])
async def test_list_pages_are_cached_per_query(repos: Repos, pagination: PaginationMode) -> None:
    for name in ("a", "b", "c"):
        await repos.authors.create({"name": name})
    query = QuerySpec(pagination=pagination, limit=2, sort=(SortSpec(field="name"),))
    first = await repos.authors.list_with_query(query)
    with selects(repos.database) as counter:
        again = await repos.authors.list_with_query(query)
    assert counter.count == 0
    assert again == first and [a.name for a in again.items] == ["a", "b"]
    other = QuerySpec(pagination=pagination, limit=1)
    with selects(repos.database) as counter:
        page = await repos.authors.list_with_query(other)
    assert counter.count >= 1 and len(page.items) == 1


async def test_profiles_are_cached_and_keyed_apart(repos: Repos) -> None:
    author = await repos.authors.create({"name": "Le Guin"})
    book = await repos.books.create({"author_id": author.id, "title": "Earthsea"})
    plain = await repos.books.get_by_id(book.id)
    detailed = await repos.books.get_by_id(book.id, profile="with_author")
    with selects(repos.database) as counter:
        assert await repos.books.get_by_id(book.id) == plain
        hit = await repos.books.get_by_id(book.id, profile="with_author")
    assert counter.count == 0
    assert hit.author == author
    assert plain.author is msgspec.UNSET
    wire = msgspec.json.decode(msgspec.json.encode(hit))
    assert wire["author"] == {"id": author.id, "name": "Le Guin"}
    assert "author" not in msgspec.json.decode(msgspec.json.encode(plain))
    assert detailed == hit


async def test_unknown_profile_is_still_a_validation_error(repos: Repos) -> None:
    with pytest.raises(ValidationError):
        await repos.books.get_by_id(1, profile="nope")
    with pytest.raises(ValidationError):
        await repos.books.list_with_query(QuerySpec(), profile="nope")


async def test_update_and_delete_invalidate(repos: Repos) -> None:
    author = await repos.authors.create({"name": "Before"})
    await repos.authors.get_by_id(author.id)
    page = await repos.authors.list_with_query(QuerySpec())
    assert [a.name for a in page.items] == ["Before"]
    await repos.authors.update(author.id, {"name": "After"})
    assert (await repos.authors.get_by_id(author.id)).name == "After"
    page = await repos.authors.list_with_query(QuerySpec())
    assert [a.name for a in page.items] == ["After"]
    await repos.authors.create({"name": "Second"})
    assert (await repos.authors.list_with_query(QuerySpec())).total_count == 2
    assert await repos.authors.delete(author.id) is True
    assert await repos.authors.get_by_id(author.id) is None
    assert (await repos.authors.list_with_query(QuerySpec())).total_count == 1


async def test_write_to_a_dependency_invalidates_the_profile_read(repos: Repos) -> None:
    author = await repos.authors.create({"name": "Old name"})
    book = await repos.books.create({"author_id": author.id, "title": "T"})
    detailed = await repos.books.get_by_id(book.id, profile="with_author")
    assert detailed.author.name == "Old name"
    counted = await repos.authors.get_by_id(author.id, profile="with_books")
    assert counted.books_count == 1
    # written through another repository object: the cache sees it at the engine
    await repos.raw_authors.update(author.id, {"name": "New name"})
    await repos.raw_books.create({"author_id": author.id, "title": "U"})
    detailed = await repos.books.get_by_id(book.id, profile="with_author")
    assert detailed.author.name == "New name"
    assert (await repos.authors.get_by_id(author.id, profile="with_books")).books_count == 2
    page = await repos.books.list_with_query(QuerySpec(), profile="with_author")
    assert {b.author.name for b in page.items} == {"New name"}


async def test_cascading_delete_invalidates_the_children(repos: Repos) -> None:
    author = await repos.authors.create({"name": "Gone"})
    book = await repos.books.create({"author_id": author.id, "title": "Orphan"})
    assert await repos.books.get_by_id(book.id) is not None
    assert (await repos.books.list_with_query(QuerySpec())).total_count == 1
    await repos.authors.delete(author.id)  # ON DELETE CASCADE removes the book
    assert await repos.books.get_by_id(book.id) is None
    assert (await repos.books.list_with_query(QuerySpec())).total_count == 0


async def test_custom_and_raw_sql_writes_invalidate(repos: Repos) -> None:
    author = await repos.authors.create({"name": "x"})
    book = await repos.books.create({"author_id": author.id, "title": "t", "copies": 1})
    await repos.books.get_by_id(book.id)
    table = repos.raw_books.table
    async with repos.database.connection() as conn:
        await conn.execute(sa.update(table).where(table.c.id == book.id).values(copies=5))
    assert (await repos.books.get_by_id(book.id)).copies == 5
    async with repos.database.connection() as conn:
        await conn.execute(sa.text("UPDATE cch_books SET copies = 9"))
    assert (await repos.books.get_by_id(book.id)).copies == 9


async def test_a_unit_of_work_reads_its_own_writes_and_a_rollback_leaks_nothing(
    repos: Repos,
) -> None:
    author = await repos.authors.create({"name": "committed"})
    await repos.authors.get_by_id(author.id)
    with pytest.raises(RuntimeError):
        async with repos.database.begin():
            await repos.authors.update(author.id, {"name": "uncommitted"})
            assert (await repos.authors.get_by_id(author.id)).name == "uncommitted"
            page = await repos.authors.list_with_query(QuerySpec())
            assert page.items[0].name == "uncommitted"
            raise RuntimeError("roll back")
    assert (await repos.authors.get_by_id(author.id)).name == "committed"
    assert (await repos.authors.list_with_query(QuerySpec())).items[0].name == "committed"
    async with repos.database.begin():
        await repos.authors.update(author.id, {"name": "second"})
    assert (await repos.authors.get_by_id(author.id)).name == "second"


async def test_ttl_expiry_reads_the_database_again(database: Any, cache: RepositoryCache) -> None:
    short = RepositoryCache(
        cache.backend, namespace=cache.namespace, default_ttl=0.2, default_list_ttl=0.2
    )
    repos = Repos(database, short)
    author = await repos.authors.create({"name": "ttl"})
    await repos.authors.get_by_id(author.id)
    await repos.authors.list_with_query(QuerySpec())
    with selects(database) as counter:
        await repos.authors.get_by_id(author.id)
        await repos.authors.list_with_query(QuerySpec())
    assert counter.count == 0
    await asyncio.sleep(0.6)
    with selects(database) as counter:
        assert await repos.authors.get_by_id(author.id) == author
        await repos.authors.list_with_query(QuerySpec())
    assert counter.count == 2  # the get, and the offset page (its total in the same statement)


async def test_a_reader_that_raced_a_write_cannot_cache_the_old_value(repos: Repos) -> None:
    """Reader loads the old row, the write commits and returns, then the reader stores."""
    author = await repos.authors.create({"name": "old"})
    loaded, release = asyncio.Event(), asyncio.Event()
    real_get = repos.raw_authors.get_by_id

    async def slow_get(id: Any, profile: str = "default") -> Any:
        value = await real_get(id, profile=profile)
        loaded.set()
        await release.wait()
        return value

    racing = CachedRepository(
        type(
            "Slow",
            (),
            {
                "get_by_id": staticmethod(slow_get),
                "info": repos.raw_authors.info,
                "model": CchAuthor,
            },
        )(),
        repos.cache,
        tracked=True,
    )
    reader = asyncio.create_task(racing.get_by_id(author.id))
    await loaded.wait()
    await repos.authors.update(author.id, {"name": "new"})  # committed and returned
    release.set()
    assert (await reader).name == "old"  # it started before the write: allowed
    assert (await repos.authors.get_by_id(author.id)).name == "new"
    assert (await racing.get_by_id(author.id)).name == "new"


async def test_concurrent_writes_then_reads_are_never_stale(repos: Repos) -> None:
    author = await repos.authors.create({"name": "0"})
    book = await repos.books.create({"author_id": author.id, "title": "t", "copies": 0})
    stop = asyncio.Event()
    query = QuerySpec(filters=FilterGroup(filters=(FilterSpec(field="id", value=book.id),)))

    async def hammer() -> None:
        while not stop.is_set():
            await repos.books.get_by_id(book.id)
            await repos.books.get_by_id(book.id, profile="with_author")
            await repos.books.list_with_query(query)

    readers = [asyncio.create_task(hammer()) for _ in range(4)]
    try:
        for i in range(1, 16):
            await repos.books.update(book.id, {"copies": i})
            assert (await repos.books.get_by_id(book.id)).copies == i
            assert (await repos.books.list_with_query(query)).items[0].copies == i
            await repos.raw_authors.update(author.id, {"name": str(i)})
            detailed = await repos.books.get_by_id(book.id, profile="with_author")
            assert detailed.author.name == str(i)
            assert detailed.copies == i
    finally:
        stop.set()
        await asyncio.gather(*readers)
    assert repos.cache.stats.hits > 0


# PostgreSQL only: SQLite transactions are serialised (BEGIN IMMEDIATE), so no write
# can commit while another transaction is open there and the race cannot happen.
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_an_old_transaction_snapshot_is_never_cached_under_new_tokens(
    repos: Repos,
) -> None:
    """A read late in an older transaction must not be stored under the new tokens;
    on PostgreSQL a write can commit meanwhile, and READ COMMITTED sees it."""
    author = await repos.authors.create({"name": "v1"})
    go, written = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        await go.wait()
        await repos.raw_authors.update(author.id, {"name": "v2"})
        written.set()

    task = asyncio.create_task(writer())  # created outside the unit of work below
    async with repos.database.begin():
        await repos.raw_books.count()  # the transaction's snapshot starts here
        go.set()
        await written.wait()
        inside = await repos.authors.get_by_id(author.id)
    await task
    assert inside.name == "v2"
    assert (await repos.authors.get_by_id(author.id)).name == "v2"


async def test_values_are_stored_only_from_a_fresh_snapshot(repos: Repos) -> None:
    """Only a read that starts its transaction (or any read on PostgreSQL) is cached."""
    author = await repos.authors.create({"name": "a"})
    assert repos.cache.may_store()
    async with repos.database.begin():
        assert repos.cache.may_store()  # nothing sent yet: our read starts the snapshot
        await repos.raw_books.count()
        later = repos.cache.may_store()
        await repos.authors.get_by_id(author.id)
    assert later is (repos.database.dialect == "postgresql")
    with selects(repos.database) as counter:
        await repos.authors.get_by_id(author.id)
    assert counter.count == (0 if later else 1)
