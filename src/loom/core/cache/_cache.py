"""``RepositoryCache``: cached reads that can never outlive a committed write.

Invalidation is by generation, not by deleting keys. Every table has a generation
token in the cache backend; the key of a cached read embeds the tokens of every
table the read depends on (the model's own, those of its profile's relations and
projections, and a global token). A write bumps the tokens of the tables it touched
*after its transaction commits* and *before it returns* (an after-commit hook of the
unit of work), so:

* a reader that starts after the write returned reads the new tokens, misses, and
  goes to the database, which already holds the commit;
* a reader that raced the write and stores an old value can only store it under the
  old tokens, which nobody asks for any more;
* a write that rolls back bumps nothing, and nothing it did was cached: inside a
  unit of work that has written, reads skip the cache altogether (they must see the
  uncommitted rows, which must not leak to anybody else).

A cached value is only stored when the read was the first statement of its
transaction (or ran on PostgreSQL, whose default isolation takes a fresh snapshot per
statement): a later statement of an older SQLite transaction may see a snapshot from
before the last bump, which must not be cached under the new tokens.

Tokens grow by random steps and start at random values, so a token that was evicted
and re-created does not come back to a value an old entry was stored under.

When the backend fails (Redis down, a timeout), the cache steps aside: reads go to
the database for ``retry_after`` seconds, and the bumps that could not be sent are
kept and sent first when the backend is tried again, before any cached value is
trusted. Nothing a client sees turns into an error because of the cache.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

from loom.core.model import all_models, model_info
from loom.core.model._fields import OnDelete
from loom.core.uow import UnitOfWork, current_unit_of_work

__all__ = [
    "ALL_TABLES",
    "CacheStats",
    "RepositoryCache",
    "new_generation",
    "next_step",
    "parse_token",
]

log = logging.getLogger("loom.cache")

ALL_TABLES = "*"
"""The global token: bumped by writes whose table is unknown (raw SQL)."""

_START_BITS = 52
_STEP_MAX = 1 << 20


def new_generation() -> int:
    """A fresh token: random, so a re-created counter does not revive old entries."""
    return secrets.randbits(_START_BITS)


def next_step() -> int:
    """How far a bump moves a token: random, for the same reason."""
    return secrets.randbelow(_STEP_MAX) + 1


def parse_token(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, bytes):
        value = value.decode("ascii")
    return int(value)


@dataclass(slots=True)
class CacheStats:
    """Counters, mostly for tests and dashboards."""

    hits: int = 0
    misses: int = 0
    stores: int = 0
    bypasses: int = 0
    errors: int = 0
    bumps: int = 0


class _Invalidation:
    """The after-commit hook of one unit of work: the tables it wrote, bumped at commit."""

    __slots__ = ("cache", "tables")

    def __init__(self, cache: RepositoryCache) -> None:
        self.cache = cache
        self.tables: set[str] = set()

    async def __call__(self) -> None:
        await self.cache.bump(self.tables)


class RepositoryCache:
    """Generation-keyed cache of repository reads on an aiocache backend.

    ``backend`` is an aiocache cache (``SimpleMemoryCache`` or ``RedisCache``) whose
    serializer is a :class:`~loom.core.cache.serializer.MsgspecSerializer`.
    """

    def __init__(
        self,
        backend: Any,
        *,
        default_ttl: float | None = 300.0,
        default_list_ttl: float | None = 60.0,
        namespace: str = "loom",
        retry_after: float = 5.0,
        resolver: Any = None,
    ) -> None:
        self.backend = backend
        self.resolver = resolver
        """A :class:`~loom.core.cache.DependencyResolver` keeping the generation tokens
        (the hand-wired 0.2 form); ``None`` keeps them in ``backend`` itself."""
        self.default_ttl = default_ttl or None
        self.default_list_ttl = default_list_ttl or None
        self.namespace = namespace
        self.retry_after = retry_after
        self.stats = CacheStats()
        self._down_until = 0.0
        self._pending: set[str] = set()
        self._watched: set[str] = {ALL_TABLES}
        self._cascades: dict[str, frozenset[str]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- keys ---------------------------------------------------------------------------

    def _token_key(self, table: str) -> str:
        return f"{self.namespace}:gen:{table}"

    def key(self, parts: Iterable[Any], tokens: Iterable[int]) -> str:
        """A value key: its parts, then the generation tokens it was read under."""
        return ":".join([self.namespace, *map(str, parts), ".".join(map(str, tokens))])

    # -- availability -------------------------------------------------------------------

    def _trip(self, exc: BaseException) -> None:
        self.stats.errors += 1
        if time.monotonic() >= self._down_until:
            log.warning(
                "cache backend unavailable, reading from the database for %.0fs: %s: %s",
                self.retry_after,
                type(exc).__name__,
                exc,
            )
        self._down_until = time.monotonic() + self.retry_after

    async def _ready(self) -> bool:
        """Whether cached values can be trusted now (pending bumps sent first)."""
        if time.monotonic() < self._down_until:
            return False
        if self._pending:
            pending = set(self._pending)
            if not await self._send_bumps(pending):
                return False
            self._pending -= pending
        return True

    # -- generation tokens ----------------------------------------------------------------

    async def tokens(self, tables: Iterable[str]) -> tuple[int, ...] | None:
        """The current tokens of ``tables`` (global first), or ``None`` to skip the cache."""
        if not await self._ready():
            self.stats.bypasses += 1
            return None
        if self.resolver is not None:
            try:
                found = tuple(await self.resolver.generations((ALL_TABLES, *tables)))
            except Exception as exc:
                self._trip(exc)
                self.stats.bypasses += 1
                return None
            return found
        keys = [self._token_key(t) for t in (ALL_TABLES, *tables)]
        try:
            values = await self.backend.multi_get(keys, loads_fn=parse_token)
            if any(v is None for v in values):
                for key, value in zip(keys, values, strict=True):
                    if value is None:
                        try:
                            start = new_generation()
                            await self.backend.add(key, str(start), dumps_fn=str)
                        except ValueError:  # somebody else created it first
                            pass
                values = await self.backend.multi_get(keys, loads_fn=parse_token)
        except Exception as exc:
            self._trip(exc)
            self.stats.bypasses += 1
            return None
        if any(v is None for v in values):
            self.stats.bypasses += 1
            return None
        return tuple(values)

    async def _send_bumps(self, tables: set[str]) -> bool:
        async def bump_one(table: str) -> None:
            step = next_step()
            await self.backend.increment(self._token_key(table), step)

        try:
            if self.resolver is not None:
                await self.resolver.bump(sorted(tables))
            else:
                await asyncio.gather(*(bump_one(t) for t in sorted(tables)))
        except Exception as exc:
            self._trip(exc)
            return False
        self.stats.bumps += len(tables)
        return True

    async def bump(self, tables: Iterable[str]) -> None:
        """Retire every cached read of ``tables``. Never raises: a failed bump is kept
        and retried before the cache is used again."""
        wanted = set(tables)
        if not wanted:
            return
        if time.monotonic() < self._down_until or not await self._send_bumps(wanted):
            self._pending |= wanted

    async def flush(self) -> bool:
        """Send the bumps that could not be sent yet; whether none is left."""
        return await self._ready()

    # -- writes ---------------------------------------------------------------------------

    def watch(self, tables: Iterable[str]) -> None:
        """Tables some cached read depends on; writes to other tables are ignored."""
        self._watched.update(tables)
        self._cascades.clear()

    def written_tables(self, tables: Iterable[str], *, delete: bool = False) -> set[str]:
        """``tables`` plus, for a delete, every table the database changes in cascade."""
        found = set(tables)
        if delete:
            for table in list(found):
                found |= self._cascade(table)
        if ALL_TABLES in found:
            return {ALL_TABLES}
        return found & self._watched

    def _cascade(self, table: str) -> frozenset[str]:
        cached = self._cascades.get(table)
        if cached is not None:
            return cached
        result: set[str] = set()
        todo = [table]
        while todo:
            parent = todo.pop()
            for model in all_models():
                try:
                    info = model_info(model)
                except Exception:  # a model that cannot be resolved changes nothing
                    continue
                if info.table in result:
                    continue
                for col in info.columns.values():
                    fk, action = col.decl.foreign_key, col.decl.on_delete
                    if (
                        fk
                        and fk.split(".", 1)[0] == parent
                        and action in (OnDelete.CASCADE, OnDelete.SET_NULL)
                    ):
                        result.add(info.table)
                        todo.append(info.table)
                        break
        frozen = frozenset(result)
        self._cascades[table] = frozen
        return frozen

    def _hook(self, uow: UnitOfWork, create: bool) -> _Invalidation | None:
        for hook in uow._after_commit or ():
            if isinstance(hook, _Invalidation) and hook.cache is self:
                return hook
        if not create:
            return None
        hook = _Invalidation(self)
        # First in line: later hooks (a job dispatched in-process) must already see
        # the new tokens.
        uow.after_commit(hook, first=True)
        return hook

    def _at_commit(self, tables: set[str]) -> bool:
        """Schedule the bump for the active unit of work's commit; False when none."""
        uow = current_unit_of_work()
        if uow is None:
            return False
        hook = self._hook(uow, create=True)
        assert hook is not None
        hook.tables |= tables
        return True

    def note_write(self, tables: Iterable[str], *, delete: bool = False) -> None:
        """Record a write (sync: called from database event hooks).

        Inside a unit of work the tables are bumped when it commits; outside one (a
        statement on a raw connection) the bump is sent in the background and, until
        it is, cached values are not trusted.
        """
        found = self.written_tables(tables, delete=delete)
        if not found or self._at_commit(found):
            return
        self._pending |= found
        try:
            task = asyncio.get_running_loop().create_task(self.flush())
        except RuntimeError:
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def after_write(self, tables: Iterable[str], *, delete: bool = False) -> None:
        """Record a write that has just returned: bump now, or at commit in a unit of work."""
        found = self.written_tables(tables, delete=delete)
        if found and not self._at_commit(found):
            await self.bump(found)

    # -- reads ----------------------------------------------------------------------------

    def usable(self) -> bool:
        """False inside a unit of work that has written: it must read its own rows."""
        uow = current_unit_of_work()
        if uow is None:
            return True
        hook = self._hook(uow, create=False)
        return hook is None or not hook.tables

    @staticmethod
    def may_store() -> bool:
        """Whether a value just read from the database may be cached (see module doc)."""
        uow = current_unit_of_work()
        if uow is None or not getattr(uow, "is_open", False):
            return True
        database = getattr(uow, "database", None)
        return getattr(database, "dialect", None) == "postgresql"

    async def get(self, key: str, loads: Any) -> Any:
        try:
            value = await self.backend.get(key, loads_fn=loads)
        except (msgspec.DecodeError, ValueError, TypeError) as exc:
            # An entry this version cannot decode is a miss, not an outage.
            log.debug("undecodable cache entry %s: %s", key, exc)
            value = None
        except Exception as exc:
            self._trip(exc)
            return None
        if value is None:
            self.stats.misses += 1
        else:
            self.stats.hits += 1
        return value

    async def set(self, key: str, value: Any, ttl: float | None) -> None:
        try:
            await self.backend.set(key, value, ttl=ttl)
        except Exception as exc:
            self._trip(exc)
            return
        self.stats.stores += 1

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        client = getattr(self.backend, "client", None)
        # redis-py 5 deprecates close(), which aiocache 0.12 still calls.
        close = getattr(client, "aclose", None) or getattr(self.backend, "close", None)
        if close is not None:
            try:
                await close()
            except Exception as exc:  # closing a dead connection is not worth an error
                log.debug("closing the cache backend failed: %s", exc)
