"""0.2 signature pins for the hand-wired cache (``loom.core.cache``), plus behaviour
written from API-0.2.md's descriptions. The database-backed suite is
tests/integration/cache/test_cache_handwired.py."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from loom.core.cache import (
    CacheBackend,
    CacheConfig,
    CachedRepository,
    CacheGateway,
    DependencyResolver,
    GenerationalDependencyResolver,
    RepositoryCache,
    cache_query,
    cached,
)
from loom.core.cache.serializer import MsgspecSerializer
from loom.core.config import ConfigError
from loom.core.model import BaseModel, ColumnField
from loom.testing import InMemoryRepository

EMPTY = inspect.Parameter.empty


def params_of(fn: Any) -> list[tuple[str, Any]]:
    return [
        (p.name, p.default) for p in inspect.signature(fn).parameters.values() if p.name != "self"
    ]


def test_cache_config_signature() -> None:
    assert params_of(CacheConfig.__init__) == [
        ("enabled", True),
        ("aiocache_alias", "default"),
        ("counter_alias", None),
        ("aiocache_config", {}),
        ("default_ttl", 200),
        ("default_list_ttl", 120),
        ("ttl", {}),
        ("max_size", None),
    ]
    kinds = {p.kind for p in inspect.signature(CacheConfig).parameters.values()}
    assert kinds == {inspect.Parameter.KEYWORD_ONLY}


def test_the_other_signatures() -> None:
    assert params_of(CacheGateway.__init__) == [("alias", "default")]
    assert params_of(GenerationalDependencyResolver.__init__)[0] == ("cache", EMPTY)
    assert params_of(cached) == [("cls", EMPTY)]
    assert params_of(cache_query) == [("scope", "list"), ("ttl_key", None)]
    names = [name for name, _ in params_of(CachedRepository.__init__)]
    assert names[0] == "repository"
    assert {"config", "cache", "dependency_resolver"} <= set(names)
    for method in ("configure", "apply_config", "get", "set", "delete", "incr", "increment"):
        assert callable(getattr(CacheGateway, method))
    assert isinstance(CacheGateway(), CacheBackend)
    assert isinstance(GenerationalDependencyResolver(CacheGateway()), DependencyResolver)


def test_cache_config_from_mapping_and_ttls() -> None:
    config = CacheConfig.from_mapping(
        {"enabled": "false", "default_ttl": 50, "ttl": {"Product": 10, "Product:list": 5}}
    )
    assert config.enabled is False
    assert (config.ttl_for_single("Product"), config.ttl_for_list("Product")) == (10, 5)
    assert (config.ttl_for_single("Order"), config.ttl_for_list("Order")) == (50, 120)
    assert CacheConfig.from_mapping({}) == CacheConfig()
    with pytest.raises(ConfigError, match=r"cache\.ttls"):
        CacheConfig.from_mapping({"ttls": {}})
    with pytest.raises(ConfigError, match="default_ttl"):
        CacheConfig(default_ttl="soon")  # type: ignore[arg-type]


async def test_gateway_get_set_incr_delete() -> None:
    gateway = CacheGateway(alias="pin_gateway")
    try:
        await gateway.set("k", {"a": 1}, ttl=10)
        assert await gateway.get("k") == {"a": 1}
        assert await gateway.incr("n") == 1
        assert await gateway.incr("n", 2) == 3
        await gateway.delete("k")
        assert await gateway.get("k") is None
        assert isinstance(gateway.backend.serializer, MsgspecSerializer)
    finally:
        await gateway.clear()


def test_gateway_refuses_a_serializer_that_cannot_read_models_back() -> None:
    gateway = CacheGateway(alias="pin_pickle")
    gateway.configure(
        {
            "cache": "aiocache.SimpleMemoryCache",
            "serializer": {"class": "aiocache.serializers.PickleSerializer"},
        }
    )
    with pytest.raises(ConfigError, match="pin_pickle"):
        _ = gateway.backend


class PinCached(BaseModel):
    __tablename__ = "pin_c_items"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=40)


async def test_cached_repository_hand_wired_reads_through_and_invalidates() -> None:
    inner: InMemoryRepository[PinCached] = InMemoryRepository(PinCached)
    gateway = CacheGateway(alias="pin_repo")
    repo = CachedRepository(
        inner,
        config=CacheConfig(),
        cache=gateway,
        dependency_resolver=GenerationalDependencyResolver(gateway),
    )
    item = await repo.create({"name": "a"})
    assert await repo.get_by_id(item.id) == item
    await inner.update(item.id, {"name": "behind the cache's back"})
    assert (await repo.get_by_id(item.id)).name == "a"  # served from the cache
    await repo.update(item.id, {"name": "b"})
    assert (await repo.get_by_id(item.id)).name == "b"  # the write retired it
    await gateway.clear()


async def test_loom_form_still_builds() -> None:
    from aiocache import SimpleMemoryCache

    cache = RepositoryCache(SimpleMemoryCache(serializer=MsgspecSerializer()))
    repo = CachedRepository(InMemoryRepository(PinCached), cache, ttl=5, list_ttl=3)
    assert (repo.ttl, repo.list_ttl, repo.cache) == (5, 3, cache)
    with pytest.raises(TypeError, match="dependency_resolver"):
        CachedRepository(
            InMemoryRepository(PinCached),
            cache,
            dependency_resolver=GenerationalDependencyResolver(CacheGateway()),
        )


def test_cached_marks_a_class_and_cache_query_validates_its_scope() -> None:
    @cached
    class Repo:
        @cache_query(scope="single", ttl_key="one")
        async def one(self) -> None: ...

    assert Repo.__loom_cached__ is True  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="scope"):
        cache_query(scope="everything")


async def test_max_size_bounds_the_memory_cache_least_recently_read_out() -> None:
    gateway = CacheGateway(alias="pin_bounded")
    gateway.apply_config(CacheConfig(max_size=2))
    await gateway.set("a", 1)
    await gateway.set("b", 2)
    assert await gateway.get("a") == 1  # "a" is now the most recently read
    await gateway.set("c", 3)
    assert [await gateway.get(k) for k in ("a", "b", "c")] == [1, None, 3]
    await gateway.clear()
