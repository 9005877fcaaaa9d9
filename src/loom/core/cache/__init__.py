"""The repository cache: cached reads, never stale after a write.

Two ways to switch it on:

* config-driven (Loom): ``cache.enabled`` (see :mod:`loom.core.cache.config`); the
  application then wraps every repository in a :class:`CachedRepository`;
* hand-wired (0.2): build a :class:`CacheConfig`, a :class:`CacheGateway` and a
  :class:`GenerationalDependencyResolver` and wrap the repositories you choose,
  ``CachedRepository(repo, config=, cache=, dependency_resolver=)``; custom reads
  marked with :func:`cache_query` are cached too.

Values are stored with :class:`~loom.core.cache.serializer.MsgspecSerializer` on an
aiocache backend (memory or Redis); invalidation and failure handling are described
in :class:`RepositoryCache`.
"""

from loom.core.cache._cache import ALL_TABLES, CacheStats, RepositoryCache
from loom.core.cache._repository import CachedRepository
from loom.core.cache.config import (
    CacheConfig,
    backend_from_config,
    cache_enabled,
    cache_from_config,
)
from loom.core.cache.decorators import CacheQuery, cache_query, cached, is_cached
from loom.core.cache.dependencies import DependencyResolver, GenerationalDependencyResolver
from loom.core.cache.gateway import CacheBackend, CacheGateway

__all__ = [
    "ALL_TABLES",
    "CacheBackend",
    "CacheConfig",
    "CacheGateway",
    "CacheQuery",
    "CacheStats",
    "CachedRepository",
    "DependencyResolver",
    "GenerationalDependencyResolver",
    "RepositoryCache",
    "backend_from_config",
    "cache_enabled",
    "cache_from_config",
    "cache_query",
    "cached",
    "is_cached",
]
