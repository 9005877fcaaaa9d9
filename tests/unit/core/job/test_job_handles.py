"""Handles, groups, dispatch options and callback context, on every in-process way of
running jobs: the embedded backend (SQLite and PostgreSQL), ``InlineJobService`` and
Celery's eager mode. Records are read back from the job store each time."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import pytest
from job_support import (
    COMPONENTS,
    SEEN,
    RecordingCallback,
    TagProductJob,
    UjProduct,
    add_product,
    job_config,
)

from loom.bootstrap import build_runtime
from loom.core.command import Command
from loom.core.job import (
    InlineJobService,
    Job,
    JobFailedError,
    JobGroup,
    JobHandle,
    JobService,
    JobTimeoutError,
    NullJobCallback,
)
from loom.core.runtime import Components, Runtime
from loom.core.use_case import Input
from loom.core.use_case.use_case import UseCase


class NumberCommand(Command, frozen=True):
    n: int
    fail: bool = False


class DoubleJob(Job[int]):
    __queue__ = "math"

    async def execute(self, cmd: NumberCommand = Input()) -> int:
        if cmd.fail:
            raise ValueError(f"cannot double {cmd.n}")
        return cmd.n * 2


class SlowJob(Job[str]):
    async def execute(self) -> str:
        await asyncio.sleep(0.5)
        return "slow"


class DoubleUseCase(UseCase[UjProduct, str]):
    """Dispatches inside its transaction: an inline job runs once it commits."""

    def __init__(self, jobs: JobService) -> None:
        self._jobs = jobs

    async def execute(self, cmd: NumberCommand = Input()) -> str:
        handle = self._jobs.dispatch(
            DoubleJob,
            params={"source": "use-case"},
            payload={"n": cmd.n, "fail": cmd.fail},
            on_success=RecordingCallback,
            on_failure=RecordingCallback,
        )
        return handle.job_id


def _components() -> Components:
    return Components(
        models=COMPONENTS["models"],
        use_cases=[*COMPONENTS["use_cases"], DoubleUseCase],
        jobs=[*COMPONENTS["jobs"], DoubleJob, SlowJob],
        callbacks=[*COMPONENTS["callbacks"], NullJobCallback],
    )


@pytest.fixture(autouse=True)
def _reset() -> None:
    SEEN.clear()


async def _runtime(db_url: str, **extra: Any) -> Runtime:
    runtime = build_runtime(job_config(db_url, **extra), components=_components())
    await runtime.startup()
    return runtime


# -- the embedded backend ----------------------------------------------------------------


async def test_handle_waits_for_the_result_and_knows_when_it_was_dispatched(
    db_url: str,
) -> None:
    runtime = await _runtime(db_url)
    try:
        before = dt.datetime.now(dt.UTC)
        async with runtime.unit_of_work():
            handle = runtime.job_service.dispatch(DoubleJob, payload={"n": 21})
        assert isinstance(handle, JobHandle)
        assert handle.queue == "math"
        assert before <= handle.dispatched_at <= dt.datetime.now(dt.UTC)
        assert await handle.wait_async(timeout=10) == 42
        # Once finished, the blocking form answers at once, even on the loop.
        assert handle.wait() == 42
        record = await runtime.job_service.status(handle.job_id)
        assert record is not None and (record.state, record.result) == ("succeeded", 42)
    finally:
        await runtime.shutdown()


async def test_handle_of_a_failed_job_raises_job_failed_error(db_url: str) -> None:
    runtime = await _runtime(db_url)
    try:
        async with runtime.unit_of_work():
            handle = runtime.job_service.dispatch(DoubleJob, payload={"n": 1, "fail": True})
        with pytest.raises(JobFailedError) as caught:
            await handle.wait_async(timeout=10)
        assert caught.value.job_id == handle.job_id
        assert isinstance(caught.value.cause, ValueError)
        assert "cannot double 1" in str(caught.value)
    finally:
        await runtime.shutdown()


async def test_waiting_too_short_raises_job_timeout_error_and_the_job_still_finishes(
    db_url: str,
) -> None:
    runtime = await _runtime(db_url)
    try:
        async with runtime.unit_of_work():
            handle = runtime.job_service.dispatch(SlowJob)
        with pytest.raises(JobTimeoutError) as caught:
            await handle.wait_async(timeout=0.05)
        assert (caught.value.job_id, caught.value.timeout) == (handle.job_id, 0.05)
        # Blocking the loop the job runs on would deadlock: refused with a hint.
        with pytest.raises(RuntimeError, match="wait_async"):
            handle.wait()
        assert await handle.wait_async(timeout=10) == "slow"
    finally:
        await runtime.shutdown()


async def test_dispatch_parallel_returns_a_group_whose_results_keep_dispatch_order(
    db_url: str,
) -> None:
    runtime = await _runtime(db_url)
    try:
        async with runtime.unit_of_work():
            group = runtime.job_service.dispatch_parallel(
                [(DoubleJob, {"n": 1}), (DoubleJob, {"n": 2}), (DoubleJob, {"n": 3})]
            )
        assert isinstance(group, JobGroup) and len(group) == 3
        assert await group.wait_all_async(timeout=10) == [2, 4, 6]
        assert group.wait_all() == [2, 4, 6]
        for job_id in group.job_ids:
            record = await runtime.job_service.status(job_id)
            assert record is not None and record.state == "succeeded"
        with pytest.raises(NotImplementedError):
            group.then(DoubleJob)
    finally:
        await runtime.shutdown()


async def test_a_failing_member_fails_the_group_wait(db_url: str) -> None:
    runtime = await _runtime(db_url)
    try:
        async with runtime.unit_of_work():
            group = runtime.job_service.dispatch_parallel(
                [(DoubleJob, {"n": 1}), (DoubleJob, {"n": 2, "fail": True})]
            )
        assert group.group_id is None  # no callbacks: no group record
        with pytest.raises(JobFailedError, match="cannot double 2"):
            await group.wait_all_async(timeout=10)
    finally:
        await runtime.shutdown()


async def test_group_success_callback_runs_once_with_every_result(db_url: str) -> None:
    runtime = await _runtime(db_url)
    try:
        jobs = runtime.job_service
        async with runtime.unit_of_work():
            group = jobs.dispatch_parallel(
                [(DoubleJob, {"n": 1}), (SlowJob, None), (DoubleJob, {"n": 3})],
                on_all_success=RecordingCallback,
                on_any_failure=RecordingCallback,
            )
        assert group.group_id is not None
        record = await jobs.wait(group.group_id, timeout=10)
        assert (record.state, record.result) == ("succeeded", [2, "slow", 6])
        assert [entry[:4] for entry in SEEN] == [
            ("success", group.group_id, [2, "slow", 6], {"job_ids": group.job_ids})
        ]
    finally:
        await runtime.shutdown()


async def test_group_failure_callback_runs_once_when_a_member_fails(db_url: str) -> None:
    runtime = await _runtime(db_url)
    try:
        jobs = runtime.job_service
        async with runtime.unit_of_work():
            group = jobs.dispatch_parallel(
                [(DoubleJob, {"n": 1, "fail": True}), (DoubleJob, {"n": 2, "fail": True})],
                on_all_success=RecordingCallback,
                on_any_failure=RecordingCallback,
            )
        assert group.group_id is not None
        record = await jobs.wait(group.group_id, timeout=10)
        await asyncio.gather(*(jobs.wait(job_id, timeout=10) for job_id in group.job_ids))
        assert (record.state, record.error_type) == ("failed", "ValueError")
        assert len(SEEN) == 1
        kind, group_id, exc_type, exc_msg, context, _trace = SEEN[0]
        assert (kind, group_id, exc_type) == ("failure", group.group_id, "ValueError")
        assert context["job_ids"] == group.job_ids
        assert context["failed_job_id"] in group.job_ids
        assert exc_msg == f"cannot double {group.job_ids.index(context['failed_job_id']) + 1}"
    finally:
        await runtime.shutdown()


async def test_a_group_left_unsettled_by_a_crash_is_settled_on_recovery(db_url: str) -> None:
    from loom.testing._jobs import JobCapture

    runtime = await _runtime(db_url)
    try:
        jobs = runtime.job_service
        backend = jobs.backend
        jobs.backend = JobCapture(backend)  # the members are recorded, never run
        async with runtime.unit_of_work():
            group = jobs.dispatch_parallel(
                [(DoubleJob, {"n": 1}), (DoubleJob, {"n": 2})], on_all_success=RecordingCallback
            )
        assert group.group_id is not None
        # The members finished, and the process died before settling the group.
        store = jobs.store
        async with runtime.unit_of_work():
            for job_id, result in zip(group.job_ids, [2, 4], strict=True):
                await store.claim(job_id)
                await store.finish(job_id, "succeeded", result=result)
        assert (await store.get(group.group_id)).state == "pending"  # type: ignore[union-attr]
        jobs.backend = backend
        await backend.start()  # what a restarted process does
        record = await jobs.wait(group.group_id, timeout=10)
        assert (record.state, record.result) == ("succeeded", [2, 4])
        assert [entry[:3] for entry in SEEN] == [("success", group.group_id, [2, 4])]
    finally:
        await runtime.shutdown()


async def test_a_group_dispatched_outside_a_transaction_is_recorded_then_run(
    db_url: str,
) -> None:
    runtime = await _runtime(db_url)
    try:
        group = runtime.job_service.dispatch_parallel(
            [(DoubleJob, {"n": 5}), (DoubleJob, {"n": 6})], on_all_success=RecordingCallback
        )
        assert group.group_id is not None
        assert await group.wait_all_async(timeout=10) == [10, 12]
        record = await runtime.job_service.wait(group.group_id, timeout=10)
        assert (record.state, record.result) == ("succeeded", [10, 12])
    finally:
        await runtime.shutdown()


async def test_a_rolled_back_group_leaves_no_record_and_runs_nothing(db_url: str) -> None:
    runtime = await _runtime(db_url)
    try:
        with pytest.raises(RuntimeError, match="rollback"):
            async with runtime.unit_of_work():
                group = runtime.job_service.dispatch_parallel(
                    [(DoubleJob, {"n": 1})], on_all_success=RecordingCallback
                )
                raise RuntimeError("rollback")
        await asyncio.sleep(0.2)
        assert group.group_id is not None
        assert await runtime.job_service.status(group.group_id) is None
        assert SEEN == []
    finally:
        await runtime.shutdown()


async def test_a_rolled_back_dispatch_never_runs(db_url: str) -> None:
    runtime = await _runtime(db_url)
    try:
        with pytest.raises(RuntimeError, match="rollback"):
            async with runtime.unit_of_work():
                handle = runtime.job_service.dispatch(DoubleJob, payload={"n": 5})
                raise RuntimeError("rollback")
        with pytest.raises(JobTimeoutError):
            await handle.wait_async(timeout=0.3)
        assert await runtime.job_service.status(handle.job_id) is None
    finally:
        await runtime.shutdown()


async def test_countdown_eta_and_priority_per_dispatch(db_url: str) -> None:
    runtime = await _runtime(db_url)
    try:
        jobs = runtime.job_service
        started = time.monotonic()
        async with runtime.unit_of_work():
            later = jobs.dispatch(DoubleJob, payload={"n": 1}, countdown=0.4, priority=7)
            at = jobs.dispatch(
                DoubleJob,
                payload={"n": 2},
                eta=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=0.4),
                queue="other",
            )
            now = jobs.dispatch(DoubleJob, payload={"n": 3})
        assert await now.wait_async(timeout=10) == 6
        assert time.monotonic() - started < 0.4
        assert await later.wait_async(timeout=10) == 2
        assert await at.wait_async(timeout=10) == 4
        assert time.monotonic() - started >= 0.4
        first = await jobs.status(later.job_id)
        second = await jobs.status(at.job_id)
        assert first is not None and second is not None
        assert (first.priority, first.countdown, first.queue) == (7, 0.4, "math")
        assert second.queue == at.queue == "other"
        assert first.started_at is not None and first.created_at is not None
        assert first.started_at - first.created_at >= dt.timedelta(seconds=0.35)
        with pytest.raises(TypeError, match="countdown= or eta="):
            jobs.dispatch(DoubleJob, countdown=1, eta=dt.datetime.now(dt.UTC))
    finally:
        await runtime.shutdown()


async def test_callbacks_get_the_payload_keys_then_the_params_not_in_it(db_url: str) -> None:
    runtime = await _runtime(db_url)
    try:
        pid = await add_product(runtime)
        async with runtime.unit_of_work():
            handle = runtime.job_service.dispatch(
                TagProductJob,
                params={"product_id": pid, "tag": "from-params"},
                payload={"tag": "from-payload"},
                on_success=RecordingCallback,
            )
        assert await handle.wait_async(timeout=10) == "home-from-payload"
        kind, job_id, result, context, _trace = SEEN[-1]
        assert (kind, job_id, result) == ("success", handle.job_id, "home-from-payload")
        assert context == {"tag": "from-payload", "product_id": pid}
        assert list(context) == ["tag", "product_id"]
    finally:
        await runtime.shutdown()


async def test_null_job_callback_does_nothing_and_the_job_succeeds(db_url: str) -> None:
    runtime = await _runtime(db_url)
    try:
        async with runtime.unit_of_work():
            handle = runtime.job_service.dispatch(
                DoubleJob, payload={"n": 4}, on_success=NullJobCallback
            )
        assert await handle.wait_async(timeout=10) == 8
        record = await runtime.job_service.status(handle.job_id)
        assert record is not None and (record.state, record.error) == ("succeeded", None)
    finally:
        await runtime.shutdown()


# -- InlineJobService ----------------------------------------------------------------------


async def test_inline_service_runs_the_job_and_callback_before_the_commit_returns(
    tmp_path: Any,
) -> None:
    runtime = build_runtime(
        job_config(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}"), components=_components()
    )
    await runtime.startup()
    try:
        inline = InlineJobService(runtime)
        async with runtime.unit_of_work():
            ok = inline.dispatch(
                DoubleJob, params={"k": 1}, payload={"n": 5}, on_success=RecordingCallback
            )
            assert SEEN == []  # nothing before the commit
        # The commit ran the job and its callback: the result is there, no waiting.
        assert ok.wait() == 10
        assert SEEN[-1][:4] == ("success", ok.job_id, 10, {"n": 5, "k": 1})
        async with runtime.unit_of_work():
            bad = inline.dispatch(
                DoubleJob, payload={"n": 6, "fail": True}, on_failure=RecordingCallback
            )
        # The job's error reached its callback and its handle, not the dispatcher.
        assert SEEN[-1][:4] == ("failure", bad.job_id, "ValueError", "cannot double 6")
        with pytest.raises(JobFailedError):
            bad.wait()
        record = await inline.status(bad.job_id)
        assert record is not None and record.state == "failed"
        # A dispatch that is rolled back runs nothing.
        with pytest.raises(RuntimeError):
            async with runtime.unit_of_work():
                gone = inline.dispatch(DoubleJob, payload={"n": 7})
                raise RuntimeError("rollback")
        assert await inline.status(gone.job_id) is None
        SEEN.clear()
        async with runtime.unit_of_work():
            group = inline.dispatch_parallel(
                [(DoubleJob, {"n": 1}), (DoubleJob, {"n": 2})], on_all_success=RecordingCallback
            )
        # Members and the group callback all ran by the time the commit returned.
        assert group.wait_all() == [2, 4]
        assert [entry[:3] for entry in SEEN] == [("success", group.group_id, [2, 4])]
    finally:
        await runtime.shutdown()


# -- Celery, eager and the publish arguments -----------------------------------------------


async def test_celery_eager_handles_settle_in_process(tmp_path: Any) -> None:
    cfg = job_config(
        f"sqlite+aiosqlite:///{tmp_path / 'eager.db'}", celery={"task_always_eager": True}
    )
    runtime = build_runtime(cfg, components=_components())
    await runtime.startup()
    try:
        job_id = await runtime.execute(DoubleUseCase, payload={"n": 8})
        kind, seen_id, result, context, _ = SEEN[-1]
        assert (kind, seen_id, result) == ("success", job_id, 16)
        assert context == {"n": 8, "fail": False, "source": "use-case"}
        async with runtime.unit_of_work():
            handle = runtime.job_service.dispatch(DoubleJob, payload={"n": 9})
        assert handle.wait() == 18
    finally:
        await runtime.shutdown()


def test_celery_publish_passes_countdown_eta_priority_and_queue(tmp_path: Any) -> None:
    from loom.celery.backend import CeleryBackend

    cfg = job_config(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", celery={"broker_url": "memory://"})
    runtime = build_runtime(cfg, components=_components())
    backend = runtime.job_service.backend
    assert isinstance(backend, CeleryBackend)
    sent: list[dict[str, Any]] = []
    task = backend.task_for("DoubleJob")
    task.apply_async = lambda **kw: sent.append(kw)
    service = runtime.job_service
    eta = dt.datetime(2030, 1, 2, 3, 4, 5)  # naive: read as UTC
    backend._send(service.envelope(DoubleJob, payload={"n": 1}, countdown=30, priority=3))
    backend._send(service.envelope(DoubleJob, payload={"n": 1}, eta=eta, queue="q2"))
    backend._send(service.envelope(DoubleJob, payload={"n": 1}))
    assert (sent[0]["countdown"], sent[0]["priority"], sent[0]["queue"]) == (30, 3, "math")
    assert "eta" not in sent[0]
    assert sent[1]["eta"] == eta.replace(tzinfo=dt.UTC) and "countdown" not in sent[1]
    assert sent[1]["queue"] == "q2"
    assert (sent[2]["countdown"], sent[2]["priority"]) == (None, 0)  # Job.__priority__ = 0


def test_celery_handles_wait_through_the_result_backend(tmp_path: Any) -> None:
    cfg = job_config(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", celery={"broker_url": "memory://"})
    runtime = build_runtime(cfg, components=_components())
    service = runtime.job_service
    handle = service._handle(service.envelope(DoubleJob, payload={"n": 1}))
    with pytest.raises(RuntimeError, match="result_backend"):
        handle.wait(timeout=0.1)
