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

from pathlib import Path
from typing import Any

from celery import Celery, signals

from loom.bootstrap import build_runtime, load
from loom.celery.backend import CeleryBackend
from loom.core.config.loader import ConfigError

__all__ = ["create_app"]


def create_app(*config_paths: str | Path | Any) -> Celery:
    """Load the config, build the application and return its Celery app.

    Needs ``celery.broker_url`` (or ``celery.task_always_eager: true``). The runtime
    is reachable as ``celery_app.loom_runtime``; it starts lazily in each worker
    process on the first task and shuts down with the worker process.
    """
    cfg = load(*config_paths)
    runtime = build_runtime(cfg)
    backend = runtime.job_service.backend
    if not isinstance(backend, CeleryBackend):
        raise ConfigError(
            "key 'celery.broker_url': the Celery worker needs a broker "
            "(e.g. redis://localhost:6379/0) or celery.task_always_eager: true"
        )
    app = backend.celery_app
    app.loom_runtime = runtime
    app.loom_backend = backend

    def on_shutdown(**_kwargs: Any) -> None:
        backend.shutdown_worker()

    # Prefork children shut down through worker_process_shutdown, the solo/threads
    # pools (tasks run in the main process) through worker_shutdown.
    signals.worker_process_shutdown.connect(on_shutdown, weak=False)
    signals.worker_shutdown.connect(on_shutdown, weak=False)
    return app
