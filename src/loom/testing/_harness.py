"""``UseCaseHarness``: run use cases and jobs on in-memory repositories, no database.

A use case under test gets everything it would get in the application: its
``main_repo``, ``RepoFor[...]`` and repository contracts, ``JobService``,
``ApplicationInvoker``, the declared markers, rules and computes. What changes is
underneath: every model's repository is an
:class:`~loom.testing.InMemoryRepository` (or a fake you pass), and job dispatches
are captured by a :class:`~loom.testing.JobCapture` instead of being sent.

Models are registered on first use, so a harness needs no list of them: running a
use case brings in its model, the models its markers name, and those its foreign
keys point at.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from loom.core.di import Container
from loom.core.discovery import _Collector
from loom.core.repository.abc.query import QuerySpec
from loom.core.repository.registry import registered_repositories
from loom.core.runtime import Components, Runtime
from loom.testing._jobs import JobCapture
from loom.testing._memory import InMemoryRepository

__all__ = ["UseCaseHarness"]


class _HarnessRuntime(Runtime):
    """A runtime that gives any model a repository on demand."""

    def repo_for(self, model: type) -> Any:
        if model not in self.components.models:
            self.register_model(model)
        return super().repo_for(model)


class UseCaseHarness:
    """Run use cases and jobs as the application would, on fake repositories.

    ``repositories`` maps a model to the object to use as its repository (anything
    with the methods the code calls); every other model gets an
    :class:`InMemoryRepository`. ``services`` maps a type (or any DI key) to the
    instance constructors receive for it. ``config`` is an optional config mapping,
    for ``jobs.<Name>.*`` overrides and the like.

    ::

        harness = UseCaseHarness()
        await harness.repo(Product).create({"sku": "A1", "name": "Lamp", ...})
        out = await harness.run(DispatchRestockEmailUseCase, params={"product_id": "1"},
                                payload={"recipient_email": "ops@example.com"})
        harness.jobs.assert_dispatched(SendRestockEmailJob, params={"product_id": 1})
    """

    def __init__(
        self,
        *,
        repositories: Mapping[type, Any] | None = None,
        services: Mapping[Any, Any] | None = None,
        config: Mapping[str, Any] | None = None,
        cursor_secret: str = "loom-testing",
    ) -> None:
        fakes = dict(repositories or {})

        def related(model: type) -> Any:
            # A profile may reach a model no use case named: give it a repository too.
            if model not in self.runtime.components.models:
                self.runtime.register_model(model)
            return self.runtime.repo_for(model)

        def factory(model: type, container: Container) -> Any:
            repo = fakes.get(model)
            if repo is None:
                repo = InMemoryRepository(model, cursor_secret=cursor_secret, related=related)
            wrap = self._wrap
            return repo if wrap is None else wrap(model, repo)

        # Set by the 0.2 harnesses (force_error): every repository passes through it.
        self._wrap: Callable[[type, Any], Any] | None = None

        self.runtime: Runtime = _HarnessRuntime(
            config=config or {}, components=Components(), repository_factory=factory
        )
        for model, registration in registered_repositories().items():
            # A use case asking for ProductRepo (or the concrete class) gets the fake.
            if registration.contract is not None:
                self.runtime.register_contract(registration.contract, model)
            self.runtime.register_contract(registration.repository, model)
        for key, value in (services or {}).items():
            self.runtime.container.register(key, value)
        service = self.runtime.job_service
        self.jobs = JobCapture(_inner_backend(service))
        service.backend = self.jobs

    # -- repositories ------------------------------------------------------------------

    def repo(self, model: type) -> Any:
        """The repository ``model``'s use cases see; seed and inspect data through it."""
        return self.runtime.repo_for(model)

    async def seed(self, model: type, *rows: Mapping[str, Any] | Any) -> list[Any]:
        """Create ``rows`` (dicts or structs) and return the stored entities."""
        repo = self.repo(model)
        return [await repo.create(row) for row in rows]

    # -- running -----------------------------------------------------------------------

    def _register(self, cls: type) -> None:
        collector = _Collector()
        collector.add(cls)
        for model in collector.components().models:
            self.runtime.register_model(model)

    def use(self, *classes: type) -> UseCaseHarness:
        """Declare callbacks (and anything else) up front; returns the harness."""
        for cls in classes:
            if callable(getattr(cls, "on_success", None)) or callable(
                getattr(cls, "on_failure", None)
            ):
                self.runtime.register_callback(cls)
            else:
                self._register(cls)
        return self

    def instance(self, cls: type) -> Any:
        """The DI-built instance of a use case, job or callback (built once)."""
        self._register(cls)
        return self.runtime.instance(cls)

    async def run(
        self,
        use_case: type,
        *,
        params: Mapping[str, Any] | None = None,
        payload: Any = None,
        query: QuerySpec | None = None,
        profile: str | None = None,
    ) -> Any:
        """Execute a use case (or a job) once, with the markers and rules resolved.

        ``params`` are path parameters (converted to ``execute``'s annotations),
        ``payload`` the request body (a dict, a struct or JSON bytes), ``query`` a
        :class:`QuerySpec` for list use cases. Errors propagate as the application
        raises them (``NotFound``, ``RuleViolation``, ``ValidationError``...).
        Dispatches commit (reach :attr:`jobs`) once the call returns.
        """
        self._register(use_case)
        return await self.runtime.execute(
            use_case, params=params, payload=payload, query=query, profile=profile
        )

    async def release_jobs(self) -> list[Any]:
        """Run the captured jobs in-process (with their callbacks) and wait for them."""
        released = await self.jobs.release()
        wait = getattr(self.runtime.job_service, "wait", None)
        if wait is not None:
            for captured in released:
                await wait(captured.job_id, timeout=30)
        return released

    async def close(self) -> None:
        """Wait for background work (released jobs), stop the job workers, run shutdown hooks."""
        await self.runtime.shutdown()
        stop = getattr(self.jobs.inner, "stop", None)
        if stop is not None:
            await stop()

    async def __aenter__(self) -> UseCaseHarness:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _inner_backend(service: Any) -> Any:
    """The backend a bare runtime has (the in-process one), or ``None`` if it has none."""
    try:
        return service.backend
    except Exception:
        return None
