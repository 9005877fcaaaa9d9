"""``JobHost``: what the job machinery asks of the application it runs jobs for.

The runner, the backends and :class:`~loom.core.job.service.JobService` depend on
this protocol rather than on :class:`loom.core.runtime.Runtime`, which satisfies it
structurally (checked by mypy in ``loom.core.runtime``). Naming the dozen things
they use keeps them testable with a small fake and stops them from growing new
reaches into the runtime unnoticed; it also lets ``loom.core.job`` be read without
the runtime, which imports it.

Only typing imports here: the protocol must be importable by every job module
without dragging in anything that could import them back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from loom.core.config.settings import AppSettings

__all__ = ["JobExecutor", "JobHost", "JobMetrics", "LifecycleHook"]

#: A start-up or shutdown step the host awaits (a backend starting its workers).
LifecycleHook = Callable[[], Awaitable[None]]


class JobMetrics(Protocol):
    """Where job events are counted (``loom.core.observability.Metrics`` is one)."""

    def job_event(
        self, name: str, queue: str, state: str, seconds: float | None = None
    ) -> None: ...


class JobExecutor(Protocol):
    """What runs a job's plan: the host itself, or the ``executor`` given to
    :class:`~loom.core.job.service.InlineJobService`."""

    async def execute(
        self, cls: type, params: Mapping[str, Any] | None = None, payload: Any = None
    ) -> Any: ...


class JobHost(JobExecutor, Protocol):
    """The application as the runner, the backends and the job service see it."""

    @property
    def settings(self) -> AppSettings:
        """The decoded config; the runner reads ``settings.jobs`` (retry backoff)."""
        ...

    @property
    def metrics(self) -> JobMetrics | None:
        """Where job events go, or ``None`` when metrics are off."""
        ...

    @property
    def startup_hooks(self) -> list[LifecycleHook]:
        """Awaited in order at start-up; a backend appends its ``start`` here."""
        ...

    @property
    def shutdown_hooks(self) -> list[LifecycleHook]:
        """Awaited in reverse order at shutdown; a backend appends its ``stop`` here."""
        ...

    def unit_of_work(self) -> AbstractAsyncContextManager[Any]:
        """A transaction: every step of an attempt commits in one of its own."""
        ...

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` in the background; the host waits for it at shutdown."""
        ...

    def job_class(self, name: str) -> type:
        """The job registered under ``name``; :class:`LookupError` if none."""
        ...

    def job_settings(self, job: type) -> dict[str, Any]:
        """``queue``, ``retries``, ``countdown``, ``timeout``, ``priority`` of ``job``
        (config over class attributes); registers ``job`` if it was not."""
        ...

    def callback_class(self, name: str) -> type:
        """The callback registered under ``name``; :class:`LookupError` if none."""
        ...

    def register_callback(self, callback: type) -> None:
        """Make ``callback`` findable by name (by the process that runs the job)."""
        ...

    def instance(self, cls: type) -> Any:
        """The DI-built instance of ``cls`` (a callback)."""
        ...
