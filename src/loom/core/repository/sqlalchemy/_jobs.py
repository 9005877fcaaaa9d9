"""The ``loom_jobs`` table: job outbox and status on the application's database.

Every statement goes through the database's statement runner (``Database.runner``),
i.e. the active unit of work's when there is one: the record of a job dispatched by a use case is
inserted in the use case's own transaction (the transactional outbox), and a job's
final state commits together with its callback's writes.

The table joins the database's metadata when the store is created, so
``database.create_tables`` creates it; with migrations, add it to them (it is in
``loom.core.repository.sqlalchemy.metadata`` once this module is imported).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from loom.core.job.service import JobEnvelope
from loom.core.job.store import JobRecord, JobState, jsonable, utcnow
from loom.core.repository.sqlalchemy._database import Database
from loom.core.repository.sqlalchemy._table import UTCDateTime

__all__ = ["JOBS_TABLE", "SQLAlchemyJobStore", "jobs_table"]

JOBS_TABLE = "loom_jobs"

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def jobs_table(metadata: sa.MetaData) -> sa.Table:
    """``loom_jobs`` in ``metadata`` (defined once per metadata)."""
    existing = metadata.tables.get(JOBS_TABLE)
    if existing is not None:
        return existing
    return sa.Table(
        JOBS_TABLE,
        metadata,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("job", sa.String(200), nullable=False),
        sa.Column("queue", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("max_attempts", sa.Integer, nullable=False, default=1),
        sa.Column("params", _JSON, nullable=False),
        sa.Column("payload", _JSON, nullable=True),
        sa.Column("callbacks", _JSON, nullable=False),
        sa.Column("options", _JSON, nullable=False),
        sa.Column("result", _JSON, nullable=True),
        sa.Column("error_type", sa.String(200), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("trace_id", sa.String(128), nullable=True),
        sa.Column("enqueued", sa.Boolean, nullable=False, default=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=True),
        sa.Column("finished_at", UTCDateTime, nullable=True),
        sa.Column("available_at", UTCDateTime, nullable=True),
        sa.Index(f"ix_{JOBS_TABLE}_outbox", "enqueued", "state", "created_at"),
    )


class SQLAlchemyJobStore:
    """:class:`~loom.core.job.store.JobStore` on a :class:`Database`."""

    lease: float | None = None
    """Seconds a claim holds a running job (kept in ``available_at``), or None for no
    lease. The in-process backend sets it (10 s) and renews the lease of the jobs it
    runs; another process then takes a running job over only once its lease expired.
    Without a lease (Celery, whose broker redelivers a dead worker's message) a
    takeover is unconditional."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.table = jobs_table(database.metadata)

    def __repr__(self) -> str:
        return f"SQLAlchemyJobStore({self.database.dialect})"

    # -- conversions -------------------------------------------------------------------

    @staticmethod
    def _row(record: JobRecord) -> dict[str, Any]:
        return {
            "id": record.id,
            "job": record.job,
            "queue": record.queue,
            "state": record.state,
            "attempts": record.attempts,
            "max_attempts": record.max_attempts,
            "params": record.params,
            "payload": record.payload,
            "callbacks": {"on_success": record.on_success, "on_failure": record.on_failure},
            "options": {
                "countdown": record.countdown,
                "timeout": record.timeout,
                "priority": record.priority,
                "headers": record.headers,
            },
            "result": record.result,
            "error_type": record.error_type,
            "error": record.error,
            "trace_id": record.trace_id,
            "enqueued": record.enqueued,
            "created_at": record.created_at,
            "started_at": record.started_at,
            "finished_at": record.finished_at,
            "available_at": record.available_at,
        }

    @staticmethod
    def _record(row: Any) -> JobRecord:
        m = row._mapping
        callbacks = m["callbacks"] or {}
        options = m["options"] or {}
        return JobRecord(
            id=m["id"],
            job=m["job"],
            queue=m["queue"],
            state=m["state"],
            attempts=m["attempts"],
            max_attempts=m["max_attempts"],
            params=m["params"] or {},
            payload=m["payload"],
            on_success=callbacks.get("on_success"),
            on_failure=callbacks.get("on_failure"),
            countdown=options.get("countdown") or 0,
            timeout=options.get("timeout"),
            priority=options.get("priority"),
            headers=options.get("headers") or {},
            result=m["result"],
            error_type=m["error_type"],
            error=m["error"],
            trace_id=m["trace_id"],
            enqueued=bool(m["enqueued"]),
            created_at=m["created_at"],
            started_at=m["started_at"],
            finished_at=m["finished_at"],
            available_at=m["available_at"],
        )

    # -- JobStore ----------------------------------------------------------------------

    async def add(self, envelope: JobEnvelope) -> None:
        row = self._row(JobRecord.from_envelope(envelope))
        async with self.database.runner() as run:
            await run.execute(sa.insert(self.table).values(row))

    async def get(self, job_id: str) -> JobRecord | None:
        t = self.table
        async with self.database.runner() as run:
            row = await run.fetchrow(sa.select(t).where(t.c.id == job_id))
        return self._record(row) if row is not None else None

    async def claim(self, job_id: str, *, allow_running: bool = False) -> JobRecord | None:
        """The record, now ``running`` (under a lease of :attr:`lease` seconds when
        set), or None when it is not to be run here.

        One atomic UPDATE, so of several processes claiming one job exactly one gets
        it. ``allow_running`` takes over a ``running`` record, once its lease expired
        when there is one: its runner is dead (a live one renews it, :meth:`renew`).
        """
        t = self.table
        now = utcnow()
        lease = self.lease
        claimable = t.c.state == "pending"
        values: dict[str, Any] = {"state": "running", "attempts": t.c.attempts + 1}
        values["started_at"] = now
        if allow_running:
            running = t.c.state == "running"
            if lease is not None:
                expired = sa.or_(t.c.available_at.is_(None), t.c.available_at <= now)
                running = sa.and_(running, expired)
            claimable = sa.or_(claimable, running)
        if lease is not None:
            values["available_at"] = now + dt.timedelta(seconds=lease)
        stmt = sa.update(t).where(t.c.id == job_id, claimable).values(values).returning(*t.c)
        async with self.database.runner() as run:
            row = await run.fetchrow(stmt)
        return self._record(row) if row is not None else None

    async def renew(self, job_id: str) -> None:
        """Extend the lease of a job this process is running."""
        t = self.table
        until = utcnow() + dt.timedelta(seconds=self.lease or 0.0)
        stmt = sa.update(t).where(t.c.id == job_id, t.c.state == "running")
        async with self.database.runner() as run:
            await run.execute(stmt.values(available_at=until))

    async def release(self, job_id: str) -> None:
        """Back to ``pending`` (the attempt not counted): a job this process was
        running when it had to stop, for any process to run again."""
        t = self.table
        stmt = sa.update(t).where(t.c.id == job_id, t.c.state == "running")
        values = {"state": "pending", "attempts": t.c.attempts - 1, "available_at": None}
        async with self.database.runner() as run:
            await run.execute(stmt.values(**values))

    async def _update(self, job_id: str, **values: Any) -> None:
        t = self.table
        async with self.database.runner() as run:
            await run.execute(sa.update(t).where(t.c.id == job_id).values(**values))

    async def retry_later(
        self, job_id: str, error: tuple[str, str], available_at: dt.datetime
    ) -> None:
        await self._update(
            job_id,
            state="pending",
            error_type=error[0],
            error=error[1],
            available_at=available_at,
        )

    async def finish(
        self,
        job_id: str,
        state: JobState,
        *,
        result: Any = None,
        error: tuple[str, str] | None = None,
    ) -> None:
        values: dict[str, Any] = {
            "state": state,
            "result": jsonable(result),
            "finished_at": utcnow(),
        }
        if error is not None:
            values["error_type"], values["error"] = error
        elif state == "succeeded":
            values["error_type"] = values["error"] = None
        await self._update(job_id, **values)

    async def mark_enqueued(self, job_id: str) -> None:
        await self._update(job_id, enqueued=True)

    async def unenqueued(self, *, created_before: dt.datetime, limit: int = 100) -> list[JobRecord]:
        t = self.table
        stmt = (
            sa.select(t)
            .where(
                t.c.enqueued.is_(False),
                t.c.state == "pending",
                t.c.created_at <= created_before,
            )
            .order_by(t.c.created_at)
            .limit(limit)
        )
        async with self.database.runner() as run:
            rows = await run.fetch(stmt)
        return [self._record(r) for r in rows]

    async def unfinished(self, *, limit: int = 1000) -> list[JobRecord]:
        t = self.table
        stmt = (
            sa.select(t)
            .where(t.c.state.in_(("pending", "running")))
            .order_by(t.c.created_at)
            .limit(limit)
        )
        async with self.database.runner() as run:
            rows = await run.fetch(stmt)
        return [self._record(r) for r in rows]
