"""``CachedRepository``: a repository whose ``get_by_id`` and list pages are cached.

It wraps any repository (the SQLAlchemy one, a custom subclass, the in-memory one)
and forwards everything it does not cache, so custom methods and contracts keep
working. Writes through the wrapper invalidate; writes that bypass it are caught by
the database-level write tracking the SQLAlchemy adapter installs (``tracked=True``),
which also sees custom SQL and cascading deletes.
"""

from __future__ import annotations

import functools
import hashlib
import typing
import weakref
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from loom.core.cache._cache import RepositoryCache
from loom.core.cache.config import CacheConfig
from loom.core.cache.decorators import CacheQuery, cache_query_of
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


def _digest(value: Any) -> str:
    return hashlib.blake2b(_QUERY_ENCODER.encode(value), digest_size=12).hexdigest()


_SHARED: weakref.WeakKeyDictionary[Any, dict[int, RepositoryCache]] = weakref.WeakKeyDictionary()
"""One RepositoryCache per (resolver, value store): the repositories sharing them must
also share the set of watched tables, or a write through one would not retire the
reads of another that depend on its table."""


def _shared_cache(backend: Any, resolver: Any) -> RepositoryCache:
    try:
        per_backend = _SHARED.setdefault(resolver, {})
    except TypeError:  # a resolver that cannot be weakly referenced: not shared
        per_backend = {}
    found = per_backend.get(id(backend))
    if found is None or found.backend is not backend:
        namespace = getattr(resolver, "namespace", "loom")
        found = RepositoryCache(backend, namespace=str(namespace), resolver=resolver)
        per_backend[id(backend)] = found
    return found


_RESOLVERS: weakref.WeakKeyDictionary[Any, dict[str | None, Any]] = weakref.WeakKeyDictionary()


def _default_resolver(cache: Any, config: CacheConfig) -> Any:
    """One resolver per value store and counter alias, so the repositories wired
    without one still share their generations (and their watched tables)."""
    from loom.core.cache.dependencies import GenerationalDependencyResolver
    from loom.core.cache.gateway import CacheGateway

    try:
        per_alias = _RESOLVERS.setdefault(cache, {})
    except TypeError:
        per_alias = {}
    resolver = per_alias.get(config.counter_alias)
    if resolver is None:
        counters = (
            cache if config.counter_alias is None else CacheGateway(alias=config.counter_alias)
        )
        resolver = per_alias[config.counter_alias] = GenerationalDependencyResolver(counters)
    return resolver


class CachedRepository:
    """``repository`` with cached reads; see :mod:`loom.core.cache` for the guarantees.

    Two ways to build one:

    * Loom's: ``CachedRepository(repo, repository_cache, ttl=, list_ttl=, tracked=)``
      with a :class:`RepositoryCache` (what ``cache.enabled`` wires);
    * 0.2's hand-wired form: ``CachedRepository(repo, config=CacheConfig(...),
      cache=CacheGateway(...), dependency_resolver=GenerationalDependencyResolver(...))``;
      TTLs come from ``config`` per model, generations from the resolver.
    """

    def __init__(
        self,
        repository: Any,
        cache: Any = None,
        *,
        config: CacheConfig | None = None,
        dependency_resolver: Any = None,
        ttl: float | None = None,
        list_ttl: float | None = None,
        tracked: bool = False,
    ) -> None:
        self.inner = repository
        self.info: ModelInfo = repository.info
        self.model = repository.model
        self.enabled = True
        if cache is None:
            raise TypeError(
                "CachedRepository needs cache=: a RepositoryCache, or a CacheGateway "
                "(with config= and dependency_resolver=)"
            )
        if not isinstance(cache, RepositoryCache):
            config = config if config is not None else CacheConfig()
            if dependency_resolver is None:
                dependency_resolver = _default_resolver(cache, config)
            name = self.info.name
            ttl = ttl if ttl is not None else config.ttl_for_single(name)
            list_ttl = list_ttl if list_ttl is not None else config.ttl_for_list(name)
            self.enabled = bool(config.enabled and getattr(cache, "enabled", True))
            store = getattr(cache, "backend", cache)  # a gateway's aiocache instance
            cache = _shared_cache(store, dependency_resolver)
        elif dependency_resolver is not None:
            raise TypeError(
                "CachedRepository: dependency_resolver= goes with a CacheGateway; a "
                "RepositoryCache keeps its own generations"
            )
        self.config = config
        self.dependency_resolver = dependency_resolver
        self.cache: RepositoryCache = cache
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
        self._loads_listing = MsgspecSerializer.decoder_for(
            PageResult[model] | list[model]  # type: ignore[valid-type]
        )

    @property
    def repository(self) -> Any:
        """The wrapped repository (0.2's name for :attr:`inner`)."""
        return self.inner

    def __getattr__(self, name: str) -> Any:
        # Anything not cached (custom queries, count, exists_by...) goes to the inner repo;
        # a @cache_query method is wrapped once and kept on the instance.
        attr = getattr(self.inner, name)
        marker = cache_query_of(attr) if callable(attr) else None
        if marker is None:
            return attr
        wrapped = self._cached_query(name, attr, marker)
        self.__dict__[name] = wrapped
        return wrapped

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
        if key_value is MISSING or not self.enabled or not cache.usable():
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
        if not self.enabled or not cache.usable():
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

    async def _read_through(
        self,
        parts: tuple[Any, ...],
        dependencies: tuple[str, ...],
        loads: Callable[[bytes | None], Any],
        ttl: float | None,
        read: Callable[[], Any],
        storable: Callable[[Any], bool] = lambda value: value is not None,
    ) -> Any:
        """The common read path of the 0.2 reads: key, hit, or read and store."""
        cache = self.cache
        if not self.enabled or not cache.usable():
            return await read()
        tokens = await cache.tokens(dependencies)
        if tokens is None:
            return await read()
        key = cache.key((*self._prefix, *parts), tokens)
        hit = await cache.get(key, loads)
        if hit is not None:
            return hit
        may_store = cache.may_store()
        value = await read()
        if may_store and storable(value):
            await cache.set(key, value, ttl)
        return value

    async def get_by(self, field: str, value: Any, profile: str = "default") -> Any:
        """The first row whose ``field`` equals ``value`` (cached like ``get_by_id``)."""
        check_profile(self.info, profile)
        try:
            digest = _digest((field, value))
        except (TypeError, msgspec.EncodeError):
            return await self.inner.get_by(field, value, profile=profile)
        return await self._read_through(
            (profile, "by", digest),
            self._dependencies(profile),
            self._loads_one,
            self.ttl,
            lambda: self.inner.get_by(field, value, profile=profile),
        )

    async def list_paginated(
        self, page_params: Any, filter_params: Any = None, profile: str = "default"
    ) -> Any:
        """An offset page (``PageParams``, ``FilterParams``), cached per arguments."""
        check_profile(self.info, profile)
        try:
            digest = _digest((page_params, filter_params))
        except (TypeError, msgspec.EncodeError):
            return await self.inner.list_paginated(page_params, filter_params, profile=profile)
        return await self._read_through(
            (profile, "paginated", digest),
            self._dependencies(profile),
            self._loads_listing,
            self.list_ttl,
            lambda: self.inner.list_paginated(page_params, filter_params, profile=profile),
            lambda value: isinstance(value, (PageResult, list)),
        )

    def _cached_query(self, name: str, method: Any, marker: CacheQuery) -> Any:
        model = self.info.model
        try:
            returns = typing.get_type_hints(method).get("return")
        except Exception:  # annotations that do not resolve: fall back on the scope
            returns = None
        if returns is None:
            returns = list[model] if marker.scope == "list" else model  # type: ignore[valid-type]
        loads = MsgspecSerializer.decoder_for(returns)
        default = self.list_ttl if marker.scope == "list" else self.ttl
        ttl = default
        if marker.ttl_key is not None and self.config is not None:
            ttl = self.config.ttl_for_key(marker.ttl_key, int(default or 0)) or None
        dependencies = self._dependencies("default")

        @functools.wraps(method)
        async def cached_query(*args: Any, **kwargs: Any) -> Any:
            try:
                digest = _digest((args, sorted(kwargs.items())))
            except (TypeError, msgspec.EncodeError):
                return await method(*args, **kwargs)
            return await self._read_through(
                ("q", name, digest), dependencies, loads, ttl, lambda: method(*args, **kwargs)
            )

        return cached_query

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
