"""``CachedRepository``: a repository whose ``get_by_id`` and list pages are cached.

It wraps any repository (the SQLAlchemy one, a custom subclass, the in-memory one)
and forwards everything it does not cache, so custom methods and contracts keep
working. Writes through the wrapper invalidate; writes that bypass it are caught by
the database-level write tracking the SQLAlchemy adapter installs (``tracked=True``),
which also sees custom SQL and cascading deletes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import msgspec

from loom.core.cache._cache import RepositoryCache
from loom.core.cache.serializer import MsgspecSerializer
from loom.core.model import ModelInfo
from loom.core.projection import profile_tables
from loom.core.repository._listing import MISSING, check_profile, coerce_id
from loom.core.repository.abc.query import (
    CursorResult,
    FilterGroup,
    PageResult,
    PaginationMode,
    QuerySpec,
)

__all__ = ["CachedRepository"]


def _fingerprint(info: ModelInfo) -> str:
    """Changes whenever the model's shape does, so a deploy never decodes old entries."""
    parts = [info.table]
    parts += [f"{c.name}:{c.annotation!r}" for c in info.columns.values()]
    parts += [f"r:{r.name}:{r.decl.cardinality.value}" for r in info.relations.values()]
    parts += [f"p:{p.name}:{p.annotation!r}" for p in info.projections.values()]
    return hashlib.blake2b("|".join(parts).encode(), digest_size=4).hexdigest()


_QUERY_ENCODER = msgspec.msgpack.Encoder()


class CachedRepository:
    """``inner`` with cached reads; see :mod:`loom.core.cache` for the guarantees."""

    def __init__(
        self,
        inner: Any,
        cache: RepositoryCache,
        *,
        ttl: float | None = None,
        list_ttl: float | None = None,
        tracked: bool = False,
    ) -> None:
        self.inner = inner
        self.cache = cache
        self.info: ModelInfo = inner.info
        self.model = inner.model
        self.ttl = ttl if ttl is not None else cache.default_ttl
        self.list_ttl = list_ttl if list_ttl is not None else cache.default_list_ttl
        self.tracked = tracked
        self._prefix = (self.info.table, _fingerprint(self.info))
        self._tables: dict[str, tuple[str, ...]] = {}
        for profile in self.info.profiles():
            self._tables[profile] = tables = profile_tables(self.info, profile)
            cache.watch(tables)
        model = self.info.model
        self._loads_one = MsgspecSerializer.decoder_for(model)
        self._loads_page = MsgspecSerializer.decoder_for(PageResult[model])  # type: ignore[valid-type]
        self._loads_cursor = MsgspecSerializer.decoder_for(CursorResult[model])  # type: ignore[valid-type]

    def __getattr__(self, name: str) -> Any:
        # Anything not cached (custom queries, count, exists_by...) goes to the inner repo.
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"CachedRepository({self.inner!r})"

    def _dependencies(self, profile: str) -> tuple[str, ...]:
        tables = self._tables.get(profile)
        if tables is None:
            self._tables[profile] = tables = profile_tables(self.info, profile)
            self.cache.watch(tables)
        return tables

    # -- reads --------------------------------------------------------------------------

    async def get_by_id(self, id: Any, profile: str = "default") -> Any:
        check_profile(self.info, profile)
        key_value = coerce_id(self.info, id)
        cache = self.cache
        if key_value is MISSING or not cache.usable():
            return await self.inner.get_by_id(id, profile=profile)
        tokens = await cache.tokens(self._dependencies(profile))
        if tokens is None:
            return await self.inner.get_by_id(key_value, profile=profile)
        key = cache.key((*self._prefix, profile, "id", repr(key_value)), tokens)
        hit = await cache.get(key, self._loads_one)
        if hit is not None:
            return hit
        may_store = cache.may_store()
        value = await self.inner.get_by_id(key_value, profile=profile)
        if value is not None and may_store:
            await cache.set(key, value, self.ttl)
        return value

    async def list_with_query(self, query: QuerySpec, profile: str = "default") -> Any:
        check_profile(self.info, profile)
        cache = self.cache
        if not cache.usable():
            return await self.inner.list_with_query(query, profile=profile)
        try:
            digest = hashlib.blake2b(_QUERY_ENCODER.encode(query), digest_size=12).hexdigest()
        except (TypeError, msgspec.EncodeError):  # a filter value msgpack cannot carry
            return await self.inner.list_with_query(query, profile=profile)
        tokens = await cache.tokens(self._dependencies(profile))
        if tokens is None:
            return await self.inner.list_with_query(query, profile=profile)
        cursor = query.pagination is PaginationMode.CURSOR
        kind = "cursor" if cursor else "page"
        key = cache.key((*self._prefix, profile, kind, digest), tokens)
        loads = self._loads_cursor if cursor else self._loads_page
        hit = await cache.get(key, loads)
        if hit is not None:
            return hit
        may_store = cache.may_store()
        value = await self.inner.list_with_query(query, profile=profile)
        if may_store and isinstance(value, (PageResult, CursorResult)):
            await cache.set(key, value, self.list_ttl)
        return value

    # -- writes -------------------------------------------------------------------------

    async def _written(self, *, delete: bool = False) -> None:
        if not self.tracked:
            await self.cache.after_write((self.info.table,), delete=delete)

    async def create(self, data: msgspec.Struct | Mapping[str, Any]) -> Any:
        try:
            return await self.inner.create(data)
        finally:
            await self._written()

    async def update(self, id: Any, patch: msgspec.Struct | Mapping[str, Any]) -> Any:
        try:
            return await self.inner.update(id, patch)
        finally:
            await self._written()

    async def delete(self, id: Any) -> bool:
        try:
            return bool(await self.inner.delete(id))
        finally:
            await self._written(delete=True)

    # -- forwarded explicitly (protocol members are looked up on the class) --------------

    async def count(self, filters: FilterGroup | None = None) -> int:
        return int(await self.inner.count(filters))

    async def exists_by(self, field: str, value: Any) -> bool:
        return bool(await self.inner.exists_by(field, value))
