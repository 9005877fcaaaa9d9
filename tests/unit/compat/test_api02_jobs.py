"""0.2 signature pins for ``loom.core.job`` and ``loom.celery``, and behaviour written
from API-0.2.md's descriptions (jobs, dispatch, handles, groups, callbacks)."""

from __future__ import annotations

import datetime as dt
import inspect
from typing import Any

import pytest

from loom.bootstrap import build_runtime
from loom.core.command import Command
from loom.core.errors import LoomError
from loom.core.job import (
    InlineJobService,
    Job,
    JobCallback,
    JobFailedError,
    JobGroup,
    JobHandle,
    JobService,
    JobTimeoutError,
    NullJobCallback,
)
from loom.core.model import BaseModel, ColumnField
from loom.core.runtime import Components
from loom.core.use_case import Input
from loom.core.use_case.use_case import UseCase

EMPTY = inspect.Parameter.empty


def params_of(fn: Any) -> list[tuple[str, Any]]:
    return [
        (p.name, p.default) for p in inspect.signature(fn).parameters.values() if p.name != "self"
    ]


# -- imports and signatures ---------------------------------------------------------------


def test_every_name_imports_from_its_02_paths() -> None:
    import loom.celery
    import loom.celery.auto
    import loom.core.job.callback as callback
    import loom.core.job.handle as handle
    import loom.core.job.job as job
    import loom.core.job.service as service

    assert job.Job is Job and service.JobService is JobService
    assert handle.JobHandle is JobHandle and handle.JobGroup is JobGroup
    assert handle.JobFailedError is JobFailedError
    assert handle.JobTimeoutError is JobTimeoutError
    assert callback.JobCallback is JobCallback and callback.NullJobCallback is NullJobCallback
    assert service.InlineJobService is InlineJobService
    for name in ("create_app", "bootstrap_worker", "CeleryJobService", "WorkerBootstrapResult"):
        assert getattr(loom.celery, name) is getattr(loom.celery.auto, name)


def test_job_class_options_and_their_defaults() -> None:
    assert (Job.__queue__, Job.__retries__, Job.__countdown__) == ("default", 0, 0)
    assert (Job.__timeout__, Job.__priority__) == (None, 0)
    assert tuple(Job.rules) == () and tuple(Job.computes) == ()


def test_job_service_signatures() -> None:
    assert params_of(JobService.dispatch) == [
        ("job_type", EMPTY),
        ("params", None),
        ("payload", None),
        ("on_success", None),
        ("on_failure", None),
        ("queue", None),
        ("countdown", None),
        ("priority", None),
        ("eta", None),
    ]
    kinds = [p.kind for p in inspect.signature(JobService.dispatch).parameters.values()]
    assert kinds[2:] == [inspect.Parameter.KEYWORD_ONLY] * 8
    assert params_of(JobService.run) == [("job_type", EMPTY), ("params", None), ("payload", None)]
    assert params_of(JobService.dispatch_parallel) == [
        ("jobs", EMPTY),
        ("on_all_success", None),
        ("on_any_failure", None),
    ]
    assert params_of(InlineJobService.__init__) == [("factory", EMPTY), ("executor", None)]


def test_handle_group_and_error_signatures() -> None:
    assert params_of(JobHandle.wait) == [("timeout", None)]
    assert params_of(JobGroup.__init__) == [("handles", EMPTY)]
    assert params_of(JobGroup.wait_all) == [("timeout", None)]
    assert params_of(JobFailedError.__init__) == [("job_id", EMPTY), ("cause", None)]
    assert params_of(JobTimeoutError.__init__) == [("job_id", EMPTY), ("timeout", None)]
    handle = JobHandle("j1", "default")
    assert (handle.job_id, handle.queue) == ("j1", "default")
    assert handle.dispatched_at.tzinfo is not None
    with pytest.raises(NotImplementedError):
        JobGroup([handle]).then(lambda results: results)


def test_errors_are_loom_errors_with_their_attributes() -> None:
    cause = RuntimeError("boom")
    failed = JobFailedError("j1", cause=cause)
    timed_out = JobTimeoutError("j2", timeout=1.5)
    assert isinstance(failed, LoomError) and isinstance(timed_out, LoomError)
    assert (failed.job_id, failed.cause) == ("j1", cause)
    assert (timed_out.job_id, timed_out.timeout) == ("j2", 1.5)
    assert "boom" in str(failed) and "1.5" in str(timed_out)
    assert JobFailedError("j3").cause is None and JobTimeoutError("j4").timeout is None


def test_callback_protocol_and_null_callback() -> None:
    assert params_of(JobCallback.on_success) == [
        ("job_id", EMPTY),
        ("result", EMPTY),
        ("context", EMPTY),
    ]
    assert params_of(JobCallback.on_failure) == [
        ("job_id", EMPTY),
        ("exc_type", EMPTY),
        ("exc_msg", EMPTY),
        ("context", EMPTY),
    ]
    null = NullJobCallback()
    assert isinstance(null, JobCallback)
    assert null.on_success("j", 1, a=1) is None
    assert null.on_failure("j", "E", "m", a=1) is None


def test_celery_create_app_and_bootstrap_worker_signatures() -> None:
    from loom.celery.auto import bootstrap_worker, create_app

    for fn in (create_app, bootstrap_worker):
        sig = inspect.signature(fn)
        assert next(iter(sig.parameters.values())).kind is inspect.Parameter.VAR_POSITIONAL
        assert params_of(fn)[1:] == [
            ("jobs", ()),
            ("callbacks", ()),
            ("modules", ()),
            ("metrics", None),
        ]


# -- behaviour, written from the 0.2 descriptions ----------------------------------------

SEEN: list[tuple[Any, ...]] = []


class Ticket(BaseModel):
    __tablename__ = "compat02_tickets"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    title: str = ColumnField(length=80)


class CloseCommand(Command, frozen=True):
    ticket_id: int
    reason: str


class CloseTicketJob(Job[str]):
    __queue__ = "tickets"

    async def execute(self, cmd: CloseCommand = Input()) -> str:
        if cmd.reason == "bad":
            raise ValueError("bad reason")
        return f"closed {cmd.ticket_id}: {cmd.reason}"


class ClosedCallback:
    """0.2-style: reads the dispatch context from ``**context``."""

    async def on_success(self, job_id: str, result: Any, **context: Any) -> None:
        SEEN.append(("ok", job_id, result, context))

    def on_failure(self, job_id: str, exc_type: str, exc_msg: str, **context: Any) -> None:
        SEEN.append(("failed", job_id, exc_type, exc_msg, context))


class CloseTicketUseCase(UseCase[Ticket, str]):
    def __init__(self, job_service: JobService) -> None:
        self._jobs = job_service

    async def execute(self, ticket_id: int, cmd: CloseCommand = Input()) -> str:
        handle = self._jobs.dispatch(
            CloseTicketJob,
            params={"ticket_id": ticket_id, "actor": "api"},
            payload={"ticket_id": ticket_id, "reason": cmd.reason},
            on_success=ClosedCallback,
            on_failure=ClosedCallback,
        )
        return handle.job_id


def _runtime(tmp_path: Any, **jobs: Any) -> Any:
    return build_runtime(
        {
            "app": {"name": "compat02"},
            "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"},
            "jobs": {"retry_backoff": 0.01, **jobs},
        },
        components=Components(
            models=[Ticket],
            use_cases=[CloseTicketUseCase],
            jobs=[CloseTicketJob],
            callbacks=[ClosedCallback],
        ),
    )


async def test_callbacks_receive_the_payload_then_the_params_not_in_it(tmp_path: Any) -> None:
    SEEN.clear()
    runtime = _runtime(tmp_path)
    await runtime.startup()
    try:
        job_id = await runtime.execute(
            CloseTicketUseCase, params={"ticket_id": 3}, payload={"ticket_id": 3, "reason": "done"}
        )
        record = await runtime.job_service.wait(job_id, timeout=10)
        assert (record.state, record.queue, record.result) == (
            "succeeded",
            "tickets",
            "closed 3: done",
        )
        assert [
            ("ok", job_id, "closed 3: done", {"ticket_id": 3, "reason": "done", "actor": "api"})
        ] == SEEN
        SEEN.clear()
        job_id = await runtime.execute(
            CloseTicketUseCase, params={"ticket_id": 4}, payload={"ticket_id": 4, "reason": "bad"}
        )
        assert (await runtime.job_service.wait(job_id, timeout=10)).state == "failed"
        assert [
            (
                "failed",
                job_id,
                "ValueError",
                "bad reason",
                {"ticket_id": 4, "reason": "bad", "actor": "api"},
            )
        ] == SEEN
    finally:
        await runtime.shutdown()


async def test_config_overrides_queue_retries_countdown_timeout_and_priority(
    tmp_path: Any,
) -> None:
    runtime = _runtime(
        tmp_path,
        CloseTicketJob={"queue": "q9", "retries": 2, "countdown": 0.2, "timeout": 5, "priority": 4},
    )
    await runtime.startup()
    try:
        async with runtime.unit_of_work():
            handle = runtime.job_service.dispatch(
                CloseTicketJob, payload={"ticket_id": 1, "reason": "x"}
            )
        assert handle.queue == "q9"
        assert await handle.wait_async(timeout=10) == "closed 1: x"
        record = await runtime.job_service.status(handle.job_id)
        assert record is not None
        assert (record.max_attempts, record.countdown, record.timeout, record.priority) == (
            3,
            0.2,
            5,
            4,
        )
        assert record.started_at is not None and record.created_at is not None
        assert record.started_at - record.created_at >= dt.timedelta(seconds=0.15)
    finally:
        await runtime.shutdown()


async def test_dispatch_parallel_dispatches_each_with_its_payload_and_waits_for_all(
    tmp_path: Any,
) -> None:
    runtime = _runtime(tmp_path)
    await runtime.startup()
    try:
        async with runtime.unit_of_work():
            group = runtime.job_service.dispatch_parallel(
                [
                    (CloseTicketJob, {"ticket_id": 1, "reason": "a"}),
                    (CloseTicketJob, {"ticket_id": 2, "reason": "b"}),
                ]
            )
        assert [h.queue for h in group.handles] == ["tickets", "tickets"]
        assert await group.wait_all_async(timeout=10) == ["closed 1: a", "closed 2: b"]
        assert group.wait_all(timeout=1) == ["closed 1: a", "closed 2: b"]
    finally:
        await runtime.shutdown()


async def test_inline_job_service_runs_after_commit_and_swallows_job_errors(
    tmp_path: Any,
) -> None:
    SEEN.clear()
    runtime = _runtime(tmp_path)
    await runtime.startup()
    try:
        inline = InlineJobService(runtime)
        async with runtime.unit_of_work():
            ok = inline.dispatch(
                CloseTicketJob,
                payload={"ticket_id": 5, "reason": "fine"},
                on_success=ClosedCallback,
            )
            bad = inline.dispatch(
                CloseTicketJob,
                payload={"ticket_id": 6, "reason": "bad"},
                on_failure=ClosedCallback,
            )
        assert ok.wait() == "closed 5: fine"
        with pytest.raises(JobFailedError, match="bad reason"):
            bad.wait()
        assert [entry[0] for entry in SEEN] == ["ok", "failed"]
    finally:
        await runtime.shutdown()


class SyncJob(Job[int]):
    """0.2 allows a plain ``def execute``."""

    def execute(self, n: int) -> int:
        return n + 1


async def test_a_job_with_a_synchronous_execute_runs(tmp_path: Any) -> None:
    runtime = _runtime(tmp_path)
    await runtime.startup()
    try:
        async with runtime.unit_of_work():
            handle = runtime.job_service.dispatch(SyncJob, params={"n": 41})
        assert await handle.wait_async(timeout=10) == 42
        assert await runtime.job_service.run(SyncJob, params={"n": 1}) == 2
    finally:
        await runtime.shutdown()
