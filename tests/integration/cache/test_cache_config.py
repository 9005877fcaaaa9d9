"""``cache.*`` config and the msgspec serializer."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from aiocache import RedisCache, SimpleMemoryCache
from cache_support import CchBook

from loom.core.cache import RepositoryCache, backend_from_config, cache_from_config
from loom.core.cache.serializer import MsgspecSerializer
from loom.core.config.loader import ConfigError
from loom.core.response import Response


class Stamp(Response):
    at: dt.datetime
    amount: decimal.Decimal
    tags: tuple[str, ...] = ()


def test_serializer_round_trips_typed_values_exactly() -> None:
    value = Stamp(at=dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC), amount=decimal.Decimal("1.50"))
    typed = MsgspecSerializer(type=Stamp)
    raw = typed.dumps(value)
    assert isinstance(raw, bytes)
    assert typed.loads(raw) == value
    assert typed.loads(None) is None
    assert MsgspecSerializer().loads(raw)["amount"] == "1.50"  # untyped: builtins
    book = CchBook(id=1, author_id=2, title="t")
    assert MsgspecSerializer.decoder_for(CchBook)(MsgspecSerializer().dumps(book)) == book
    assert MsgspecSerializer.DEFAULT_ENCODING is None


def test_disabled_by_default_and_enabled_by_string_or_bool() -> None:
    assert cache_from_config({}) is None
    assert cache_from_config({"cache": {"enabled": "false"}}) is None
    cache = cache_from_config(
        {"app": {"name": "shop"}, "cache": {"enabled": "true", "default_ttl": 9}}
    )
    assert isinstance(cache, RepositoryCache)
    assert isinstance(cache.backend, SimpleMemoryCache)
    assert cache.namespace == "loom:shop" and cache.default_ttl == 9.0
    assert cache.default_list_ttl == 60.0


def test_redis_backend_from_url() -> None:
    backend = backend_from_config(
        {"cache": {"backend": "redis", "url": "redis://:pw@cachehost:6390/3", "timeout": 0.5}}
    )
    assert isinstance(backend, RedisCache)
    assert (backend.endpoint, backend.port, backend.db, backend.password) == (
        "cachehost",
        6390,
        3,
        "pw",
    )
    assert backend.timeout == 0.5
    assert isinstance(backend.serializer, MsgspecSerializer)


def test_raw_aiocache_config_is_accepted_with_the_msgspec_serializer() -> None:
    backend = backend_from_config(
        {
            "cache": {
                "aiocache": {
                    "default": {
                        "cache": "aiocache.SimpleMemoryCache",
                        "serializer": {"class": "loom.core.cache.serializer.MsgspecSerializer"},
                    }
                }
            }
        }
    )
    assert isinstance(backend, SimpleMemoryCache)
    assert isinstance(backend.serializer, MsgspecSerializer)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"backend": "memcached"}, "cache.backend"),
        ({"backend": "redis", "url": "http://x"}, "cache.url"),
        ({"default_ttl": "soon", "enabled": True}, "cache.default_ttl"),
        ({"aiocache": {"cache": "no.such.Cache"}}, "cache.aiocache.cache"),
        (
            {
                "aiocache": {
                    "cache": "aiocache.SimpleMemoryCache",
                    "serializer": {"class": "aiocache.serializers.JsonSerializer"},
                }
            },
            "MsgspecSerializer",
        ),
    ],
)
def test_bad_cache_config_is_a_config_error_naming_the_key(
    section: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        cache_from_config({"cache": {"enabled": True, **section}})
