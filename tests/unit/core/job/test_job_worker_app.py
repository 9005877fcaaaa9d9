"""``loom.celery.bootstrap_worker`` / ``create_app`` keywords: extra jobs and callbacks,
DI modules, metrics (eager mode, so no broker is needed)."""

from __future__ import annotations

from typing import Any

import pytest
from job_support import SEEN, RecordingCallback, job_config

from loom.celery import CeleryJobService, WorkerBootstrapResult, bootstrap_worker, create_app
from loom.celery.backend import TASK_PREFIX, CeleryBackend
from loom.core.di import Container
from loom.core.job import Job, JobService
from loom.core.use_case import DeclarationError


class Greeting:
    def __init__(self, word: str) -> None:
        self.word = word


class GreetJob(Job[str]):
    """Needs a service only a DI module provides."""

    def __init__(self, greeting: Greeting) -> None:
        self._greeting = greeting

    async def execute(self, name: str) -> str:
        return f"{self._greeting.word} {name}"


def greeting_module(container: Container) -> None:
    container.register(Greeting, Greeting("hello"))


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    def job_event(self, name: str, queue: str, state: str, seconds: float | None = None) -> None:
        self.seen.append((name, queue, state))


def _cfg(tmp_path: Any) -> dict[str, Any]:
    discovery = {"discovery": {"mode": "modules", "modules": {"include": ["job_support"]}}}
    return job_config(
        f"sqlite+aiosqlite:///{tmp_path / 'w.db'}",
        app=discovery,
        celery={"task_always_eager": True},
    )


async def test_bootstrap_worker_registers_extra_jobs_runs_modules_and_reports_metrics(
    tmp_path: Any,
) -> None:
    SEEN.clear()
    events = Events()
    result = bootstrap_worker(
        _cfg(tmp_path),
        jobs=[GreetJob],
        callbacks=[RecordingCallback],
        modules=[greeting_module],
        metrics=events,
    )
    assert isinstance(result, WorkerBootstrapResult)
    assert isinstance(result.backend, CeleryBackend)
    assert result.app is result.backend.celery_app and result.container is result.runtime.container
    assert TASK_PREFIX + "GreetJob" in result.app.tasks  # not found by discovery
    assert TASK_PREFIX + "TagProductJob" in result.app.tasks  # found by discovery
    runtime = result.runtime
    await runtime.startup()
    try:
        async with runtime.unit_of_work():
            handle = result.job_service.dispatch(
                GreetJob, params={"name": "ada"}, on_success=RecordingCallback
            )
        assert handle.wait() == "hello ada"
        assert SEEN[-1][:4] == ("success", handle.job_id, "hello ada", {"name": "ada"})
        assert ("GreetJob", "default", "succeeded") in events.seen
    finally:
        await runtime.shutdown()


def test_worker_keywords_are_checked_at_start_up(tmp_path: Any) -> None:
    with pytest.raises(TypeError, match="job_event"):
        create_app(_cfg(tmp_path), metrics=object())
    # Without the module, the job cannot be built: said at start-up, naming the class.
    with pytest.raises(DeclarationError, match=r"GreetJob"):
        create_app(_cfg(tmp_path), jobs=[GreetJob])


def test_celery_job_service_is_a_job_service_over_the_celery_backend(tmp_path: Any) -> None:
    result = bootstrap_worker(_cfg(tmp_path))
    service = CeleryJobService(result.runtime, result.backend)
    assert isinstance(service, JobService)
    assert service.celery_app is result.app
