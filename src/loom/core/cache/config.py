"""Building the repository cache from the ``cache`` config section.

.. code-block:: yaml

    cache:
      enabled: true            # off by default
      default_ttl: 300         # seconds, get_by_id
      default_list_ttl: 60     # seconds, list pages
      backend: memory          # memory | redis
      url: redis://127.0.0.1:6379/0
      namespace: store         # key prefix (default: loom:<app.name>)
      timeout: 1.0             # per cache operation; a slow cache is a down cache
      retry_after: 5.0         # how long to read from the database after a failure
      aiocache:                # optional: an aiocache cache config, used as given
        cache: aiocache.RedisCache
        endpoint: 127.0.0.1
        port: 6379

The memory backend is per process: use Redis when several processes serve the same
database, or each keeps its own (and only sees its own writes).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlparse

from loom.core.cache._cache import RepositoryCache
from loom.core.cache.serializer import MsgspecSerializer
from loom.core.config.loader import ConfigError, resolve
from loom.core.config.settings import settings_of, truthy

__all__ = ["CacheConfig", "backend_from_config", "cache_enabled", "cache_from_config"]


def cache_enabled(cfg: Any) -> bool:
    return settings_of(cfg).cache.enabled


def _class(path: Any, key: str) -> Any:
    if not isinstance(path, str):
        return path
    module, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        raise ConfigError(f"key {key!r}: cannot import {path!r}") from None


def backend_from_config(cfg: Any) -> Any:
    """The aiocache cache the config (or its :class:`AppSettings`) describes, with a
    :class:`MsgspecSerializer`."""
    settings = settings_of(cfg)
    cache = settings.cache
    timeout = cache.timeout
    if cache.aiocache is not None:
        options = dict(cache.aiocache)
        if "default" in options and isinstance(options["default"], dict):
            options = dict(options["default"])  # aiocache's alias form
        cls = _class(options.pop("cache", "aiocache.SimpleMemoryCache"), "cache.aiocache.cache")
        serializer = options.pop("serializer", None)
        if serializer is not None:
            ser_cls = _class(dict(serializer).get("class"), "cache.aiocache.serializer.class")
            if not (isinstance(ser_cls, type) and issubclass(ser_cls, MsgspecSerializer)):
                raise settings.error(
                    "cache.aiocache.serializer",
                    "the repository cache needs loom.core.cache.serializer.MsgspecSerializer",
                )
        options.pop("plugins", None)
        options.setdefault("timeout", timeout)
        try:
            return cls(serializer=MsgspecSerializer(), **options)
        except Exception as exc:
            raise settings.error("cache.aiocache", str(exc)) from None
    backend = cache.backend
    if backend == "memory":
        from aiocache import SimpleMemoryCache

        return SimpleMemoryCache(serializer=MsgspecSerializer(), timeout=timeout)
    if backend == "redis":
        from aiocache import RedisCache

        url = cache.url
        parsed = urlparse(url)
        if parsed.scheme not in ("redis", "rediss"):
            raise settings.error("cache.url", f"expected a redis:// URL, got {url!r}")
        kwargs: dict[str, Any] = dict(parse_qsl(parsed.query))
        db = parsed.path.lstrip("/").split("/")[0]
        try:
            return RedisCache(
                serializer=MsgspecSerializer(),
                endpoint=parsed.hostname or "127.0.0.1",
                port=parsed.port or 6379,
                db=int(db or 0),
                password=parsed.password,
                ssl=parsed.scheme == "rediss",
                timeout=timeout,
                create_connection_timeout=timeout,
                **kwargs,
            )
        except Exception as exc:
            raise settings.error("cache.url", f"cannot use {url!r}: {exc}") from None
    raise settings.error("cache.backend", f"expected 'memory' or 'redis', got {backend!r}")


def cache_from_config(cfg: Any) -> RepositoryCache | None:
    """The repository cache, or ``None`` when ``cache.enabled`` is not true; ``cfg`` is
    the loaded config or its :class:`AppSettings`."""
    settings = settings_of(cfg)
    cache = settings.cache
    if not cache.enabled:
        return None
    return RepositoryCache(
        backend_from_config(settings),
        default_ttl=cache.default_ttl,
        default_list_ttl=cache.default_list_ttl,
        namespace=cache.namespace,
        retry_after=cache.retry_after,
    )


class CacheConfig:
    """The hand-wired cache's settings (0.2's ``CacheConfig``).

    ``aiocache_alias`` names the aiocache alias values are stored under and
    ``counter_alias`` the one holding the generation counters (the same alias when
    ``None``); ``aiocache_config`` is an aiocache config (``{"default": {"cache": ...}}``
    or one cache's settings) the :class:`~loom.core.cache.CacheGateway` applies.
    ``ttl`` overrides the defaults per entity: ``{"Product": 60}`` for single reads,
    ``{"Product:list": 30}`` for lists, and any key a
    :func:`~loom.core.cache.cache_query` names. ``max_size`` bounds the in-process
    memory cache (entries), ``None`` for no bound.
    """

    __slots__ = (
        "aiocache_alias",
        "aiocache_config",
        "counter_alias",
        "default_list_ttl",
        "default_ttl",
        "enabled",
        "max_size",
        "ttl",
    )

    def __init__(
        self,
        *,
        enabled: bool = True,
        aiocache_alias: str = "default",
        counter_alias: str | None = None,
        aiocache_config: Mapping[str, Any] = {},  # 0.2's signature; copied, never mutated
        default_ttl: int = 200,
        default_list_ttl: int = 120,
        ttl: Mapping[str, int] = {},  # 0.2's signature; copied, never mutated
        max_size: int | None = None,
    ) -> None:
        self.enabled = bool(enabled)
        self.aiocache_alias = str(aiocache_alias)
        self.counter_alias = counter_alias
        self.aiocache_config: dict[str, Any] = dict(aiocache_config)
        self.default_ttl = _seconds("default_ttl", default_ttl)
        self.default_list_ttl = _seconds("default_list_ttl", default_list_ttl)
        self.ttl: dict[str, int] = {str(k): _seconds(f"ttl.{k}", v) for k, v in ttl.items()}
        if max_size is not None and (not isinstance(max_size, int) or max_size < 1):
            raise ConfigError(
                f"key 'cache.max_size': expected a positive integer, got {max_size!r}"
            )
        self.max_size = max_size

    _LOOM_KEYS = frozenset({"backend", "url", "namespace", "timeout", "retry_after", "aiocache"})
    """Keys of Loom's own ``cache:`` section, accepted (and left to it) by from_mapping."""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> CacheConfig:
        """From a ``cache:`` config section (unknown keys are a ConfigError naming them).

        Loom's own keys (``backend``, ``url``...) may sit in the same section; a Loom
        ``aiocache:`` block stands for ``aiocache_config`` when that is absent.
        """
        raw = dict(resolve(data) if data is not None and not isinstance(data, dict) else data or {})
        known = {name for name in cls.__slots__}
        unknown = sorted(k for k in raw if k not in known and k not in cls._LOOM_KEYS)
        if unknown:
            raise ConfigError(
                f"key 'cache.{unknown[0]}': unknown cache setting; expected one of "
                f"{', '.join(sorted(known))}"
            )
        if "aiocache_config" not in raw and isinstance(raw.get("aiocache"), Mapping):
            raw["aiocache_config"] = raw["aiocache"]
        kwargs = {k: v for k, v in raw.items() if k in known}
        if "enabled" in kwargs:
            kwargs["enabled"] = truthy(kwargs["enabled"])
        for key in ("aiocache_config", "ttl"):
            if kwargs.get(key) is None:
                kwargs.pop(key, None)
            elif not isinstance(kwargs[key], Mapping):
                raise ConfigError(f"key 'cache.{key}': expected a mapping, got {kwargs[key]!r}")
        return cls(**kwargs)

    def _lookup(self, key: str) -> int | None:
        for candidate in (key, key.lower()):
            if candidate in self.ttl:
                return self.ttl[candidate]
        return None

    def ttl_for_single(self, entity: str) -> int:
        """Seconds a single read of ``entity`` (a model or entity name) stays cached."""
        found = self._lookup(_entity_name(entity))
        return self.default_ttl if found is None else found

    def ttl_for_list(self, entity: str) -> int:
        """Seconds a list read of ``entity`` stays cached (``ttl["<entity>:list"]``)."""
        found = self._lookup(f"{_entity_name(entity)}:list")
        return self.default_list_ttl if found is None else found

    def ttl_for_key(self, key: str, default: int) -> int:
        """The ``ttl`` entry named ``key`` (a :func:`cache_query`'s ``ttl_key``)."""
        found = self._lookup(key)
        return default if found is None else found

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CacheConfig):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={getattr(self, k)!r}" for k in sorted(self.__slots__))
        return f"CacheConfig({inner})"


def _entity_name(entity: Any) -> str:
    return str(getattr(entity, "__name__", entity))


def _seconds(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"key 'cache.{key}': expected a number of seconds, got {value!r}")
    try:
        seconds = int(value)
    except ValueError:
        raise ConfigError(
            f"key 'cache.{key}': expected a number of seconds, got {value!r}"
        ) from None
    if seconds < 0:
        raise ConfigError(f"key 'cache.{key}': expected a number of seconds >= 0, got {value!r}")
    return seconds
