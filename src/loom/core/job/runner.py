"""One job attempt, the same for every backend: claim, execute, retry or finish,
then run the callback.

Each step gets its own unit of work, in this order:

1. *claim* (short transaction): the record becomes ``running``, ``attempts + 1``;
   a finished record is skipped, so a redelivered message never runs a job twice
   after it succeeded.
2. *execute* (the job's transaction): the job's writes commit on success and roll
   back on failure.
3. *finish*: on success, the success callback and the ``succeeded`` state commit
   together; on a failure with attempts left the record goes back to ``pending``
   with a backoff; on the last failure, the failure callback and ``failed`` commit
   together. If the process dies between 2 and 3 the record is still ``running`` and
   the job runs again on redelivery or recovery: delivery is at-least-once, so jobs
   and callbacks should be idempotent.

A callback that raises rolls back its own writes; the job keeps its final state
and the callback's error is recorded on it (it is logged too).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import inspect
import logging
import time
from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from loom.core.errors import RuleViolation, ValidationError
from loom.core.job.callback import callback_context
from loom.core.job.envelope import GROUP_HEADER, GROUP_JOB, JobEnvelope
from loom.core.job.handle import JobFailedError, settle_job
from loom.core.job.host import JobExecutor, JobHost
from loom.core.job.store import JobRecord, JobStore, error_summary, utcnow
from loom.core.observability.context import restore_trace_headers
from loom.core.observability.tracing import job_span

__all__ = ["JobRunner", "Outcome", "RetryPolicy"]

log = logging.getLogger("loom.jobs")

#: Failures that another attempt cannot fix: the input itself is wrong.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (ValidationError, RuleViolation)


class Outcome(msgspec.Struct, kw_only=True):
    """What an attempt led to; backends schedule the retry themselves."""

    kind: Literal["succeeded", "failed", "retry", "skipped"]
    result: Any = None
    delay: float = 0.0
    error: tuple[str, str] | None = None


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Exponential backoff: ``backoff * 2 ** (attempt - 1)`` seconds, capped at ``max``."""

    backoff: float = 1.0
    max: float = 60.0

    def delay(self, attempt: int) -> float:
        if self.backoff <= 0:
            return 0.0
        return float(min(self.backoff * 2 ** max(attempt - 1, 0), self.max))


class JobRunner:
    """Runs attempts of recorded jobs for one application (its :class:`JobHost`);
    shared by all backends."""

    def __init__(self, host: JobHost, store: JobStore, executor: JobExecutor | None = None) -> None:
        self.host = host
        self.store = store
        # What runs a job's plan: the host, unless an InlineJobService was given an
        # executor of its own.
        self.executor: JobExecutor = executor if executor is not None else host
        self._policies: dict[str, RetryPolicy] = {}

    # -- settings ----------------------------------------------------------------------

    def retry_policy(self, job_name: str) -> RetryPolicy:
        """``jobs.<Job>.retry_backoff`` / ``retry_backoff_max``, else ``jobs.retry_backoff``
        / ``jobs.retry_backoff_max``, else the job's ``__retry_backoff__``, else 1s / 60s."""
        policy = self._policies.get(job_name)
        if policy is None:
            jobs = self.host.settings.jobs
            own = jobs.overrides(job_name)
            try:
                cls: Any = self.host.job_class(job_name)
            except LookupError:
                cls = None
            backoff = own.retry_backoff
            if backoff is None:
                backoff = jobs.retry_backoff
            if backoff is None:
                backoff = getattr(cls, "__retry_backoff__", 1.0)
            cap = own.retry_backoff_max
            policy = RetryPolicy(
                backoff=float(backoff), max=jobs.retry_backoff_max if cap is None else cap
            )
            self._policies[job_name] = policy
        return policy

    # -- one attempt -------------------------------------------------------------------

    async def attempt(self, envelope: JobEnvelope, *, allow_running: bool = False) -> Outcome:
        """Run one attempt of the recorded job ``envelope.job_id``.

        ``allow_running`` takes over a record left ``running`` by a dead worker (a
        redelivered message, a crash recovery); without it such a record is skipped,
        as someone else is running it.
        """
        with restore_trace_headers(envelope.headers or _trace_headers(envelope)):
            if envelope.job == GROUP_JOB:  # a group's record, recovered after a crash
                return await self.settle_group(envelope.job_id, allow_running=allow_running)
            record = await self._claim(envelope, allow_running)
            if record is None:
                # Finished already, yet delivered again: the process that finished it
                # may have died before settling its group.
                await self._member_done(envelope.headers)
                return Outcome(kind="skipped")
            if record.params == envelope.params and record.payload == envelope.payload:
                # Same data; the message keeps the dispatcher's key order, which a
                # JSONB column does not, and callbacks see it in their **context.
                record.params, record.payload = envelope.params, envelope.payload
            return await self._run(record)

    async def _claim(self, envelope: JobEnvelope, allow_running: bool) -> JobRecord | None:
        async with self.host.unit_of_work():
            record = await self.store.claim(envelope.job_id, allow_running=allow_running)
            if record is None and await self.store.get(envelope.job_id) is None:
                # Published without a record (sent by hand, or the record was pruned):
                # adopt the message so its status can still be followed.
                await self.store.add(envelope)
                record = await self.store.claim(envelope.job_id)
        return record

    async def _run(self, record: JobRecord) -> Outcome:
        name, queue = record.job, record.queue
        self._event(name, queue, "started")
        started = time.perf_counter()
        try:
            job = self.host.job_class(name)
            with job_span(name, queue, record.id):
                run = self.executor.execute(job, params=record.params, payload=record.payload)
                result = await (asyncio.wait_for(run, record.timeout) if record.timeout else run)
        except Exception as exc:
            elapsed = time.perf_counter() - started
            return await self._failed(record, exc, elapsed)
        elapsed = time.perf_counter() - started
        await self._finish(record, "succeeded", result=result)
        self._event(name, queue, "succeeded", elapsed)
        settle_job(record.id, result=result)
        await self._member_done(record.headers)
        return Outcome(kind="succeeded", result=result)

    async def _failed(self, record: JobRecord, exc: Exception, elapsed: float) -> Outcome:
        error = error_summary(exc)
        retryable = not isinstance(exc, PERMANENT_ERRORS)
        if retryable and record.attempts < record.max_attempts:
            delay = self.retry_policy(record.job).delay(record.attempts)
            log.warning(
                "job %s %s attempt %d/%d failed (%s: %s), retrying in %.2fs",
                record.job,
                record.id,
                record.attempts,
                record.max_attempts,
                *error,
                delay,
            )
            async with self.host.unit_of_work():
                await self.store.retry_later(
                    record.id, error, utcnow() + dt.timedelta(seconds=delay)
                )
            self._event(record.job, record.queue, "retried", elapsed)
            return Outcome(kind="retry", delay=delay, error=error)
        log.error(
            "job %s %s failed after %d attempt(s): %s: %s",
            record.job,
            record.id,
            record.attempts,
            *error,
        )
        await self._finish(record, "failed", error=error)
        self._event(record.job, record.queue, "failed", elapsed)
        settle_job(record.id, error=JobFailedError(record.id, cause=exc))
        await self._member_done(record.headers)
        return Outcome(kind="failed", error=error)

    async def _finish(
        self,
        record: JobRecord,
        state: Literal["succeeded", "failed"],
        *,
        result: Any = None,
        error: tuple[str, str] | None = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        """Callback and final state in one transaction; a failing callback is recorded."""
        name = record.on_success if state == "succeeded" else record.on_failure
        try:
            async with self.host.unit_of_work():
                if name is not None:
                    await self._callback(name, state, record, result, error, context)
                await self.store.finish(record.id, state, result=result, error=error)
        except Exception as exc:
            log.exception("callback %s of job %s %s failed", name, record.job, record.id)
            kind, message = error_summary(exc)
            note = (kind, f"callback {name} failed: {message}")
            async with self.host.unit_of_work():
                await self.store.finish(record.id, state, result=result, error=error or note)

    async def _callback(
        self,
        name: str,
        state: str,
        record: JobRecord,
        result: Any,
        error: tuple[str, str] | None,
        context: dict[str, Any] | None = None,
    ) -> None:
        instance = self.host.instance(self.callback_class(name))
        if context is None:
            context = callback_context(record.params, record.payload)
        if state == "succeeded":
            outcome = instance.on_success(record.id, result, **context)
        else:
            exc_type, exc_msg = error or ("Exception", "")
            outcome = instance.on_failure(record.id, exc_type, exc_msg, **context)
        if inspect.isawaitable(outcome):
            await outcome

    # -- groups ------------------------------------------------------------------------

    async def _member_done(self, headers: Mapping[str, str] | None) -> None:
        """After a member's final state committed: settle its group if it was the last
        (or the first to fail). Never fails the member itself."""
        group_id = headers.get(GROUP_HEADER) if headers else None
        if not group_id:
            return
        try:
            await self.settle_group(group_id)
        except Exception:
            log.exception("job group %s could not be settled", group_id)

    async def settle_group(self, group_id: str, *, allow_running: bool = False) -> Outcome:
        """Run the group's callback once every member succeeded, or once one failed.

        Each member checks after its own final commit, so the member that finishes
        last always sees the others finished; when two see it at once, the atomic
        claim of the group's record lets only one of them run the callback.
        """
        async with self.host.unit_of_work():
            group = await self.store.get(group_id)
            if group is None or group.finished:
                return Outcome(kind="skipped")
            job_ids = [str(i) for i in group.params.get("job_ids") or ()]
            members = [await self.store.get(job_id) for job_id in job_ids]
        failed = next((m for m in members if m is not None and m.state == "failed"), None)
        if failed is None and not all(m is not None and m.state == "succeeded" for m in members):
            return Outcome(kind="skipped")
        async with self.host.unit_of_work():
            claimed = await self.store.claim(group_id, allow_running=allow_running)
        if claimed is None:
            return Outcome(kind="skipped")  # another process is settling it
        if failed is None:
            results = [m.result for m in members if m is not None]
            await self._finish(claimed, "succeeded", result=results, context={"job_ids": job_ids})
            return Outcome(kind="succeeded", result=results)
        error = (failed.error_type or "Exception", failed.error or "")
        context = {"job_ids": job_ids, "failed_job_id": failed.id}
        await self._finish(claimed, "failed", error=error, context=context)
        return Outcome(kind="failed", error=error)

    def callback_class(self, name: str) -> type:
        """The callback registered under ``name`` (``module:qualname``), imported if needed."""
        module, _, qualname = name.rpartition(":")
        try:
            return self.host.callback_class(qualname or name)
        except LookupError:
            if not module:
                raise
        target: Any = importlib.import_module(module)
        for part in qualname.split("."):
            target = getattr(target, part)
        if not isinstance(target, type):
            raise LookupError(f"callback {name!r} is not a class")
        self.host.register_callback(target)
        return target

    def _event(self, job: str, queue: str, state: str, seconds: float | None = None) -> None:
        metrics = self.host.metrics
        if metrics is not None:
            metrics.job_event(job, queue, state, seconds)


def _trace_headers(envelope: JobEnvelope) -> dict[str, str]:
    return {"trace_id": envelope.trace_id} if envelope.trace_id else {}
