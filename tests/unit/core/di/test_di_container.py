"""Constructor injection: what use cases, jobs and callbacks can ask for."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import pytest

from loom.bootstrap import build_runtime
from loom.core.di import Container, ResolutionError, provide
from loom.core.job.service import JobService
from loom.core.model import BaseModel, ColumnField
from loom.core.repository.abc import RepoFor
from loom.core.repository.sqlalchemy import RepositorySQLAlchemy, repository_for
from loom.core.runtime import Components, Runtime
from loom.core.use_case import DeclarationError
from loom.core.use_case.invoker import ApplicationInvoker
from loom.core.use_case.use_case import UseCase
from loom.testing import InMemoryRepository


class DiGadget(BaseModel):
    __tablename__ = "di_gadgets"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=60)


class DiPart(BaseModel):
    __tablename__ = "di_parts"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    label: str = ColumnField(length=60)


class GadgetRepo(RepoFor[DiGadget], Protocol):
    async def by_name(self, name: str) -> DiGadget | None: ...


@repository_for(DiGadget, contract=GadgetRepo)
class GadgetRepository(RepositorySQLAlchemy[DiGadget, int]):
    async def by_name(self, name: str) -> DiGadget | None:
        found = await self.list_by("name", [name])
        return found[0] if found else None


class Mailer:
    def __init__(self) -> None:
        self.sent: list[str] = []


class Unknown:
    """Registered nowhere."""


class Clock:
    def now(self) -> int:
        return 42


class Stamp:
    pass


class Stranger(BaseModel):
    """A model the runtime does not serve."""

    __tablename__ = "di_strangers"

    id: int = ColumnField(primary_key=True, autoincrement=True)


class Wiring(UseCase[DiPart, dict]):
    def __init__(
        self,
        parts: RepoFor[DiPart],
        gadgets: GadgetRepo,
        jobs: JobService,
        app: ApplicationInvoker,
        mailer: Mailer,
        retries: int = 3,
    ) -> None:
        self.parts = parts
        self.gadgets = gadgets
        self.jobs = jobs
        self.app = app
        self.mailer = mailer
        self.retries = retries

    async def execute(self) -> dict:
        return {}


@pytest.fixture
def sqlite_runtime(tmp_path: Path) -> Runtime:
    cfg = {"app": {"name": "di"}, "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'di.db'}"}}
    components = Components(models=[DiGadget, DiPart], use_cases=[Wiring])
    # Services are registered before the plans and instances are built at start-up.
    return build_runtime(cfg, components=components, services={Mailer: Mailer()})


def test_use_case_gets_every_kind_of_dependency(sqlite_runtime: Runtime) -> None:
    runtime = sqlite_runtime
    wiring = runtime.instance(Wiring)
    assert wiring.parts is runtime.repo_for(DiPart)
    assert wiring.main_repo is runtime.repo_for(DiPart)
    assert isinstance(wiring.gadgets, GadgetRepository)
    assert wiring.gadgets is runtime.repo_for(DiGadget)
    assert wiring.jobs is runtime.job_service
    assert wiring.app is runtime.invoker
    assert isinstance(wiring.mailer, Mailer)
    assert wiring.retries == 3


def test_custom_repository_is_main_repo_and_reachable_by_repo_for(
    sqlite_runtime: Runtime,
) -> None:
    class GadgetUseCase(UseCase[DiGadget, Any]):
        def __init__(self, gadgets: RepoFor[DiGadget]) -> None:
            self.gadgets = gadgets

        async def execute(self) -> Any:
            return None

    instance = sqlite_runtime.instance(GadgetUseCase)
    assert isinstance(instance.main_repo, GadgetRepository)
    assert instance.gadgets is instance.main_repo


def test_unresolvable_parameter_names_class_and_parameter() -> None:
    class NeedsUnknown:
        def __init__(self, thing: Unknown) -> None:
            self.thing = thing

    class Untyped:
        def __init__(self, thing) -> None:  # type: ignore[no-untyped-def]
            self.thing = thing

    container = Container()
    with pytest.raises(ResolutionError) as info:
        container.build(NeedsUnknown)
    assert "NeedsUnknown" in str(info.value)
    assert "'thing'" in str(info.value)
    assert "Unknown" in str(info.value)
    with pytest.raises(ResolutionError) as untyped:
        container.build(Untyped)
    assert "Untyped" in str(untyped.value) and "'thing'" in str(untyped.value)


def test_runtime_reports_an_unknown_repository_at_start_up() -> None:
    class NeedsStranger(UseCase[DiPart, Any]):
        def __init__(self, strangers: RepoFor[Stranger]) -> None:
            self.strangers = strangers

        async def execute(self) -> Any:
            return None

    runtime = Runtime(
        components=Components(models=[DiPart], use_cases=[NeedsStranger]),
        repository_factory=lambda model, _c: InMemoryRepository(model),
    )
    with pytest.raises(DeclarationError) as info:
        runtime.prepare()
    assert "NeedsStranger" in str(info.value) and "'strangers'" in str(info.value)


def test_container_factories_build_once_and_overrides_win() -> None:
    built: list[int] = []

    def make_mailer() -> Mailer:
        built.append(1)
        return Mailer()

    class UsesMailer:
        def __init__(self, mailer: Mailer, name: str = "x") -> None:
            self.mailer = mailer
            self.name = name

    container = Container()
    container.register_factory(Mailer, make_mailer)
    first = container.build(UsesMailer)
    second = container.build(UsesMailer, name="y")
    assert first.mailer is second.mailer
    assert built == [1]
    assert second.name == "y"
    assert container.has(Mailer) and not container.has(int)


def test_an_annotation_that_cannot_be_resolved_names_the_parameter() -> None:
    class Typo:
        def __init__(self, mailer: Mailer, clock: Clokc) -> None:  # type: ignore[name-defined]  # noqa: F821
            self.clock = clock

    with pytest.raises(ResolutionError) as info:
        Container().build(Typo)
    assert "Typo" in str(info.value) and "'clock'" in str(info.value)
    assert "Clokc" in str(info.value)


def test_callbacks_are_built_by_di() -> None:
    class Callback:
        def __init__(self, app: ApplicationInvoker, jobs: JobService) -> None:
            self.app = app
            self.jobs = jobs

        async def on_success(self, job_id: str, result: Any, **context: Any) -> None:
            return None

    runtime = Runtime(
        components=Components(models=[DiPart], callbacks=[Callback]),
        repository_factory=lambda model, _c: InMemoryRepository(model),
    )
    runtime.prepare()
    callback = runtime.instance(Callback)
    assert callback.app is runtime.invoker
    assert callback.jobs is runtime.job_service


def test_provide_registers_a_service_for_every_later_runtime() -> None:
    made: list[Stamp] = []

    def make_stamp() -> Stamp:
        made.append(Stamp())
        return made[-1]

    provide(Clock, Clock())
    provide(Stamp, factory=make_stamp)

    class UsesClock(UseCase[DiPart, int]):
        def __init__(self, clock: Clock, stamp: Stamp) -> None:
            self.clock = clock
            self.stamp = stamp

        async def execute(self) -> int:
            return self.clock.now()

    runtime = Runtime(
        components=Components(models=[DiPart], use_cases=[UsesClock]),
        repository_factory=lambda model, _c: InMemoryRepository(model),
    )
    runtime.prepare()
    assert runtime.instance(UsesClock).stamp is made[0]
    with pytest.raises(TypeError):
        provide(Clock)
