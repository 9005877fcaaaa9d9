"""The embedded in-process backend: dispatch, run, callbacks, retries, durability.

Each test runs on SQLite and PostgreSQL; every assertion reads the database (the
product rows and the ``loom_jobs`` records), not just return values.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from job_support import (
    ATTEMPTS,
    COMPONENTS,
    SEEN,
    BrokenCallback,
    DispatchTagUseCase,
    RecordingCallback,
    SummaryJob,
    TagProductJob,
    TraceJob,
    add_product,
    job_config,
    product,
    started_runtime,
)

from loom.bootstrap import build_runtime
from loom.core.errors import RuleViolation
from loom.core.job.backends import InProcessBackend
from loom.core.job.service import JobService
from loom.core.observability.context import trace_scope
from loom.core.repository.sqlalchemy import metadata
from loom.core.repository.sqlalchemy._jobs import jobs_table
from loom.core.runtime import Components, Runtime


@pytest.fixture(autouse=True)
def _reset() -> None:
    ATTEMPTS.clear()
    SEEN.clear()


async def job_rows(runtime: Runtime) -> list[dict[str, Any]]:
    """The raw ``loom_jobs`` rows, read on a connection of their own."""
    table = jobs_table(metadata)
    async with runtime.database.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = await conn.execute(sa.select(table).order_by(table.c.created_at))
        return [dict(r._mapping) for r in rows]


async def test_default_backend_is_in_process_with_sql_records(db_url: str) -> None:
    async with started_runtime(db_url) as runtime:
        assert isinstance(runtime.job_service.backend, InProcessBackend)
        assert "SQLAlchemyJobStore" in repr(runtime.job_service.store)


async def test_dispatched_job_commits_its_writes_and_runs_its_success_callback(
    db_url: str,
) -> None:
    async with started_runtime(db_url) as runtime:
        pid = await add_product(runtime)
        job_id = await runtime.execute(
            DispatchTagUseCase, params={"product_id": pid}, payload={"tag": "sale"}
        )
        record = await runtime.job_service.wait(job_id)
        assert (record.state, record.attempts, record.queue) == ("succeeded", 1, "tagging")
        assert record.result == "home-sale"
        assert record.started_at is not None and record.finished_at is not None
        # the use case's own write, the job's write and the callback's write all committed
        stored = await product(runtime, pid)
        assert (stored.name, stored.category) == ("renamed", "home-sale-notified")
        (row,) = await job_rows(runtime)
        assert row["state"] == "succeeded" and row["params"] == {"product_id": pid}


async def test_rolled_back_use_case_dispatches_nothing(db_url: str) -> None:
    async with started_runtime(db_url) as runtime:
        pid = await add_product(runtime)
        with pytest.raises(RuleViolation):
            await runtime.execute(
                DispatchTagUseCase,
                params={"product_id": pid},
                payload={"tag": "sale", "explode": True},
            )
        await runtime.job_service.backend.drain()  # type: ignore[attr-defined]
        assert await job_rows(runtime) == []
        assert ATTEMPTS[pid] == 0
        stored = await product(runtime, pid)
        assert (stored.name, stored.category) == ("lamp", "home")


async def test_failing_attempts_roll_back_and_are_retried_until_success(db_url: str) -> None:
    async with started_runtime(db_url) as runtime:
        pid = await add_product(runtime)
        job_id = await runtime.execute(
            DispatchTagUseCase,
            params={"product_id": pid},
            payload={"tag": "x", "fail_times": 2},
        )
        record = await runtime.job_service.wait(job_id)
        assert (record.state, record.attempts, record.max_attempts) == ("succeeded", 3, 3)
        assert record.error is None
        # two failed attempts wrote "-x" too, but only the successful one committed
        assert (await product(runtime, pid)).category == "home-x-notified"


async def test_job_failing_every_attempt_ends_failed_and_runs_the_failure_callback(
    db_url: str,
) -> None:
    async with started_runtime(db_url) as runtime:
        pid = await add_product(runtime)
        job_id = await runtime.execute(
            DispatchTagUseCase,
            params={"product_id": pid},
            payload={"tag": "x", "fail_times": 99},
        )
        record = await runtime.job_service.wait(job_id)
        assert (record.state, record.attempts) == ("failed", 3)  # 1 + retries: 2
        assert (record.error_type, record.error) == ("RuntimeError", "attempt 3 failed")
        assert ATTEMPTS[pid] == 3
        assert (await product(runtime, pid)).category == "home-failed"


async def test_sync_callbacks_get_job_id_result_error_and_the_payload_then_params(
    db_url: str,
) -> None:
    async with started_runtime(db_url, jobs={"TagProductJob": {"retries": 0}}) as runtime:
        pid = await add_product(runtime)
        jobs = runtime.job_service
        async with runtime.unit_of_work():
            ok = jobs.dispatch(
                TagProductJob,
                params={"product_id": pid, "extra": "ctx"},
                payload={"tag": "a"},
                on_success=RecordingCallback,
            )
        async with runtime.unit_of_work():
            bad = jobs.dispatch(
                TagProductJob,
                params={"product_id": pid},
                payload={"tag": "b", "fail_times": 5},
                on_failure=RecordingCallback,
            )
        assert (await jobs.wait(ok.job_id)).state == "succeeded"
        assert (await jobs.wait(bad.job_id)).state == "failed"
        by_kind = {entry[0]: entry for entry in SEEN}
        # The context is 0.2's: the payload's keys, then the params' keys not in it.
        assert by_kind["success"][1:4] == (
            ok.job_id,
            "home-a",
            {"tag": "a", "product_id": pid, "extra": "ctx"},
        )
        assert by_kind["failure"][1:5] == (
            bad.job_id,
            "RuntimeError",
            "attempt 2 failed",
            {"tag": "b", "fail_times": 5, "product_id": pid},
        )


async def test_a_failing_callback_keeps_the_job_result_and_records_the_error(
    db_url: str,
) -> None:
    async with started_runtime(db_url) as runtime:
        pid = await add_product(runtime)
        async with runtime.unit_of_work():
            handle = runtime.job_service.dispatch(
                TagProductJob,
                params={"product_id": pid},
                payload={"tag": "c"},
                on_success=BrokenCallback,
            )
        record = await runtime.job_service.wait(handle.job_id)
        assert (record.state, record.result) == ("succeeded", "home-c")
        assert record.error == "callback job_support:BrokenCallback failed: callback exploded"
        assert (await product(runtime, pid)).category == "home-c"


async def test_validation_errors_are_not_retried(db_url: str) -> None:
    async with started_runtime(db_url) as runtime:
        pid = await add_product(runtime)
        async with runtime.unit_of_work():
            handle = runtime.job_service.dispatch(
                TagProductJob, params={"product_id": pid}, payload={"tag": 5}
            )
        record = await runtime.job_service.wait(handle.job_id)
        assert (record.state, record.attempts, record.error_type) == (
            "failed",
            1,
            "ValidationError",
        )


async def test_trace_id_is_carried_into_the_job_and_its_callbacks(db_url: str) -> None:
    async with started_runtime(db_url) as runtime:
        with trace_scope("trace-abc"):
            async with runtime.unit_of_work():
                handle = runtime.job_service.dispatch(TraceJob, on_success=RecordingCallback)
        record = await runtime.job_service.wait(handle.job_id)
        assert (record.trace_id, record.result) == ("trace-abc", "trace-abc")
        assert SEEN[0] == ("job-trace", "trace-abc")
        assert SEEN[1][0] == "success" and SEEN[1][-1] == "trace-abc"


async def test_run_executes_inline_and_records_nothing(db_url: str) -> None:
    async with started_runtime(db_url) as runtime:
        pid = await add_product(runtime, stock=3)
        summary = await runtime.job_service.run(SummaryJob, params={"product_id": pid})
        assert summary == "lamp: 3"
        assert await job_rows(runtime) == []


async def test_pending_and_interrupted_jobs_are_picked_up_after_a_restart(db_url: str) -> None:
    config = job_config(db_url)
    first = build_runtime(config, components=Components(**COMPONENTS))
    await first.startup()
    pid, other = await add_product(first), await add_product(first)
    # Crash simulation: stop the worker, then commit a dispatch nobody runs, and a
    # record left "running" as if the process had died mid-job.
    await first.job_service.backend.stop()  # type: ignore[attr-defined]
    async with first.unit_of_work():
        queued = first.job_service.dispatch(
            TagProductJob, params={"product_id": pid}, payload={"tag": "q"}
        )
        interrupted = first.job_service.dispatch(
            TagProductJob, params={"product_id": other}, payload={"tag": "r"}
        )
    async with first.unit_of_work():
        assert await first.job_service.store.claim(interrupted.job_id) is not None
    states = {r["id"]: r["state"] for r in await job_rows(first)}
    assert states == {queued.job_id: "pending", interrupted.job_id: "running"}
    await first.shutdown()

    second = build_runtime(config, components=Components(**COMPONENTS))
    await second.startup()
    try:
        done = [await second.job_service.wait(h.job_id) for h in (queued, interrupted)]
        assert [(r.state, r.attempts) for r in done] == [("succeeded", 1), ("succeeded", 2)]
        assert (await product(second, pid)).category == "home-q"
        assert (await product(second, other)).category == "home-r"
    finally:
        await second.shutdown()


async def test_runtime_without_database_or_backend_runs_jobs_in_memory() -> None:
    from loom.testing import InMemoryRepository

    repos: dict[type, Any] = {}

    def factory(model: type, _container: Any) -> Any:
        return repos.setdefault(model, InMemoryRepository(model))

    runtime = Runtime(components=Components(**COMPONENTS), repository_factory=factory)
    runtime.prepare()
    await runtime.startup()
    try:
        created = await runtime.repo_for(COMPONENTS["models"][0]).create(
            {"name": "mem", "category": "c", "stock": 1}
        )
        job_id = await runtime.execute(
            DispatchTagUseCase, params={"product_id": created.id}, payload={"tag": "m"}
        )
        record = await runtime.job_service.wait(job_id)
        assert record.state == "succeeded"
        stored = await runtime.repo_for(COMPONENTS["models"][0]).get_by_id(created.id)
        assert stored.category == "c-m-notified"
    finally:
        await runtime.shutdown()


def test_job_service_is_injectable() -> None:
    runtime = build_runtime(
        job_config("sqlite+aiosqlite:///:memory:"), components=Components(**COMPONENTS)
    )
    assert isinstance(runtime.instance(DispatchTagUseCase)._jobs, JobService)
