"""Models and fixtures for the repository-cache tests (tables prefixed ``cch_``)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import sqlalchemy as sa
from aiocache import SimpleMemoryCache

from loom.core.cache import CachedRepository, RepositoryCache, backend_from_config
from loom.core.cache.serializer import MsgspecSerializer
from loom.core.model import (
    BaseModel,
    Cardinality,
    ColumnField,
    OnDelete,
    ProjectionField,
    RelationField,
)
from loom.core.projection.loaders import CountLoader
from loom.core.repository.sqlalchemy import RepositorySQLAlchemy
from loom.core.repository.sqlalchemy._write_tracking import install_write_tracking


class CchAuthor(BaseModel):
    __tablename__ = "cch_authors"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=60)

    books_count: int = ProjectionField(
        loader=CountLoader(model="CchBook", via="author_id"), profiles=("with_books",)
    )


class CchBook(BaseModel):
    __tablename__ = "cch_books"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    author_id: int = ColumnField(foreign_key="cch_authors.id", on_delete=OnDelete.CASCADE)
    title: str = ColumnField(length=60)
    copies: int = ColumnField(default=0)

    author: CchAuthor | None = RelationField(
        foreign_key="author_id", cardinality=Cardinality.MANY_TO_ONE, profiles=("with_author",)
    )


def memory_backend() -> Any:
    return SimpleMemoryCache(serializer=MsgspecSerializer())


def redis_backend(url: str, timeout: float = 1.0) -> Any:
    return backend_from_config({"cache": {"backend": "redis", "url": url, "timeout": timeout}})


@asynccontextmanager
async def open_cache(backend: Any, **kwargs: Any) -> AsyncIterator[RepositoryCache]:
    """A cache in a namespace of its own, removed afterwards."""
    namespace = f"loomtest:{secrets.token_hex(5)}"
    cache = RepositoryCache(backend, namespace=namespace, **kwargs)
    try:
        yield cache
    finally:
        with contextlib.suppress(Exception):  # a backend the test switched off
            await backend.clear(namespace=namespace)
        await cache.close()


class Repos:
    """Cached repositories of the two models on one database."""

    def __init__(self, database: Any, cache: RepositoryCache, *, tracked: bool = True) -> None:
        if tracked:
            install_write_tracking(database, cache)
        self.database = database
        self.cache = cache
        self.raw_authors = RepositorySQLAlchemy(database, CchAuthor)
        self.raw_books = RepositorySQLAlchemy(database, CchBook)
        self.authors = CachedRepository(self.raw_authors, cache, tracked=tracked)
        self.books = CachedRepository(self.raw_books, cache, tracked=tracked)


class SelectCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            self.count += 1


@contextmanager
def selects(database: Any) -> Iterator[SelectCounter]:
    """Counts SELECTs reaching the database (a cache hit sends none)."""
    counter = SelectCounter()
    engine = database.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        sa.event.remove(engine, "before_cursor_execute", counter)
