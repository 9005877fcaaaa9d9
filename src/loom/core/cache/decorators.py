"""Markers for the hand-wired cache: ``@cached`` classes and ``@cache_query`` methods.

``@cache_query`` marks a custom repository read whose result a
:class:`~loom.core.cache.CachedRepository` caches like ``get_by_id`` and list pages::

    @cached
    class ProductRepository(RepositorySQLAlchemy[Product, int]):
        @cache_query(scope="list", ttl_key="products_by_category")
        async def by_category(self, category: str) -> list[Product]: ...

Keys are built from the method name and its arguments, and the value is invalidated
by the same generations as the model's other reads (any write to its table or to the
tables of its relations and projections). The return annotation tells the cache what
to decode (a model, ``list[Model]``, a page...); without one, ``scope="list"`` means
``list[Model]`` and ``scope="single"`` ``Model | None``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["CacheQuery", "cache_query", "cache_query_of", "cached", "is_cached"]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

_SCOPES = ("list", "single")


@dataclass(frozen=True, slots=True)
class CacheQuery:
    """What ``@cache_query`` recorded on a method."""

    scope: str
    ttl_key: str | None


def cache_query(*, scope: str = "list", ttl_key: str | None = None) -> Callable[[F], F]:
    """Cache this repository method's result (``scope`` picks the default TTL:
    ``CacheConfig.ttl_for_list`` or ``ttl_for_single``; ``ttl_key`` a ``ttl`` entry)."""
    if scope not in _SCOPES:
        raise ValueError(f"cache_query(scope={scope!r}): expected one of {', '.join(_SCOPES)}")

    def mark(fn: F) -> F:
        fn.__loom_cache_query__ = CacheQuery(scope, ttl_key)  # type: ignore[attr-defined]
        return fn

    return mark


def cache_query_of(fn: Any) -> CacheQuery | None:
    """The ``@cache_query`` marker of ``fn`` (a function or bound method), if any."""
    marker = getattr(fn, "__loom_cache_query__", None)
    return marker if isinstance(marker, CacheQuery) else None


def cached(cls: type[T]) -> type[T]:
    """Mark a repository (or model) class as one whose reads are meant to be cached.

    Purely declarative: wiring stays explicit (wrap the repository in a
    :class:`~loom.core.cache.CachedRepository`); :func:`is_cached` reads the mark.
    """
    if not isinstance(cls, type):
        raise TypeError(f"@cached decorates a class, got {cls!r}")
    cls.__loom_cached__ = True  # type: ignore[attr-defined]
    return cls


def is_cached(cls: Any) -> bool:
    """Whether ``cls`` (or an instance's class) was marked with ``@cached``."""
    target = cls if isinstance(cls, type) else type(cls)
    return bool(getattr(target, "__loom_cached__", False))
