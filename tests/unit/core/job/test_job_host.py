"""``JobHost``: the job machinery needs only the protocol, never the runtime.

Two checks: no job module (nor the Celery backend) imports ``loom.core.runtime``,
not even for typing; and a host that has the protocol's members and nothing else
runs dispatch, retries, callbacks and metrics through the real service, backend and
runner, so a new reach into the runtime fails here rather than going unnoticed.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

import pytest
from tests.import_graph import SRC, import_nodes, imported_names, module_of, names_under

from loom.core.config.settings import AppSettings, JobsSettings
from loom.core.job.backends import InlineBackend, InProcessBackend
from loom.core.job.host import JobHost
from loom.core.job.service import InlineJobService, JobService
from loom.core.job.store import MemoryJobStore

#: The modules that must see the application only as a ``JobHost``.
HOSTED = [
    *sorted((SRC / "loom" / "core" / "job").rglob("*.py")),
    SRC / "loom" / "celery" / "backend.py",
]
RUNTIME = "loom.core.runtime"


def runtime_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    """Every import of ``loom.core.runtime`` in ``source``, at any depth: under ``if
    TYPE_CHECKING:`` and inside functions too (a typing-only import still ties the
    module to the runtime)."""
    found: list[str] = []
    for node in import_nodes(ast.parse(source), typing_only=True):
        found += names_under(imported_names(node, module, is_package), (RUNTIME,))
    return found


@pytest.mark.parametrize(
    "source",
    [
        "import loom.core.runtime",
        "from loom.core.runtime import Runtime",
        "from loom.core import runtime",
        "from ...runtime import Runtime",
        "if TYPE_CHECKING:\n    from loom.core.runtime import Runtime",
        "def f():\n    from loom.core.runtime import Runtime",
    ],
)
def test_every_form_of_runtime_import_is_found(source: str) -> None:
    assert runtime_imports(source, "loom.core.job.backends.inline") != []


def test_the_minimal_host_has_the_protocol_members_and_no_more() -> None:
    # Keeps the fake honest: had it grown a member the protocol lacks, the runs
    # below could pass on it.
    def members(cls: type) -> set[str]:
        return {n for n in vars(cls) if not n.startswith("_")}

    protocol = members(JobHost) | {"execute"}
    assert members(MinimalHost) - {"job_service"} <= protocol
    instance_attrs = {n for n in vars(MinimalHost()) if not n.startswith("_")}
    assert instance_attrs <= protocol


def test_job_modules_do_not_import_the_runtime() -> None:
    assert len(HOSTED) > 5  # the paths are right: the job package was found
    offenders = {
        str(path.relative_to(SRC)): found
        for path in HOSTED
        if (found := runtime_imports(path.read_text(), *module_of(path)))
    }
    assert offenders == {}


# -- a host with the protocol's members and nothing else ----------------------------------


class DoubleJob:
    async def run(self, payload: Mapping[str, Any]) -> int:
        if payload.get("fail"):
            raise ValueError(f"cannot double {payload['n']}")
        return int(payload["n"]) * 2


class FlakyJob:
    """Fails its first attempt; the host's settings give it one retry."""

    attempts = 0

    async def run(self, payload: Mapping[str, Any]) -> str:
        FlakyJob.attempts += 1
        if FlakyJob.attempts == 1:
            raise RuntimeError("first attempt fails")
        return "done"


class Recorder:
    calls: list[tuple[Any, ...]] = []

    def on_success(self, job_id: str, result: Any, **context: Any) -> None:
        Recorder.calls.append(("success", job_id, result, context))

    async def on_failure(self, job_id: str, exc_type: str, exc_msg: str, **context: Any) -> None:
        Recorder.calls.append(("failure", job_id, exc_type, exc_msg))


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def job_event(self, name: str, queue: str, state: str, seconds: float | None = None) -> None:
        self.seen.append((name, state))


class MinimalHost:
    """Exactly :class:`JobHost`'s members; the inline test adds ``job_service``."""

    job_service: JobService

    def __init__(self) -> None:
        self.settings = AppSettings(jobs=JobsSettings(retry_backoff=0.0))
        self.metrics = Events()
        self.startup_hooks: list[Callable[[], Awaitable[None]]] = []
        self.shutdown_hooks: list[Callable[[], Awaitable[None]]] = []
        self._jobs: dict[str, type] = {}
        self._callbacks: dict[str, type] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def unit_of_work(self) -> contextlib.AbstractAsyncContextManager[Any]:
        return contextlib.nullcontext()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def job_class(self, name: str) -> type:
        try:
            return self._jobs[name]
        except KeyError:
            raise LookupError(name) from None

    def job_settings(self, job: type) -> dict[str, Any]:
        self._jobs[job.__qualname__] = job
        retries = 1 if job is FlakyJob else 0
        return {"queue": "q", "retries": retries, "countdown": 0.0, "timeout": None, "priority": 0}

    def callback_class(self, name: str) -> type:
        try:
            return self._callbacks[name]
        except KeyError:
            raise LookupError(name) from None

    def register_callback(self, callback: type) -> None:
        self._callbacks[callback.__qualname__] = callback

    def instance(self, cls: type) -> Any:
        return cls()

    async def execute(
        self, cls: type, params: Mapping[str, Any] | None = None, payload: Any = None
    ) -> Any:
        return await cls().run(payload)


@pytest.fixture(autouse=True)
def _reset() -> None:
    FlakyJob.attempts = 0
    Recorder.calls.clear()


async def test_a_host_with_only_the_protocol_runs_dispatch_retries_and_callbacks() -> None:
    host = MinimalHost()
    service = JobService(host)
    backend = service.backend
    assert isinstance(backend, InProcessBackend)  # the default, on a memory store
    assert host.startup_hooks == [backend.start] and host.shutdown_hooks == [backend.stop]
    for hook in host.startup_hooks:
        await hook()
    try:
        ok = service.dispatch(DoubleJob, payload={"n": 4}, on_success=Recorder)
        bad = service.dispatch(DoubleJob, payload={"n": 5, "fail": True}, on_failure=Recorder)
        flaky = service.dispatch(FlakyJob, payload={})
        done = {h.job_id: await service.wait(h.job_id) for h in (ok, bad, flaky)}
    finally:
        for hook in reversed(host.shutdown_hooks):
            await hook()
    assert (done[ok.job_id].state, done[ok.job_id].result) == ("succeeded", 8)
    assert (done[bad.job_id].state, done[bad.job_id].error_type) == ("failed", "ValueError")
    assert (done[flaky.job_id].state, done[flaky.job_id].attempts) == ("succeeded", 2)
    assert ("success", ok.job_id, 8, {"n": 4}) in Recorder.calls
    assert ("failure", bad.job_id, "ValueError", "cannot double 5") in Recorder.calls
    events = host.metrics.seen
    assert events.count(("FlakyJob", "retried")) == 1
    assert events.count(("DoubleJob", "dispatched")) == 2
    assert ("DoubleJob", "succeeded") in events and ("DoubleJob", "failed") in events


async def test_inline_service_on_a_minimal_host_uses_the_given_executor() -> None:
    class Tripler:
        async def execute(
            self, cls: type, params: Mapping[str, Any] | None = None, payload: Any = None
        ) -> Any:
            return payload["n"] * 3

    host = MinimalHost()
    shared = MemoryJobStore()
    host.job_service = JobService(host, InlineBackend(host, shared))
    inline = InlineJobService(host, executor=Tripler())
    # The inline service keeps its records where the host's service does.
    assert inline.store is shared
    handle = inline.dispatch(DoubleJob, payload={"n": 2}, on_success=Recorder)
    record = await inline.wait(handle.job_id)
    assert (record.state, record.result) == ("succeeded", 6)
    assert Recorder.calls == [("success", handle.job_id, 6, {"n": 2})]
