"""0.2 signature pins for ``loom.testing`` (UseCaseTest, HttpTestHarness, GoldenHarness,
serialize_plan, build_repository_harness, ScenarioDict), plus behaviour written from
API-0.2.md's descriptions. The wider suites are in tests/unit/testing and
tests/integration/testing."""

from __future__ import annotations

import inspect
from typing import Any

import msgspec
import pytest

from loom.core.command import Command
from loom.core.errors import LoomError, NotFound, RuleViolation
from loom.core.model import BaseModel, ColumnField
from loom.core.use_case import F, Input, LoadById, Rule
from loom.core.use_case.use_case import UseCase
from loom.rest.model import RestInterface
from loom.testing import (
    GoldenHarness,
    HttpTestHarness,
    InMemoryRepository,
    RepositoryIntegrationHarness,
    ScenarioDict,
    UseCaseTest,
    build_repository_harness,
    serialize_plan,
)

EMPTY = inspect.Parameter.empty


def params_of(fn: Any) -> list[tuple[str, Any]]:
    return [
        (p.name, p.default) for p in inspect.signature(fn).parameters.values() if p.name != "self"
    ]


def kinds_of(fn: Any) -> dict[str, Any]:
    return {p.name: p.kind for p in inspect.signature(fn).parameters.values()}


# -- signatures -----------------------------------------------------------------------------


def test_use_case_test_signature() -> None:
    assert params_of(UseCaseTest.__init__) == [("use_case", EMPTY)]
    assert params_of(UseCaseTest.with_params) == [("params", EMPTY)]
    assert kinds_of(UseCaseTest.with_params)["params"] is inspect.Parameter.VAR_KEYWORD
    assert kinds_of(UseCaseTest.with_input)["payload"] is inspect.Parameter.VAR_KEYWORD
    assert params_of(UseCaseTest.with_command) == [("command", EMPTY)]
    assert params_of(UseCaseTest.with_loaded) == [("model", EMPTY), ("entity", EMPTY)]
    assert params_of(UseCaseTest.with_deps) == [("model", EMPTY), ("repo", EMPTY)]
    assert params_of(UseCaseTest.with_main_repo) == [("repo", EMPTY)]
    assert inspect.iscoroutinefunction(UseCaseTest.run)
    assert isinstance(inspect.getattr_static(UseCaseTest, "plan"), property)


def test_http_test_harness_signature() -> None:
    assert params_of(HttpTestHarness.__init__) == []
    assert params_of(HttpTestHarness.inject_repo) == [("model", EMPTY), ("fake", EMPTY)]
    assert params_of(HttpTestHarness.force_error) == [
        ("model", EMPTY),
        ("method", EMPTY),
        ("exc", EMPTY),
    ]
    assert params_of(HttpTestHarness.simulate_system_error) == [("model", EMPTY), ("method", EMPTY)]
    assert params_of(HttpTestHarness.build_app) == [
        ("interfaces", EMPTY),
        ("fastapi_kwargs", EMPTY),
    ]
    assert not inspect.iscoroutinefunction(HttpTestHarness.build_app)


def test_golden_harness_signature() -> None:
    assert params_of(GoldenHarness.__init__) == []
    assert params_of(GoldenHarness.inject_repo) == [
        ("contract", EMPTY),
        ("fake", EMPTY),
        ("model", None),
    ]
    assert kinds_of(GoldenHarness.inject_repo)["model"] is inspect.Parameter.KEYWORD_ONLY
    assert params_of(GoldenHarness.force_error) == [
        ("contract", EMPTY),
        ("method", EMPTY),
        ("exc", EMPTY),
    ]
    assert params_of(GoldenHarness.simulate_system_error) == [
        ("contract", EMPTY),
        ("method", EMPTY),
    ]
    run = dict(params_of(GoldenHarness.run))
    assert list(run) == ["use_case", "params", "payload"]
    baseline = kinds_of(GoldenHarness.run_with_baseline)
    assert list(baseline) == [
        "self",
        "use_case",
        "params",
        "payload",
        "name",
        "max_ms",
        "baseline_dir",
    ]
    assert all(
        baseline[k] is inspect.Parameter.KEYWORD_ONLY
        for k in ("params", "payload", "name", "max_ms", "baseline_dir")
    )
    assert params_of(serialize_plan) == [("plan", EMPTY)]


def test_repository_harness_signature() -> None:
    assert params_of(build_repository_harness) == [
        ("session_manager", EMPTY),
        ("models", EMPTY),
        ("repositories", None),
        ("load_order", ()),
    ]
    assert set(kinds_of(build_repository_harness).values()) == {inspect.Parameter.KEYWORD_ONLY}
    assert ScenarioDict == dict[str, list[msgspec.Struct]]
    assert inspect.iscoroutinefunction(RepositoryIntegrationHarness.load)


# -- behaviour, as API-0.2.md describes it --------------------------------------------------


class PinItem(BaseModel):
    __tablename__ = "pin_t_items"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=40)


class RenameItem(Command, frozen=True):
    name: str


class RenameItemUseCase(UseCase[PinItem, PinItem]):
    rules = (Rule.check(F(RenameItem).name, via=lambda n: "too short" if len(n) < 2 else None),)

    async def execute(
        self, id: int, cmd: RenameItem = Input(), item: PinItem = LoadById(PinItem, by="id")
    ) -> PinItem:
        renamed: PinItem = await self.main_repo.update(item.id, cmd)
        return renamed


async def test_use_case_test_runs_the_real_plan_and_raises_its_errors() -> None:
    repo: InMemoryRepository[PinItem] = InMemoryRepository(PinItem)
    await repo.create({"name": "old"})
    out = await (
        UseCaseTest(RenameItemUseCase())
        .with_main_repo(repo)
        .with_params(id=1)
        .with_input(name="new")
        .run()
    )
    assert out.name == "new"
    with pytest.raises(RuleViolation):
        await (
            UseCaseTest(RenameItemUseCase())
            .with_main_repo(repo)
            .with_params(id=1)
            .with_input(name="x")
            .run()
        )
    with pytest.raises(NotFound):
        await (
            UseCaseTest(RenameItemUseCase())
            .with_main_repo(repo)
            .with_params(id=2)
            .with_input(name="xy")
            .run()
        )
    plan = serialize_plan(UseCaseTest(RenameItemUseCase()).plan)
    assert sorted(plan) == [
        "compute_steps",
        "exists_steps",
        "input_binding",
        "load_steps",
        "param_bindings",
        "rule_steps",
        "use_case",
    ]


class PinItems(RestInterface[PinItem]):
    prefix = "/pin-items"
    auto = True


def test_http_test_harness_gives_a_sync_client_that_answers_500_on_errors() -> None:
    http = HttpTestHarness()
    http.inject_repo(PinItem, InMemoryRepository(PinItem))
    http.simulate_system_error(PinItem, "get_by_id")
    client = http.build_app([PinItems])
    assert client.post("/pin-items", json={"name": "a"}).status_code == 201
    assert client.get("/pin-items/1").status_code == 500


async def test_golden_harness_forced_error_propagates() -> None:
    golden = GoldenHarness().force_error(PinItem, "get_by_id", LoomError("down"))
    with pytest.raises(LoomError, match="down"):
        await golden.run(RenameItemUseCase, params={"id": 1}, payload={"name": "ab"})
