"""``create_app("config/worker.yaml")``: the Celery application of a Loom app.

The worker is built from the same YAML as the API (usually a shared base file plus
a worker file with the ``celery`` section), so it discovers the same models, jobs
and callbacks::

    # src/app/worker_main.py
    from loom.celery.auto import create_app

    celery_app = create_app("config/worker.yaml")

and runs with ``celery -A app.worker_main:celery_app worker`` (or ``loom worker
config/worker.yaml``). Every job is a task named ``loom.jobs.<JobClassName>``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery import Celery, signals

from loom.bootstrap import build_runtime, load
from loom.celery.backend import CeleryBackend
from loom.core.config.loader import ConfigError
from loom.core.config.settings import load_settings
from loom.core.di import Container
from loom.core.discovery import discover
from loom.core.job.host import JobHost
from loom.core.job.service import JobService
from loom.core.runtime import Runtime

__all__ = ["CeleryJobService", "WorkerBootstrapResult", "bootstrap_worker", "create_app"]


class CeleryJobService(JobService):
    """A :class:`JobService` that sends jobs to Celery workers.

    What a runtime with ``celery.broker_url`` uses (the backend is chosen in
    bootstrap); constructible on its own from a runtime and its Celery backend.
    """

    def __init__(self, runtime: JobHost, backend: CeleryBackend) -> None:
        super().__init__(runtime, backend)

    @property
    def celery_app(self) -> Celery:
        backend = self.backend
        assert isinstance(backend, CeleryBackend)
        return backend.celery_app


@dataclass(frozen=True)
class WorkerBootstrapResult:
    """What :func:`bootstrap_worker` assembled for one worker process."""

    app: Celery
    runtime: Runtime
    job_service: JobService
    backend: CeleryBackend

    @property
    def celery_app(self) -> Celery:
        return self.app

    @property
    def container(self) -> Container:
        """The DI container jobs and callbacks are built from."""
        return self.runtime.container


def bootstrap_worker(
    *config_paths: str | Path | Any,
    jobs: Iterable[type] = (),
    callbacks: Iterable[type] = (),
    modules: Iterable[Callable[[Any], Any]] = (),
    metrics: Any = None,
) -> WorkerBootstrapResult:
    """Load the config and build everything a Celery worker needs.

    ``jobs`` and ``callbacks`` are registered besides what discovery finds (a worker
    may run jobs no interface references); ``modules`` are DI modules, each called as
    ``fn(container)`` before jobs and callbacks are built; ``metrics`` receives the
    job events (an object with ``job_event(job, queue, state, seconds)``, such as
    :class:`loom.core.observability.Metrics`).
    """
    cfg = load(*config_paths)
    settings = load_settings(cfg)
    components = discover(settings)
    for job in jobs:
        if job not in components.jobs:
            components.jobs.append(job)
    for callback in callbacks:
        if callback not in components.callbacks:
            components.callbacks.append(callback)
    if metrics is not None and not callable(getattr(metrics, "job_event", None)):
        raise TypeError(
            f"bootstrap_worker(metrics={metrics!r}): metrics must have "
            "job_event(job, queue, state, seconds), e.g. loom.core.observability.Metrics"
        )
    runtime = build_runtime(
        cfg, components=components, modules=modules, metrics=metrics, settings=settings
    )
    backend = runtime.job_service.backend
    if not isinstance(backend, CeleryBackend):
        raise ConfigError(
            "key 'celery.broker_url': the Celery worker needs a broker "
            "(e.g. redis://localhost:6379/0) or celery.task_always_eager: true"
        )
    for job in runtime.components.jobs:
        backend.task_for(job.__qualname__)
    app = backend.celery_app
    app.loom_runtime = runtime
    app.loom_backend = backend

    def on_shutdown(**_kwargs: Any) -> None:
        backend.shutdown_worker()

    # Prefork children shut down through worker_process_shutdown, the solo/threads
    # pools (tasks run in the main process) through worker_shutdown.
    signals.worker_process_shutdown.connect(on_shutdown, weak=False)
    signals.worker_shutdown.connect(on_shutdown, weak=False)
    return WorkerBootstrapResult(
        app=app, runtime=runtime, job_service=runtime.job_service, backend=backend
    )


def create_app(
    *config_paths: str | Path | Any,
    jobs: Iterable[type] = (),
    callbacks: Iterable[type] = (),
    modules: Iterable[Callable[[Any], Any]] = (),
    metrics: Any = None,
) -> Celery:
    """Load the config, build the application and return its Celery app.

    Needs ``celery.broker_url`` (or ``celery.task_always_eager: true``); a result
    backend (``celery.result_backend``) is optional, only ``JobHandle.wait()`` on a
    Celery job needs one. The runtime is reachable as ``celery_app.loom_runtime``; it
    starts lazily in each worker process on the first task and shuts down with the
    worker process. The keyword arguments are :func:`bootstrap_worker`'s.
    """
    return bootstrap_worker(
        *config_paths, jobs=jobs, callbacks=callbacks, modules=modules, metrics=metrics
    ).app
