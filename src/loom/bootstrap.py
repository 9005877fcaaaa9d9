"""Assembling a :class:`~loom.core.runtime.Runtime` from the config.

This is the one place that picks adapters (the SQLAlchemy database, the job backend)
for the framework-agnostic core; the REST app and the Celery worker both start here,
so they see the same application.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from loom.core.config.loader import ConfigError, load_config
from loom.core.config.settings import (
    DEFAULT_DATABASE_URL,
    AppSettings,
    load_settings,
    settings_of,
)
from loom.core.di import Container, apply_modules
from loom.core.discovery import discover
from loom.core.job.backends import InProcessBackend
from loom.core.job.store import JobStore, MemoryJobStore
from loom.core.model import model_info
from loom.core.observability.metrics import Metrics
from loom.core.repository.registry import registered_repositories
from loom.core.repository.sqlalchemy import (
    Database,
    RepositorySQLAlchemy,
    SessionManager,
    table_for,
)
from loom.core.repository.sqlalchemy._database import DEFAULT_IDLE_TIMEOUT, PLAN_LISTS
from loom.core.repository.sqlalchemy._idempotency import idempotency_store
from loom.core.repository.sqlalchemy._jobs import SQLAlchemyJobStore
from loom.core.runtime import Components, JobMetrics, Runtime

__all__ = [
    "DEFAULT_DATABASE_URL",
    "build_metrics",
    "build_runtime",
    "database_from_config",
    "load",
    "override_code_path",
]


def load(*config_paths: str | Path | Any) -> Any:
    """A config object from paths (or an already-loaded config passed through)."""
    if len(config_paths) == 1 and not isinstance(config_paths[0], (str, Path)):
        return config_paths[0]
    return load_config(*config_paths)


def override_code_path(cfg: Any, code_path: str | Path) -> None:
    """Set ``app.code_path`` from a caller's argument (``create_app(code_path=)``).

    The argument is taken relative to the working directory, not the config file: it
    comes from Python code, where that is what a relative path means.
    """
    resolved = str(Path(code_path).expanduser().resolve())
    if isinstance(cfg, DictConfig):
        OmegaConf.update(cfg, "app.code_path", resolved, force_add=True)
    else:
        cfg.setdefault("app", {})["code_path"] = resolved


def database_from_config(cfg: Any) -> Database:
    """The :class:`Database` of ``database`` (a loaded config, or its :class:`AppSettings`)."""
    settings = settings_of(cfg)
    db = settings.database
    if db.plan_lists not in PLAN_LISTS:
        allowed = ", ".join(PLAN_LISTS)
        message = f"expected one of {allowed}, got {db.plan_lists!r}"
        raise settings.error("database.plan_lists", message)
    idle = db.pool_idle_timeout
    try:
        return Database(
            db.url,
            echo=db.echo,
            pool_size=db.pool_size,
            max_overflow=db.max_overflow,
            pool_pre_ping=db.pool_pre_ping,
            pool_timeout=db.pool_timeout,
            pool_idle_timeout=DEFAULT_IDLE_TIMEOUT if idle is None else idle,
            pgbouncer=db.pgbouncer,
            connect_timeout=db.connect_timeout,
            statement_timeout_ms=db.statement_timeout_ms,
            plan_lists=db.plan_lists,
        )
    except Exception as exc:
        raise settings.error("database.url", f"cannot use {db.url!r}: {exc}") from None


def build_metrics(settings: AppSettings, registry: Any = None) -> Metrics | None:
    """The app's :class:`Metrics` when ``metrics.enabled``: built here, once, and handed
    by constructor to the runtime (job events), the routes and the middleware.
    ``registry`` is a caller's prometheus ``CollectorRegistry``, else one per app so two
    apps in a process never clash on metric names."""
    if not settings.metrics.enabled:
        return None
    return Metrics(registry=registry)


def _repository_factory(database: Database, secret: str, cache: Any = None) -> Any:
    registry = registered_repositories()
    manager = SessionManager.for_database(database)

    def build(model: type, container: Container) -> Any:
        table_for(model)
        registration = registry.get(model)
        cls = registration.repository if registration is not None else RepositorySQLAlchemy
        # A repository written for 0.2 takes ``(session_manager, model)``.
        repo = container.build(
            cls, database=database, model=model, cursor_secret=secret, session_manager=manager
        )
        if cache is not None:
            from loom.core.cache import CachedRepository

            # Writes are seen at the engine (install_write_tracking), custom SQL included.
            return CachedRepository(repo, cache, tracked=True)
        return repo

    return build


def _repository_cache(settings: AppSettings, database: Database) -> Any:
    """The repository cache when ``cache.enabled`` (imported only then: aiocache is optional)."""
    if not settings.cache.enabled:
        return None
    from loom.core.cache import cache_from_config
    from loom.core.repository.sqlalchemy._write_tracking import install_write_tracking

    cache = cache_from_config(settings)
    if cache is not None:
        install_write_tracking(database, cache)
    return cache


def job_store_for(runtime: Runtime) -> JobStore:
    """The SQL job store (``loom_jobs``) on the runtime's database, else a memory one."""
    database = runtime.database
    if not isinstance(database, Database):
        return MemoryJobStore()
    return SQLAlchemyJobStore(database)


def job_backend_from_config(cfg: Any, runtime: Runtime) -> Any:
    """Celery when the config has ``celery.broker_url`` (or ``task_always_eager``),
    the embedded in-process backend otherwise; both record jobs in the same store.
    ``cfg`` is the loaded config or its :class:`AppSettings`."""
    settings = settings_of(cfg)
    store = job_store_for(runtime)
    if settings.celery.wanted:
        from loom.celery.backend import CeleryBackend  # only when Celery is asked for

        return CeleryBackend(runtime, store, settings, jobs=runtime.components.jobs)
    jobs = settings.jobs
    # SQLite has one writer: concurrent jobs would only queue behind each other's
    # write transactions, so run one at a time there.
    database = runtime.database
    default = 1 if database is not None and database.dialect == "sqlite" else 4
    return InProcessBackend(
        runtime,
        store,
        concurrency=jobs.concurrency or default,
        shutdown_timeout=jobs.shutdown_timeout,
    )


def build_runtime(
    *config_paths: str | Path | Any,
    components: Components | None = None,
    services: Mapping[Any, Any] | None = None,
    modules: Iterable[Callable[[Any], Any]] = (),
    metrics: JobMetrics | None = None,
    settings: AppSettings | None = None,
) -> Runtime:
    """Load config, discover components, wire adapters and compile every plan.

    ``services`` maps types to instances injectable into use cases, jobs and callbacks
    (besides those registered with :func:`loom.core.di.provide`); ``metrics`` receives
    the job events (the REST app's :class:`~loom.core.observability.Metrics`);
    ``settings`` is the config already decoded (:func:`load_settings`), by a caller
    that needed it first.
    """
    cfg = load(*config_paths)
    if settings is None:
        settings = load_settings(cfg)
    found = components if components is not None else discover(settings)
    database = database_from_config(settings)
    cache = _repository_cache(settings, database)
    runtime = Runtime(
        config=cfg,
        settings=settings,
        components=found,
        uow=database,
        repository_factory=_repository_factory(database, settings.app.cursor_secret, cache),
        services=services,
        database=database,
        metrics=metrics,
        cache=cache,
        idempotency=idempotency_store(settings, database),
    )
    runtime.container.register(Database, database)
    for model in found.models:
        model_info(model)
        table_for(model)
    for model, registration in registered_repositories().items():
        if registration.contract is not None and model in found.models:
            runtime.register_contract(registration.contract, model)
        if model in found.models:
            runtime.register_contract(registration.repository, model)
    backend = job_backend_from_config(settings, runtime)
    if backend is not None:
        runtime.job_service.backend = backend
    # DI modules, ``fn(container)``: before anything is built from the container.
    apply_modules(runtime.container, modules)
    runtime.prepare()

    async def _create_tables() -> None:
        if settings.database.create_tables:
            await database.create_all()
            return
        # Migrations own the schema: say plainly what is missing rather than fail later
        # with a driver error on the first query (or on job recovery at start-up).
        needed = [table_for(model).name for model in found.models]
        needed += [
            name for name in ("loom_jobs", "loom_idempotency") if name in database.metadata.tables
        ]
        missing = await database.missing_tables(needed)
        if missing:
            raise ConfigError(
                "key 'database.create_tables' is false and the database lacks table(s) "
                f"{', '.join(missing)}: apply the migrations (`loom db upgrade CONFIG`) "
                "or set database.create_tables: true"
            )

    runtime.startup_hooks.insert(0, _create_tables)
    runtime.shutdown_hooks.insert(0, database.dispose)
    if cache is not None:
        runtime.container.register(type(cache), cache)
        runtime.shutdown_hooks.insert(0, cache.close)
        if type(getattr(cache, "backend", None)).__name__ == "SimpleMemoryCache":
            _refuse_shared_memory_cache(runtime, database)
    return runtime


def _refuse_shared_memory_cache(runtime: Runtime, database: Database) -> None:
    """A memory cache only sees its own process's writes: with another process on
    the same database it would serve reads older than that process's commits."""

    async def claim() -> None:
        if not await database.claim_sole_process("memory-cache"):
            raise ConfigError(
                "key 'cache.backend': the memory cache is per process and another "
                "process uses this database (several workers, a Celery worker, or "
                "PgBouncer in front): set cache.backend: redis with cache.url"
            )
        runtime.shutdown_hooks.append(release)

    async def release() -> None:
        await database.release_sole_process("memory-cache")

    runtime.startup_hooks.append(claim)
