"""Generation counters: how a cached read knows it is out of date.

A cached value's key embeds the generation of everything it was read from (its table,
the tables of its profile's relations and projections, and a global one). A write
moves the generation of the tables it touched, so every key built before it is
simply never asked for again: no key scan, no delete-by-pattern, and a reader that
raced the write can only store its old value under the old generations.

:class:`GenerationalDependencyResolver` keeps those counters in any
:class:`~loom.core.cache.CacheBackend` (a :class:`~loom.core.cache.CacheGateway`,
possibly on a different alias than the values: ``CacheConfig.counter_alias``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

from loom.core.cache._cache import new_generation, next_step, parse_token

__all__ = ["DependencyResolver", "GenerationalDependencyResolver"]


@runtime_checkable
class DependencyResolver(Protocol):
    """Current generations of dependencies, and moving them on after a write."""

    async def generations(self, dependencies: Sequence[str]) -> Sequence[int]:
        """One current generation per dependency (created when missing)."""
        ...

    async def bump(self, dependencies: Iterable[str]) -> None:
        """Retire every value read under the current generations of ``dependencies``."""
        ...


class GenerationalDependencyResolver:
    """Generation counters stored in ``cache`` under ``<namespace>:gen:<dependency>``.

    Counters start at a random value and move by random steps, so a counter that was
    evicted and re-created never lands on a generation an old entry was stored under.
    """

    def __init__(self, cache: Any, *, namespace: str = "loom") -> None:
        self.cache = cache
        self.namespace = namespace

    def _key(self, dependency: str) -> str:
        return f"{self.namespace}:gen:{dependency}"

    async def _read(self, keys: list[str]) -> list[int | None]:
        values = await self.cache.multi_get(keys, loads_fn=parse_token)
        return [parse_token(v) for v in values]

    async def generations(self, dependencies: Sequence[str]) -> tuple[int, ...]:
        keys = [self._key(d) for d in dependencies]
        values = await self._read(keys)
        if any(v is None for v in values):
            for key, value in zip(keys, values, strict=True):
                if value is None:
                    with contextlib.suppress(ValueError):  # created meanwhile by another reader
                        await self.cache.add(key, str(new_generation()), dumps_fn=str)
            values = await self._read(keys)
        missing = [d for d, v in zip(dependencies, values, strict=True) if v is None]
        if missing:
            raise RuntimeError(f"generation counters {missing} could not be created")
        return tuple(v for v in values if v is not None)

    async def generation(self, dependency: str) -> int:
        """The current generation of one dependency."""
        (value,) = await self.generations((dependency,))
        return value

    async def bump(self, dependencies: Iterable[str]) -> None:
        for dependency in sorted(set(dependencies)):
            await self.cache.increment(self._key(dependency), next_step())

    def __repr__(self) -> str:
        return f"GenerationalDependencyResolver({self.cache!r}, namespace={self.namespace!r})"
