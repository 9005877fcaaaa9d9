"""Celery adapter: ``create_app(*config_paths)`` builds the worker's Celery app.

See :mod:`loom.celery.backend` for the delivery guarantees (outbox relay, late
acknowledgement, at-least-once).
"""

from loom.celery.auto import CeleryJobService, WorkerBootstrapResult, bootstrap_worker, create_app
from loom.celery.backend import CeleryBackend

__all__ = [
    "CeleryBackend",
    "CeleryJobService",
    "WorkerBootstrapResult",
    "bootstrap_worker",
    "create_app",
]
