"""The assembled application: models, repositories, plans, services.

A :class:`Runtime` is what both the REST adapter and the job worker run on. It is
built once from the config by :mod:`loom.bootstrap`; everything expensive (use-case
plans, repositories, DI graphs) is prepared in :meth:`Runtime.prepare`, so requests
only execute precomputed steps.
"""

from __future__ import annotations

import asyncio
import typing
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from loom.core.config.settings import AppSettings, load_settings
from loom.core.di import Container, LoomContainer, ResolutionError, provided_services
from loom.core.idempotency import IdempotencyStore
from loom.core.job.host import JobHost, JobMetrics
from loom.core.job.job import Job
from loom.core.job.service import JobBackend, JobService, JobServiceHost
from loom.core.model import model_info
from loom.core.repository.abc import RepoFor
from loom.core.repository.abc.query import QuerySpec
from loom.core.uow import NullUnitOfWorkFactory, UnitOfWorkFactory
from loom.core.use_case._factory import instance_factory
from loom.core.use_case._plan import DeclarationError, ExecutionPlan
from loom.core.use_case.invoker import ApplicationInvoker
from loom.core.use_case.use_case import UseCase

__all__ = ["Components", "DatabaseHandle", "JobMetrics", "Runtime"]


class DatabaseHandle(Protocol):
    """What the core and the adapters ask of the runtime's database beyond its unit
    of work (the SQL adapter's ``Database`` is one)."""

    @property
    def dialect(self) -> str: ...

    async def ping(self) -> None: ...

    async def dispose(self) -> None: ...


class Components:
    """What discovery found: the application's declared building blocks."""

    def __init__(
        self,
        models: Iterable[type] = (),
        use_cases: Iterable[type] = (),
        jobs: Iterable[type] = (),
        callbacks: Iterable[type] = (),
        interfaces: Iterable[type] = (),
        repositories: Iterable[type] = (),
    ) -> None:
        self.models = _unique(models)
        self.use_cases = _unique(use_cases)
        self.jobs = _unique(jobs)
        self.callbacks = _unique(callbacks)
        self.interfaces = _unique(interfaces)
        self.repositories = _unique(repositories)


def _unique(items: Iterable[type]) -> list[type]:
    seen: dict[type, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


RepositoryFactory = Callable[[type, Container], Any]


def _first(configured: Any, declared: Any) -> Any:
    """The config's override when it sets one, else the class's declaration."""
    return declared if configured is None else configured


class Runtime:
    """The application's parts, wired once; its collaborators are constructor fields
    chosen by :mod:`loom.bootstrap` (``None`` when the app runs without them)."""

    def __init__(
        self,
        *,
        config: Mapping[str, Any] | None = None,
        components: Components | None = None,
        uow: UnitOfWorkFactory | None = None,
        repository_factory: RepositoryFactory | None = None,
        job_backend: JobBackend | None = None,
        services: Mapping[Any, Any] | None = None,
        settings: AppSettings | None = None,
        database: DatabaseHandle | None = None,
        metrics: JobMetrics | None = None,
        cache: Any = None,
        idempotency: IdempotencyStore | None = None,
    ) -> None:
        self.config: Mapping[str, Any] = config or {}
        self.settings: AppSettings = settings if settings is not None else load_settings(config)
        """The config decoded (bootstrap passes it; else decoded from ``config``)."""
        self.database: DatabaseHandle | None = database
        self.repository_cache: Any = cache
        self.idempotency: IdempotencyStore | None = idempotency
        """Where ``Idempotency-Key`` responses are kept (None: the header is not served)."""
        """The repository cache (``RepositoryCache``) when ``cache.enabled``."""
        self.components = components or Components()
        self.uow: UnitOfWorkFactory = uow or NullUnitOfWorkFactory()
        self._repository_factory = repository_factory
        self.container: LoomContainer = LoomContainer()
        self.repositories: dict[type, Any] = {}
        self._contracts: dict[Any, type] = {}
        self._plans: dict[type, ExecutionPlan] = {}
        self._instances: dict[type, Any] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.startup_hooks: list[Callable[[], Awaitable[None]]] = []
        self.shutdown_hooks: list[Callable[[], Awaitable[None]]] = []
        self.metrics: JobMetrics | None = metrics
        """The app's ``Metrics`` when metrics are enabled (jobs report to it)."""
        self.readiness_checks: dict[str, Callable[[], Awaitable[None]]] = {}
        """Extra parts ``/health/ready`` checks (the broker, when one is configured)."""
        self.invoker = ApplicationInvoker(self)
        self.job_service = JobService(self, job_backend)
        self.container.register(Runtime, self)
        self.container.register(ApplicationInvoker, self.invoker)
        self.container.register(JobService, self.job_service)
        self.container.add_resolver(self._resolve_repository_key)
        for key, (instance, factory) in provided_services().items():
            if factory is not None:
                self.container.register_factory(key, factory)
            else:
                self.container.register(key, instance)
        for key, instance in (services or {}).items():
            self.container.register(key, instance)
        self._jobs_by_name: dict[str, type] = {}
        self._callbacks_by_name: dict[str, type] = {}

    # -- repositories ------------------------------------------------------------------

    def register_model(self, model: type) -> None:
        model_info(model)
        if model not in self.components.models:
            self.components.models.append(model)

    def register_contract(self, contract: Any, model: type) -> None:
        """Let constructors ask for ``model``'s repository by its protocol type."""
        self._contracts[contract] = model

    def repo_for(self, model: type) -> Any:
        repo = self.repositories.get(model)
        if repo is not None:
            return repo
        if model not in self.components.models:
            raise LookupError(model)
        if self._repository_factory is None:
            raise LookupError(model)
        repo = self._repository_factory(model, self.container)
        self.repositories[model] = repo
        return repo

    def _resolve_repository_key(self, key: Any) -> Any:
        if typing.get_origin(key) is RepoFor:
            (model,) = typing.get_args(key)
            return self.repo_for(model)
        model = self._contracts.get(key)
        if model is not None:
            return self.repo_for(model)
        raise LookupError(key)

    # -- plans and instances -----------------------------------------------------------

    def plan(self, cls: type) -> ExecutionPlan:
        plan = self._plans.get(cls)
        if plan is None:
            kind = "job" if issubclass(cls, Job) else "use case"
            model = getattr(cls, "model", None)
            if model is not None and kind == "use case":
                try:
                    model_info(model)
                except TypeError:
                    raise DeclarationError(
                        f"use case {cls.__qualname__}: UseCase[{model!r}, ...] is not a model"
                    ) from None
                if model not in self.components.models:
                    self.register_model(model)
            plan = ExecutionPlan(cls, repo_for=self.repo_for, kind=kind)
            self._plans[cls] = plan
        return plan

    def instance(self, cls: type) -> Any:
        inst = self._instances.get(cls)
        if inst is None:
            try:
                inst = self.container.build(cls)
            except ResolutionError as exc:
                raise DeclarationError(str(exc)) from None
            model = getattr(cls, "model", None)
            if issubclass(cls, UseCase):
                repo = self.repo_for(model) if model is not None else None
                if repo is not None and "_main_repo" not in vars(inst):
                    inst.main_repo = repo
                # Each call runs on a fresh instance built from this constructor plan.
                self.plan(cls).build_per_call(inst, instance_factory(cls, self.container, repo))
            self._instances[cls] = inst
        return inst

    def register_job(self, job: type) -> None:
        self._jobs_by_name[job.__qualname__] = job
        if job not in self.components.jobs:
            self.components.jobs.append(job)

    def register_callback(self, callback: type) -> None:
        self._callbacks_by_name[callback.__qualname__] = callback
        if callback not in self.components.callbacks:
            self.components.callbacks.append(callback)

    def job_class(self, name: str) -> type:
        try:
            return self._jobs_by_name[name]
        except KeyError:
            raise LookupError(f"job {name!r} is not registered in this application") from None

    def callback_class(self, name: str) -> type:
        try:
            return self._callbacks_by_name[name]
        except KeyError:
            raise LookupError(f"callback {name!r} is not registered in this application") from None

    def job_settings(self, job: type) -> dict[str, Any]:
        if job.__qualname__ not in self._jobs_by_name:
            self.register_job(job)
        own = self.settings.jobs.overrides(job.__name__)
        return {
            "queue": _first(own.queue, getattr(job, "__queue__", "default")),
            "retries": int(_first(own.retries, getattr(job, "__retries__", 0))),
            "countdown": float(_first(own.countdown, getattr(job, "__countdown__", 0)) or 0),
            "timeout": _first(own.timeout, getattr(job, "__timeout__", None)),
            "priority": _first(own.priority, getattr(job, "__priority__", None)),
        }

    def prepare(self) -> None:
        """Compile every declared use case and job and build their instances.

        Raises :class:`DeclarationError` naming the first wrong declaration.
        """
        for model in list(self.components.models):
            self.repo_for(model)
        for job in self.components.jobs:
            self.register_job(job)
        for callback in self.components.callbacks:
            self.register_callback(callback)
        for cls in [*self.components.use_cases, *self.components.jobs]:
            self.plan(cls)
            self.instance(cls)
        for callback in self.components.callbacks:
            self.instance(callback)

    # -- execution ---------------------------------------------------------------------

    def unit_of_work(self) -> Any:
        return self.uow.begin()

    async def execute(
        self,
        cls: type,
        params: Mapping[str, Any] | None = None,
        payload: Any = None,
        query: QuerySpec | None = None,
        profile: str | None = None,
    ) -> Any:
        plan = self.plan(cls)
        instance = self.instance(cls)
        async with self.uow.begin():
            return await plan.run(instance, params, payload, query, profile)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` in the background, keeping a reference until it finishes."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def startup(self) -> None:
        for hook in self.startup_hooks:
            await hook()

    async def shutdown(self) -> None:
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        for hook in reversed(self.shutdown_hooks):
            await hook()


if TYPE_CHECKING:
    # The job runner, backends and service see the runtime only through these
    # protocols; mypy checks here that it still provides everything they name
    # (``InlineJobService(runtime)`` is otherwise only called from unchecked tests).
    _job_host: type[JobHost] = Runtime
    _job_service_host: type[JobServiceHost] = Runtime
