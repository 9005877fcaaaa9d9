"""A 0.2-style use-case suite: ``UseCaseTest`` as an application's tests use it.

The use cases below are written as a 0.2 application writes them; each test builds
one instance, hands it its repositories and inputs with the ``with_*`` builders and
runs it through the real plan (no DI, no transaction).
"""

from __future__ import annotations

from typing import Any

import pytest

from loom.core.command import Command, Patch
from loom.core.errors import NotFound, RuleViolation
from loom.core.model import BaseModel, ColumnField
from loom.core.use_case import Compute, Exists, F, Input, LoadById, OnMissing, Rule
from loom.core.use_case.use_case import UseCase
from loom.testing import InMemoryRepository, UseCaseTest, serialize_plan


class UtAccount(BaseModel):
    __tablename__ = "ut_accounts"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    email: str = ColumnField(length=120, unique=True)
    name: str = ColumnField(length=60)
    credit: int = ColumnField(default=0)


class UtTeam(BaseModel):
    __tablename__ = "ut_teams"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    title: str = ColumnField(length=60)


class OpenAccount(Command, frozen=True):
    email: str
    name: str
    credit: int = 0


class RenameAccount(Command, frozen=True):
    name: Patch[str] = None


def not_blank(value: str) -> str | None:
    return "must not be blank" if not value.strip() else None


def lower(value: str) -> str:
    return value.strip().lower()


class OpenAccountUseCase(UseCase[UtAccount, UtAccount]):
    computes = (Compute.set(F(OpenAccount).email).from_command(F(OpenAccount).email, via=lower),)
    rules = (
        Rule.check(F(OpenAccount).name, via=not_blank),
        Rule.check(F(OpenAccount).credit, via=lambda c: "cannot be negative" if c < 0 else None),
    )

    async def execute(
        self,
        team_id: int,
        cmd: OpenAccount = Input(),
        _team: bool = Exists(UtTeam, from_param="team_id", on_missing=OnMissing.RAISE),
    ) -> UtAccount:
        account: UtAccount = await self.main_repo.create(cmd)
        return account


class RenameAccountUseCase(UseCase[UtAccount, UtAccount]):
    async def execute(
        self,
        account_id: int,
        cmd: RenameAccount = Input(),
        account: UtAccount = LoadById(UtAccount, by="account_id"),
    ) -> UtAccount:
        renamed: UtAccount = await self.main_repo.update(account.id, cmd)
        return renamed


class Greeting(Command, frozen=True):
    greeting: str


class GreetUseCase(UseCase[UtAccount, str]):
    """Reads nothing through main_repo: the loaded entity is all it needs."""

    async def execute(
        self,
        account_id: int,
        cmd: Greeting = Input(),
        account: UtAccount | None = LoadById(
            UtAccount, by="account_id", on_missing=OnMissing.RETURN_NONE
        ),
    ) -> str:
        return f"{cmd.greeting}, {account.name if account else 'stranger'}"


@pytest.fixture
async def accounts() -> InMemoryRepository[UtAccount]:
    return InMemoryRepository(UtAccount)


@pytest.fixture
async def teams() -> InMemoryRepository[UtTeam]:
    repo: InMemoryRepository[UtTeam] = InMemoryRepository(UtTeam)
    await repo.create({"title": "core"})
    return repo


async def test_creates_through_the_main_repo_with_computes_applied(
    accounts: InMemoryRepository[UtAccount], teams: InMemoryRepository[UtTeam]
) -> None:
    created = await (
        UseCaseTest(OpenAccountUseCase())
        .with_main_repo(accounts)
        .with_deps(UtTeam, teams)
        .with_params(team_id=1)
        .with_input(email="  Ada@Example.COM ", name="Ada")
        .run()
    )
    assert (created.email, created.name, created.credit) == ("ada@example.com", "Ada", 0)
    assert await accounts.get_by_id(created.id) == created


async def test_every_failed_rule_is_reported_and_nothing_is_written(
    accounts: InMemoryRepository[UtAccount], teams: InMemoryRepository[UtTeam]
) -> None:
    test = (
        UseCaseTest(OpenAccountUseCase())
        .with_main_repo(accounts)
        .with_deps(UtTeam, teams)
        .with_params(team_id=1)
        .with_input(email="a@b.c", name=" ", credit=-5)
    )
    with pytest.raises(RuleViolation) as err:
        await test.run()
    messages = sorted(str(e.message) for e in err.value.errors)
    assert messages == ["cannot be negative", "must not be blank"]
    assert await accounts.count() == 0


async def test_a_missing_dependency_is_not_found_before_execute(
    accounts: InMemoryRepository[UtAccount],
) -> None:
    test = (
        UseCaseTest(OpenAccountUseCase())
        .with_main_repo(accounts)
        .with_deps(UtTeam, InMemoryRepository(UtTeam))
        .with_params(team_id=7)
        .with_input(email="a@b.c", name="Ada")
    )
    with pytest.raises(NotFound):
        await test.run()
    assert await accounts.count() == 0


async def test_with_loaded_hands_over_the_entity_without_a_repository() -> None:
    ada = UtAccount(id=3, email="ada@example.com", name="Ada", credit=0)
    out = await (
        UseCaseTest(GreetUseCase())
        .with_loaded(UtAccount, ada)
        .with_params(account_id=3)
        .with_input(greeting="Hello")
        .run()
    )
    assert out == "Hello, Ada"
    missing = await (
        UseCaseTest(GreetUseCase())
        .with_loaded(UtAccount, None)
        .with_params(account_id=3)
        .with_input(greeting="Hi")
        .run()
    )
    assert missing == "Hi, stranger"


async def test_load_by_id_reads_the_main_repo_and_raises_not_found(
    accounts: InMemoryRepository[UtAccount],
) -> None:
    ada = await accounts.create({"email": "ada@example.com", "name": "Ada"})
    renamed = await (
        UseCaseTest(RenameAccountUseCase())
        .with_main_repo(accounts)
        .with_params(account_id=ada.id)
        .with_input(name="Ada L.")
        .run()
    )
    assert renamed.name == "Ada L."
    with pytest.raises(NotFound):
        await (
            UseCaseTest(RenameAccountUseCase())
            .with_main_repo(accounts)
            .with_params(account_id=99)
            .with_input(name="x")
            .run()
        )


async def test_with_command_passes_a_built_command(
    accounts: InMemoryRepository[UtAccount], teams: InMemoryRepository[UtTeam]
) -> None:
    created = await (
        UseCaseTest(OpenAccountUseCase())
        .with_main_repo(accounts)
        .with_deps(UtTeam, teams)
        .with_params(team_id=1)
        .with_command(OpenAccount(email="B@X.IO", name="Bea", credit=5))
        .run()
    )
    assert (created.email, created.credit) == ("b@x.io", 5)


async def test_a_marker_without_a_repository_says_which_builder_to_call() -> None:
    test = UseCaseTest(GreetUseCase()).with_params(account_id=1).with_input(greeting="Hi")
    with pytest.raises(LookupError, match=r"with_deps\(UtAccount, repo\).*with_loaded"):
        await test.run()


async def test_the_plan_is_the_real_one_and_serializes_deterministically() -> None:
    test: UseCaseTest[Any] = UseCaseTest(OpenAccountUseCase())
    plan = serialize_plan(test.plan)
    assert list(plan) == sorted(plan)
    assert list(plan) == [
        "compute_steps",
        "exists_steps",
        "input_binding",
        "load_steps",
        "param_bindings",
        "rule_steps",
        "use_case",
    ]
    assert plan["use_case"] == "OpenAccountUseCase"
    assert plan["input_binding"] == {"command": "OpenAccount", "param": "cmd"}
    assert [b["param"] for b in plan["param_bindings"]] == ["team_id"]
    (exists,) = plan["exists_steps"]
    assert (exists["entity"], exists["from_param"], exists["on_missing"]) == (
        "UtTeam",
        "team_id",
        "raise",
    )
    assert plan["load_steps"] == []
    assert len(plan["compute_steps"]) == 1 and len(plan["rule_steps"]) == 2
    assert "lower" in str(plan["compute_steps"])
    assert serialize_plan(UseCaseTest(OpenAccountUseCase()).plan) == plan
