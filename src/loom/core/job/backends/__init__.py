"""Job backends and the choice between them.

``backend_from_config(cfg, runtime)`` (called by :func:`loom.bootstrap.build_runtime`)
returns the Celery backend when the config has ``celery.broker_url`` (or
``celery.task_always_eager: true``) and the embedded :class:`InProcessBackend`
otherwise. Both keep their records in the application's database when it has one
(the ``loom_jobs`` table), else in memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loom.core.job.backends.inprocess import InProcessBackend
from loom.core.job.runner import config_section
from loom.core.job.store import JobStore, MemoryJobStore

if TYPE_CHECKING:
    from loom.core.runtime import Runtime

__all__ = ["InProcessBackend", "backend_from_config", "store_for"]


def store_for(runtime: Runtime) -> JobStore:
    """The SQL job store on the runtime's database, or a memory store without one."""
    database = getattr(runtime, "database", None)
    if database is None:
        return MemoryJobStore()
    # The SQLAlchemy adapter is imported only when there is a SQLAlchemy database.
    from loom.core.repository.sqlalchemy._jobs import SQLAlchemyJobStore

    return SQLAlchemyJobStore(database)


def backend_from_config(cfg: Any, runtime: Runtime) -> Any:
    """The backend the config asks for (see the module docstring)."""
    celery_cfg = config_section(cfg, "celery")
    store = store_for(runtime)
    if celery_cfg.get("broker_url") or _truthy(celery_cfg.get("task_always_eager")):
        # loom.core never imports Celery itself: the adapter lives in loom.celery.
        from loom.celery.backend import CeleryBackend

        return CeleryBackend(runtime, store, cfg)
    jobs = config_section(cfg, "jobs")
    # SQLite has one writer: concurrent jobs would only fail each other's upgrades
    # from read to write transactions ("database is locked"), so run one at a time.
    database = getattr(runtime, "database", None)
    default = 1 if getattr(database, "dialect", None) == "sqlite" else 4
    return InProcessBackend(
        runtime,
        store,
        concurrency=int(jobs.get("concurrency", default) or default),
        shutdown_timeout=float(jobs.get("shutdown_timeout", 10.0)),
    )


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
