"""Storage of ``Idempotency-Key`` responses: the ``loom_idempotency`` table.

A key is claimed inside the unit of work of the request it protects, and its response
is stored in that same transaction. So the stored response and the rows the request
wrote commit together or not at all: a key is never marked done for a write that was
rolled back, and never left "in progress" by a crash. A concurrent request with the
same key blocks on the key's row until the first transaction ends (PostgreSQL: the
primary-key check of ``INSERT ... ON CONFLICT``; SQLite: the single writer lock), then
sees the committed response.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa

from loom.core.config.settings import AppSettings
from loom.core.idempotency import KEY_LENGTH, ROUTE_LENGTH, StoredResponse
from loom.core.repository.sqlalchemy._database import Database
from loom.core.repository.sqlalchemy._errors import translate
from loom.core.repository.sqlalchemy._table import UTCDateTime
from loom.core.repository.sqlalchemy._table import metadata as default_metadata

__all__ = [
    "IDEMPOTENCY_TABLE",
    "IdempotencyStore",
    "SQLIdempotencyStore",
    "StoredResponse",
    "idempotency_store",
    "idempotency_table",
]

log = logging.getLogger("loom.idempotency")

IDEMPOTENCY_TABLE = "loom_idempotency"


def idempotency_table(metadata: sa.MetaData) -> sa.Table:
    """The ``loom_idempotency`` table in ``metadata`` (created there on first use)."""
    existing = metadata.tables.get(IDEMPOTENCY_TABLE)
    if existing is not None:
        return existing
    return sa.Table(
        IDEMPOTENCY_TABLE,
        metadata,
        sa.Column("key", sa.String(KEY_LENGTH), primary_key=True),
        sa.Column("route", sa.String(ROUTE_LENGTH), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("content_type", sa.String(255), nullable=True),
        sa.Column("body", sa.LargeBinary, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False, index=True),
    )


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SQLIdempotencyStore:
    """:class:`~loom.core.idempotency.IdempotencyStore` on a :class:`Database`; call it
    inside ``database.begin()``."""

    def __init__(self, database: Database, *, ttl_seconds: float = 86400.0) -> None:
        self.database = database
        self.ttl = dt.timedelta(seconds=ttl_seconds)
        self.table = idempotency_table(database.metadata)
        self._insert = self._insert_ignoring_conflicts()

    def _insert_ignoring_conflicts(self) -> Callable[[dict[str, Any]], Any]:
        table = self.table
        if self.database.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return lambda values: (
                pg_insert(table)
                .values(values)
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(table.c.key)
            )
        if self.database.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return lambda values: (
                sqlite_insert(table)
                .values(values)
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(table.c.key)
            )
        return lambda values: sa.insert(table).values(values).returning(table.c.key)

    async def claim(self, key: str, route: str, fingerprint: str) -> StoredResponse | None:
        """Reserve ``key`` for this request: ``None`` when it is ours (run the request),
        else what the key was first used for. An expired key is taken over."""
        try:
            return await self._claim(key, route, fingerprint)
        except Exception as exc:
            raise translate(exc, self.database.metadata) from exc

    async def _claim(self, key: str, route: str, fingerprint: str) -> StoredResponse | None:
        table = self.table
        now = _utcnow()
        async with self.database.runner() as run:
            await run.execute(
                sa.delete(table).where(table.c.key == key, table.c.created_at < now - self.ttl)
            )
            values = {
                "key": key,
                "route": route,
                "fingerprint": fingerprint,
                "status": None,
                "content_type": None,
                "body": None,
                "created_at": now,
            }
            inserted = await run.fetchrow(self._insert(values))
            if inserted is not None:
                return None
            row = await run.fetchrow(
                sa.select(
                    table.c.route,
                    table.c.fingerprint,
                    table.c.status,
                    table.c.content_type,
                    table.c.body,
                ).where(table.c.key == key)
            )
        if row is None:  # pragma: no cover - deleted between the insert and the select
            return StoredResponse(route, "", None, None, b"")
        return StoredResponse(
            route=row.route,
            fingerprint=row.fingerprint,
            status=row.status,
            content_type=row.content_type,
            body=bytes(row.body or b""),
        )

    async def complete(self, key: str, status: int, content_type: str | None, body: bytes) -> None:
        """Store the response of the request that claimed ``key``."""
        table = self.table
        try:
            async with self.database.runner() as run:
                await run.execute(
                    sa.update(table)
                    .where(table.c.key == key)
                    .values(status=status, content_type=content_type, body=body)
                )
        except Exception as exc:
            raise translate(exc, self.database.metadata) from exc

    async def purge_expired(self) -> int:
        """Delete every expired key; returns how many."""
        table = self.table
        async with self.database.runner() as run:
            return await run.execute(
                sa.delete(table).where(table.c.created_at < _utcnow() - self.ttl)
            )

    def startup_hook(self) -> Callable[[], Awaitable[None]]:
        """Purge expired keys at start-up; a database that is down then must not stop the app."""

        async def purge() -> None:
            try:
                await self.purge_expired()
            except Exception as exc:
                log.warning("could not purge expired idempotency keys: %s", type(exc).__name__)

        return purge


IdempotencyStore = SQLIdempotencyStore
"""The name this store had before the core protocol existed."""


def idempotency_store(settings: AppSettings, database: Any) -> SQLIdempotencyStore | None:
    """The store of ``app.rest.idempotency`` on ``database`` (bootstrap's choice): the
    SQL store on a SQL database when enabled, else None (the header is not served)."""
    config = settings.rest.idempotency
    if not config.enabled or not isinstance(database, Database):
        return None
    return SQLIdempotencyStore(database, ttl_seconds=config.ttl_seconds)


# Declared with the framework's tables so ``create_all`` and Alembic autogenerate see it.
idempotency_table(default_metadata)
