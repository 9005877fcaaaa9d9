"""``CacheGateway``: one aiocache alias behind the small interface the cache needs.

The hand-wired (0.2) cache is built in application code rather than from the
``cache:`` config section::

    config = CacheConfig.from_mapping(cfg["cache"])
    gateway = CacheGateway(alias=config.aiocache_alias)
    gateway.apply_config(config)
    resolver = GenerationalDependencyResolver(gateway)
    products = CachedRepository(repo, config=config, cache=gateway, dependency_resolver=resolver)

Values are always written with :class:`~loom.core.cache.serializer.MsgspecSerializer`
(typed reads decode straight into models and pages); an alias configured with
another serializer is refused with a :class:`ConfigError`, since its entries could not
be read back as models.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from aiocache import SimpleMemoryCache

from loom.core.cache.config import CacheConfig, backend_from_config
from loom.core.config.loader import ConfigError

__all__ = ["BoundedMemoryCache", "CacheBackend", "CacheGateway"]

log = logging.getLogger("loom.cache")

_DEFAULT_SERIALIZERS = ("aiocache.serializers.StringSerializer",)
"""aiocache's own default for an alias: treated as "not chosen", not as a choice."""


@runtime_checkable
class CacheBackend(Protocol):
    """What the cache needs from a store (aiocache's method names and keywords)."""

    async def get(self, key: str, default: Any = None, **kwargs: Any) -> Any: ...

    async def set(self, key: str, value: Any, ttl: Any = None, **kwargs: Any) -> Any: ...

    async def add(self, key: str, value: Any, ttl: Any = None, **kwargs: Any) -> Any: ...

    async def delete(self, key: str, **kwargs: Any) -> Any: ...

    async def exists(self, key: str, **kwargs: Any) -> bool: ...

    async def increment(self, key: str, delta: int = 1, **kwargs: Any) -> int: ...

    async def multi_get(self, keys: Sequence[str], **kwargs: Any) -> list[Any]: ...


class BoundedMemoryCache(SimpleMemoryCache):
    """aiocache's memory cache holding at most ``max_size`` entries, least recently
    read first out (``CacheConfig.max_size``: aiocache's own has no bound).

    Evicting a generation counter is harmless: it is re-created at a random value,
    so the entries stored under the old one are simply never asked for again.
    """

    def __init__(self, *, max_size: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_size = max_size

    async def _get(self, key: str, encoding: str | None = "utf-8", _conn: Any = None) -> Any:
        value = self._cache.get(key)
        if value is not None:
            self._cache[key] = self._cache.pop(key)  # most recently used: last
        return value

    async def _evict(self) -> None:
        while len(self._cache) > self.max_size:
            await self._delete(next(iter(self._cache)))

    async def _set(self, key: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        result = await super()._set(key, value, *args, **kwargs)
        await self._evict()
        return result

    async def _increment(self, key: str, delta: int, _conn: Any = None) -> Any:
        result = await super()._increment(key, delta, _conn=_conn)
        await self._evict()
        return result


def _alias_form(config: Mapping[str, Any]) -> bool:
    """``{"default": {"cache": ...}, "redis": {...}}`` rather than one cache's settings."""
    return bool(config) and all(isinstance(v, Mapping) and "cache" in v for v in config.values())


class CacheGateway:
    """The aiocache cache of ``alias``, created on first use.

    Without any configuration the alias is an in-process memory cache.
    """

    def __init__(self, *, alias: str = "default") -> None:
        self.alias = alias
        self.enabled = True
        self.max_size: int | None = None
        self._settings: dict[str, Any] | None = None
        self._backend: Any = None

    # -- configuration -------------------------------------------------------------------

    def configure(self, config: Mapping[str, Any]) -> None:
        """Register aiocache settings: an alias mapping (aiocache's ``set_config`` form)
        or the settings of this gateway's alias alone. Also registered with aiocache's
        ``caches`` so code using aiocache directly sees the same aliases."""
        from aiocache import caches

        aliases = dict(config) if _alias_form(config) else {self.alias: dict(config)}
        for alias, settings in aliases.items():
            caches.add(alias, dict(settings))
        if self.alias in aliases:
            self._settings = dict(aliases[self.alias])
            self._backend = None

    def apply_config(self, config: CacheConfig) -> None:
        """Take ``config``'s aiocache settings, ``enabled`` and ``max_size``."""
        self.enabled = config.enabled
        if config.max_size != self.max_size:
            self.max_size = config.max_size
            self._backend = None
        if config.aiocache_config:
            self.configure(config.aiocache_config)

    def _settings_for_alias(self) -> dict[str, Any]:
        if self._settings is not None:
            return dict(self._settings)
        from aiocache import caches

        try:
            return dict(caches.get_alias_config(self.alias))
        except KeyError:
            return {"cache": "aiocache.SimpleMemoryCache"}

    @property
    def backend(self) -> Any:
        """The aiocache cache instance (built once, MessagePack-serialized)."""
        if self._backend is None:
            settings = self._settings_for_alias()
            serializer = settings.get("serializer")
            if isinstance(serializer, Mapping) and serializer.get("class") in _DEFAULT_SERIALIZERS:
                settings.pop("serializer")
            try:
                backend = backend_from_config({"cache": {"aiocache": settings}})
            except ConfigError as exc:
                raise ConfigError(f"cache alias {self.alias!r}: {exc}") from None
            if self.max_size is not None and type(backend) is SimpleMemoryCache:
                backend = BoundedMemoryCache(
                    max_size=self.max_size,
                    serializer=backend.serializer,
                    namespace=backend.namespace,
                    timeout=backend.timeout,
                )
            self._backend = backend
        return self._backend

    # -- the store -----------------------------------------------------------------------

    async def get(self, key: str, default: Any = None, **kwargs: Any) -> Any:
        return await self.backend.get(key, default, **kwargs)

    async def set(self, key: str, value: Any, ttl: Any = None, **kwargs: Any) -> Any:
        return await self.backend.set(key, value, ttl=ttl, **kwargs)

    async def add(self, key: str, value: Any, ttl: Any = None, **kwargs: Any) -> Any:
        return await self.backend.add(key, value, ttl=ttl, **kwargs)

    async def delete(self, key: str, **kwargs: Any) -> Any:
        return await self.backend.delete(key, **kwargs)

    async def exists(self, key: str, **kwargs: Any) -> bool:
        return bool(await self.backend.exists(key, **kwargs))

    async def increment(self, key: str, delta: int = 1, **kwargs: Any) -> int:
        return int(await self.backend.increment(key, delta, **kwargs))

    async def incr(self, key: str, delta: int = 1, **kwargs: Any) -> int:
        """0.2's short name for :meth:`increment`."""
        return await self.increment(key, delta, **kwargs)

    async def multi_get(self, keys: Sequence[str], **kwargs: Any) -> list[Any]:
        return list(await self.backend.multi_get(list(keys), **kwargs))

    async def multi_set(
        self, pairs: Sequence[tuple[str, Any]], ttl: Any = None, **kwargs: Any
    ) -> Any:
        return await self.backend.multi_set(list(pairs), ttl=ttl, **kwargs)

    async def expire(self, key: str, ttl: Any, **kwargs: Any) -> Any:
        return await self.backend.expire(key, ttl, **kwargs)

    async def clear(self, namespace: str | None = None, **kwargs: Any) -> Any:
        return await self.backend.clear(namespace=namespace, **kwargs)

    async def close(self) -> None:
        """Close the connection (a Redis pool); the gateway can be used again after."""
        backend, self._backend = self._backend, None
        if backend is None:
            return
        client = getattr(backend, "client", None)
        close = getattr(client, "aclose", None) or getattr(backend, "close", None)
        if close is not None:
            try:
                await close()
            except Exception as exc:  # closing a dead connection is not worth an error
                log.debug("closing cache alias %r failed: %s", self.alias, exc)

    def __repr__(self) -> str:
        return f"CacheGateway(alias={self.alias!r})"
