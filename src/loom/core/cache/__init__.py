"""The repository cache: cached ``get_by_id`` and list pages, never stale after a write.

Switched on by ``cache.enabled`` (see :mod:`loom.core.cache.config`); the application
then wraps every repository in a :class:`CachedRepository`. Values are stored with
:class:`~loom.core.cache.serializer.MsgspecSerializer` on an aiocache backend (memory
or Redis); invalidation and failure handling are described in
:class:`RepositoryCache`.
"""

from loom.core.cache._cache import ALL_TABLES, CacheStats, RepositoryCache
from loom.core.cache._repository import CachedRepository
from loom.core.cache.config import backend_from_config, cache_enabled, cache_from_config

__all__ = [
    "ALL_TABLES",
    "CacheStats",
    "CachedRepository",
    "RepositoryCache",
    "backend_from_config",
    "cache_enabled",
    "cache_from_config",
]
