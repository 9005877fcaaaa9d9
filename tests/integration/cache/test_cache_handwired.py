"""The hand-wired (0.2) cache: CacheConfig + CacheGateway + GenerationalDependencyResolver
around chosen repositories, on SQLite and PostgreSQL, memory and Redis."""

from __future__ import annotations

import functools
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cache_support import CchAuthor, CchBook

from loom.core.cache import (
    CacheConfig,
    CachedRepository,
    CacheGateway,
    GenerationalDependencyResolver,
    cache_query,
    cached,
    is_cached,
)
from loom.core.repository.abc.query import FilterParams, PageParams, PageResult
from loom.core.repository.sqlalchemy import RepositorySQLAlchemy


class Counting:
    """A repository that counts the reads reaching it (a cache hit reaches none)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.reads: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name.startswith(("get", "list", "by_", "titles")) and callable(attr):

            @functools.wraps(attr)  # keeps a @cache_query mark visible
            async def counted(*args: Any, **kwargs: Any) -> Any:
                self.reads.append(name)
                return await attr(*args, **kwargs)

            return counted
        return attr


@cached
class BookRepository(RepositorySQLAlchemy[CchBook, int]):
    @cache_query(scope="list", ttl_key="books_by_author")
    async def by_author(self, author_id: int) -> list[CchBook]:
        page = await self.list_paginated(
            PageParams(limit=100), FilterParams(filters={"author_id": author_id})
        )
        return list(page.items)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def gateway(request: pytest.FixtureRequest) -> AsyncIterator[CacheGateway]:
    alias = f"loomtest_{secrets.token_hex(4)}"
    gateway = CacheGateway(alias=alias)
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        host_port = url.split("//", 1)[1].split("/", 1)[0]
        host, port = host_port.split(":")
        gateway.configure(
            {"cache": "aiocache.RedisCache", "endpoint": host, "port": int(port), "db": 15}
        )
    yield gateway
    await gateway.clear()
    await gateway.close()


class Wired:
    def __init__(self, database: Any, gateway: CacheGateway, config: CacheConfig) -> None:
        self.resolver = GenerationalDependencyResolver(gateway, namespace=gateway.alias)
        self.raw_authors = Counting(RepositorySQLAlchemy(database, CchAuthor))
        self.raw_books = Counting(BookRepository(database, CchBook))
        self.authors = CachedRepository(
            self.raw_authors, config=config, cache=gateway, dependency_resolver=self.resolver
        )
        self.books = CachedRepository(
            self.raw_books, config=config, cache=gateway, dependency_resolver=self.resolver
        )


@pytest.fixture
def wired(database: Any, gateway: CacheGateway) -> Wired:
    return Wired(database, gateway, CacheConfig())


async def test_get_by_id_reads_through_and_a_write_invalidates(wired: Wired) -> None:
    author = await wired.authors.create({"name": "Ursula"})
    assert await wired.authors.get_by_id(author.id) == author
    assert await wired.authors.get_by_id(author.id) == author
    assert wired.raw_authors.reads == ["get_by_id"]

    await wired.authors.update(author.id, {"name": "Ursula K."})
    renamed = await wired.authors.get_by_id(author.id)
    assert renamed.name == "Ursula K."
    assert wired.raw_authors.reads == ["get_by_id", "get_by_id"]

    assert await wired.authors.delete(author.id) is True
    assert await wired.authors.get_by_id(author.id) is None


async def test_get_by_and_list_paginated_are_cached_and_invalidated(wired: Wired) -> None:
    author = await wired.authors.create({"name": "Octavia"})
    await wired.books.create({"author_id": author.id, "title": "Kindred"})

    first = await wired.books.get_by("title", "Kindred")
    assert first is not None and first.title == "Kindred"
    assert await wired.books.get_by("title", "Kindred") == first
    page = await wired.books.list_paginated(PageParams(page=1, limit=10))
    assert isinstance(page, PageResult) and page.total_count == 1
    assert await wired.books.list_paginated(PageParams(page=1, limit=10)) == page
    assert wired.raw_books.reads == ["get_by", "list_paginated"]

    await wired.books.create({"author_id": author.id, "title": "Dawn"})
    page = await wired.books.list_paginated(PageParams(page=1, limit=10))
    assert [b.title for b in page.items] == ["Kindred", "Dawn"]
    assert wired.raw_books.reads[-1] == "list_paginated"


async def test_a_cache_query_method_is_cached_until_its_table_changes(wired: Wired) -> None:
    assert is_cached(BookRepository)
    author = await wired.authors.create({"name": "Iain"})
    await wired.books.create({"author_id": author.id, "title": "Excession"})
    titles = [b.title for b in await wired.books.by_author(author.id)]
    assert titles == ["Excession"]
    again = await wired.books.by_author(author.id)
    assert [b.title for b in again] == ["Excession"] and isinstance(again[0], CchBook)
    assert wired.raw_books.reads.count("by_author") == 1

    await wired.books.create({"author_id": author.id, "title": "Matter"})
    titles = [b.title for b in await wired.books.by_author(author.id)]
    assert titles == ["Excession", "Matter"]
    assert wired.raw_books.reads.count("by_author") == 2


async def test_a_write_to_a_relation_retires_the_reads_that_loaded_it(wired: Wired) -> None:
    author = await wired.authors.create({"name": "Le Guin"})
    book = await wired.books.create({"author_id": author.id, "title": "The Dispossessed"})
    loaded = await wired.books.get_by_id(book.id, profile="with_author")
    assert loaded.author.name == "Le Guin"

    await wired.authors.update(author.id, {"name": "Ursula K. Le Guin"})
    reloaded = await wired.books.get_by_id(book.id, profile="with_author")
    assert reloaded.author.name == "Ursula K. Le Guin"


async def test_disabled_config_reads_the_database_every_time(
    database: Any, gateway: CacheGateway
) -> None:
    wired = Wired(database, gateway, CacheConfig(enabled=False))
    author = await wired.authors.create({"name": "Iain"})
    for _ in range(3):
        assert (await wired.authors.get_by_id(author.id)).name == "Iain"
    assert wired.raw_authors.reads == ["get_by_id"] * 3


async def test_counters_can_live_on_their_own_alias(database: Any) -> None:
    values = CacheGateway(alias=f"values_{secrets.token_hex(3)}")
    counters = CacheGateway(alias=f"counters_{secrets.token_hex(3)}")
    resolver = GenerationalDependencyResolver(counters)
    authors = CachedRepository(
        RepositorySQLAlchemy(database, CchAuthor),
        config=CacheConfig(),
        cache=values,
        dependency_resolver=resolver,
    )
    author = await authors.create({"name": "Ann"})
    await authors.get_by_id(author.id)
    assert await counters.exists("loom:gen:cch_authors")
    assert not await values.exists("loom:gen:cch_authors")
    before = await resolver.generation("cch_authors")
    await authors.update(author.id, {"name": "Anne"})
    assert await resolver.generation("cch_authors") != before
    assert (await authors.get_by_id(author.id)).name == "Anne"


class RecordingBackend:
    """A CacheBackend of one's own (no aiocache): keeps objects and the TTLs asked for."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.ttls: dict[str, Any] = {}

    async def get(self, key: str, default: Any = None, **kwargs: Any) -> Any:
        return self.data.get(key, default)

    async def set(self, key: str, value: Any, ttl: Any = None, **kwargs: Any) -> bool:
        self.data[key] = value
        self.ttls[key] = ttl
        return True

    async def add(self, key: str, value: Any, ttl: Any = None, **kwargs: Any) -> bool:
        if key in self.data:
            raise ValueError(key)
        self.data[key] = int(value)
        return True

    async def delete(self, key: str, **kwargs: Any) -> int:
        return int(self.data.pop(key, None) is not None)

    async def exists(self, key: str, **kwargs: Any) -> bool:
        return key in self.data

    async def increment(self, key: str, delta: int = 1, **kwargs: Any) -> int:
        self.data[key] = int(self.data.get(key, 0)) + delta
        return int(self.data[key])

    async def multi_get(self, keys: Any, **kwargs: Any) -> list[Any]:
        return [self.data.get(k) for k in keys]


async def test_ttls_come_from_the_config_per_entity_and_per_query(database: Any) -> None:
    backend = RecordingBackend()
    config = CacheConfig(
        default_ttl=200, ttl={"CchAuthor": 30, "CchBook:list": 15, "books_by_author": 5}
    )
    resolver = GenerationalDependencyResolver(backend)
    authors = CachedRepository(
        RepositorySQLAlchemy(database, CchAuthor),
        config=config,
        cache=backend,
        dependency_resolver=resolver,
    )
    books = CachedRepository(
        BookRepository(database, CchBook),
        config=config,
        cache=backend,
        dependency_resolver=resolver,
    )
    author = await authors.create({"name": "Ann"})
    book = await books.create({"author_id": author.id, "title": "T"})
    await authors.get_by_id(author.id)
    await books.get_by_id(book.id)
    await books.list_paginated(PageParams())
    await books.by_author(author.id)
    assert sorted(backend.ttls.values()) == [5, 15, 30, 200]
    assert [ttl for key, ttl in backend.ttls.items() if ":q:by_author:" in key] == [5]


async def test_repositories_wired_without_a_resolver_still_share_generations(
    database: Any, gateway: CacheGateway
) -> None:
    config = CacheConfig()
    authors = CachedRepository(
        RepositorySQLAlchemy(database, CchAuthor), config=config, cache=gateway
    )
    books = CachedRepository(RepositorySQLAlchemy(database, CchBook), config=config, cache=gateway)
    author = await authors.create({"name": "Banks"})
    book = await books.create({"author_id": author.id, "title": "Look to Windward"})
    assert (await books.get_by_id(book.id, profile="with_author")).author.name == "Banks"
    await authors.update(author.id, {"name": "Iain M. Banks"})
    reread = await books.get_by_id(book.id, profile="with_author")
    assert reread.author.name == "Iain M. Banks"
    assert await books.get_by_id(book.id) is not None
    # The database deletes the book in cascade: a write through the authors' repository
    # must retire the books' reads, which only a shared resolver knows about.
    await authors.delete(author.id)
    assert await books.get_by_id(book.id) is None
