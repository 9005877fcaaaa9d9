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
from typing import Any
from urllib.parse import parse_qsl, urlparse

from loom.core.cache._cache import RepositoryCache
from loom.core.cache.serializer import MsgspecSerializer
from loom.core.config.loader import ConfigError, resolve, select

__all__ = ["backend_from_config", "cache_enabled", "cache_from_config"]


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def cache_enabled(cfg: Any) -> bool:
    return _truthy(select(cfg, "cache.enabled", False))


def _class(path: Any, key: str) -> Any:
    if not isinstance(path, str):
        return path
    module, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        raise ConfigError(f"key {key!r}: cannot import {path!r}") from None


def _number(cfg: Any, key: str, default: float | None) -> float | None:
    value = select(cfg, key, default)
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"key {key!r}: expected a number of seconds, got {value!r}") from None


def backend_from_config(cfg: Any) -> Any:
    """The aiocache cache the config describes, with a :class:`MsgspecSerializer`."""
    timeout = _number(cfg, "cache.timeout", 1.0)
    raw = select(cfg, "cache.aiocache")
    if raw is not None:
        options = dict(resolve(raw)) if not isinstance(raw, dict) else dict(raw)
        if "default" in options and isinstance(options["default"], dict):
            options = dict(options["default"])  # aiocache's alias form
        cls = _class(options.pop("cache", "aiocache.SimpleMemoryCache"), "cache.aiocache.cache")
        serializer = options.pop("serializer", None)
        if serializer is not None:
            ser_cls = _class(dict(serializer).get("class"), "cache.aiocache.serializer.class")
            if not (isinstance(ser_cls, type) and issubclass(ser_cls, MsgspecSerializer)):
                raise ConfigError(
                    "key 'cache.aiocache.serializer': the repository cache needs "
                    "loom.core.cache.serializer.MsgspecSerializer"
                )
        options.pop("plugins", None)
        options.setdefault("timeout", timeout)
        try:
            return cls(serializer=MsgspecSerializer(), **options)
        except Exception as exc:
            raise ConfigError(f"key 'cache.aiocache': {exc}") from None
    backend = str(select(cfg, "cache.backend", "memory") or "memory").lower()
    if backend == "memory":
        from aiocache import SimpleMemoryCache

        return SimpleMemoryCache(serializer=MsgspecSerializer(), timeout=timeout)
    if backend == "redis":
        from aiocache import RedisCache

        url = str(select(cfg, "cache.url", "redis://127.0.0.1:6379/0"))
        parsed = urlparse(url)
        if parsed.scheme not in ("redis", "rediss"):
            raise ConfigError(f"key 'cache.url': expected a redis:// URL, got {url!r}")
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
            raise ConfigError(f"key 'cache.url': cannot use {url!r}: {exc}") from None
    raise ConfigError(f"key 'cache.backend': expected 'memory' or 'redis', got {backend!r}")


def cache_from_config(cfg: Any) -> RepositoryCache | None:
    """The repository cache, or ``None`` when ``cache.enabled`` is not true."""
    if not cache_enabled(cfg):
        return None
    namespace = select(cfg, "cache.namespace") or f"loom:{select(cfg, 'app.name', 'app')}"
    retry_after = _number(cfg, "cache.retry_after", 5.0)
    return RepositoryCache(
        backend_from_config(cfg),
        default_ttl=_number(cfg, "cache.default_ttl", 300.0),
        default_list_ttl=_number(cfg, "cache.default_list_ttl", 60.0),
        namespace=str(namespace),
        retry_after=retry_after if retry_after is not None else 5.0,
    )
