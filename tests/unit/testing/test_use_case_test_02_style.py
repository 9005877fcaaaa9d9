"""A use-case test suite written exactly as a 0.2 application writes one.

Everything here comes from API-0.2.md: ``UseCase[Result]``,
``super().__init__(main_repo=)``, a synchronous ``execute``, ``Load`` by a command
field, ``Rule.check`` with several targets and a ``True`` result, plain-callable rules
raising ``RuleViolation(field, message)``, ``Rule.require_present``,
``Compute.set(...).from_command(...)`` copying a value, and errors caught as Python
objects (``NotFound.entity``/``.id``, ``RuleViolations.violations``).
"""

from __future__ import annotations

from typing import Any

import pytest

from loom.core.command import Command, Patch
from loom.core.errors import NotFound
from loom.core.model import BaseModel, ColumnField
from loom.core.use_case import (
    Compute,
    F,
    Input,
    Load,
    LoadById,
    Rule,
    RuleViolation,
    RuleViolations,
    UseCase,
)
from loom.testing import InMemoryRepository, UseCaseTest, serialize_plan


class StUser(BaseModel):
    __tablename__ = "st02_users"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    email: str = ColumnField(length=120, unique=True)
    nickname: str = ColumnField(length=40)
    plan: str = ColumnField(length=20, default="free")


class StInvite(BaseModel):
    __tablename__ = "st02_invites"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    code: str = ColumnField(length=20, unique=True)
    plan: str = ColumnField(length=20)


class SignUp(Command, frozen=True):
    email: str
    nickname: str
    invite_code: str
    display: Patch[str]


def reserved_nickname(cmd: Any, fields_set: frozenset[str]) -> None:
    if cmd.nickname.lower() in {"admin", "root"}:
        raise RuleViolation("nickname", "is reserved")


def same_as_email(email: str, nickname: str) -> bool:
    return email.split("@")[0] == nickname


class SignUpUseCase(UseCase[StUser]):
    computes = (Compute.set(F(SignUp).display).from_command(F(SignUp).nickname),)
    rules = (
        Rule.check(F(SignUp).nickname, F(SignUp).email, via=lambda n, e: same_as_email(e, n)),
        reserved_nickname,
        Rule.require_present(F(SignUp).invite_code),
    )

    def __init__(self, users: Any) -> None:
        super().__init__(main_repo=users)

    async def execute(
        self,
        cmd: SignUp = Input(),
        invite: StInvite = Load(StInvite, from_command="invite_code", against="code"),
    ) -> StUser:
        assert cmd.display == cmd.nickname  # the compute ran before execute
        user: StUser = await self.main_repo.create(
            {"email": cmd.email, "nickname": cmd.nickname, "plan": invite.plan}
        )
        return user


class NicknameOf(UseCase[str]):
    """Synchronous execute: a 0.2 use case that waits for nothing."""

    def execute(self, user_id: int, user: StUser = LoadById(StUser, by="user_id")) -> str:
        return user.nickname


@pytest.fixture
def users() -> InMemoryRepository[StUser]:
    return InMemoryRepository(StUser)


@pytest.fixture
async def invites() -> InMemoryRepository[StInvite]:
    repo: InMemoryRepository[StInvite] = InMemoryRepository(StInvite)
    await repo.create({"code": "WELCOME", "plan": "pro"})
    return repo


def sign_up(users: Any, invites: Any, **payload: Any) -> UseCaseTest[StUser]:
    return UseCaseTest(SignUpUseCase(users)).with_deps(StInvite, invites).with_input(**payload)


async def test_sign_up_loads_the_invite_by_a_command_field(
    users: InMemoryRepository[StUser], invites: InMemoryRepository[StInvite]
) -> None:
    user = await sign_up(
        users, invites, email="ada@example.com", nickname="lovelace", invite_code="WELCOME"
    ).run()
    assert (user.nickname, user.plan) == ("lovelace", "pro")
    assert await users.count() == 1


async def test_violations_are_collected_with_python_field_names(
    users: InMemoryRepository[StUser], invites: InMemoryRepository[StInvite]
) -> None:
    with pytest.raises(RuleViolations) as err:
        await sign_up(
            users, invites, email="admin@example.com", nickname="admin", invite_code="WELCOME"
        ).run()
    found = sorted((v.field, v.message) for v in err.value.violations)
    assert found == [("nickname", "Rule check failed"), ("nickname", "is reserved")]
    assert await users.count() == 0


async def test_an_unknown_invite_is_not_found_with_entity_and_id(
    users: InMemoryRepository[StUser], invites: InMemoryRepository[StInvite]
) -> None:
    with pytest.raises(NotFound) as err:
        await sign_up(
            users, invites, email="b@example.com", nickname="bea", invite_code="NOPE"
        ).run()
    assert (err.value.entity, err.value.id) == ("StInvite", "NOPE")


async def test_the_invite_can_be_handed_over_instead_of_loaded(
    users: InMemoryRepository[StUser],
) -> None:
    invite = StInvite(id=9, code="ANY", plan="team")
    user = await (
        UseCaseTest(SignUpUseCase(users))
        .with_loaded(StInvite, invite)
        .with_input(email="c@example.com", nickname="cy", invite_code="ANY")
        .run()
    )
    assert user.plan == "team"


async def test_a_synchronous_execute_runs_through_the_same_plan(
    users: InMemoryRepository[StUser],
) -> None:
    user = await users.create({"email": "d@example.com", "nickname": "dee"})
    assert (
        await UseCaseTest(NicknameOf()).with_deps(StUser, users).with_params(user_id=user.id).run()
        == "dee"
    )
    with pytest.raises(NotFound):
        await UseCaseTest(NicknameOf()).with_deps(StUser, users).with_params(user_id=404).run()


async def test_the_same_instance_is_the_one_that_runs(
    users: InMemoryRepository[StUser], invites: InMemoryRepository[StInvite]
) -> None:
    instance = SignUpUseCase(users)
    test = UseCaseTest(instance).with_deps(StInvite, invites)
    test.with_input(email="e@example.com", nickname="eve", invite_code="WELCOME")
    await test.run()
    assert test.use_case is instance and instance.main_repo is users


def test_plan_snapshot_names_every_step_exactly() -> None:
    plan = serialize_plan(UseCaseTest(SignUpUseCase(None)).plan)
    assert plan["load_steps"] == [
        {
            "against": "code",
            "entity": "StInvite",
            "from_command": "invite_code",
            "from_param": None,
            "marker": "Load",
            "on_missing": "raise",
            "param": "invite",
            "profile": "default",
        }
    ]
    assert plan["compute_steps"] == [
        {"sources": ["F(SignUp).nickname"], "target": "F(SignUp).display", "type": "Compute"}
    ]
    assert [step.get("targets", step.get("callable")) for step in plan["rule_steps"]] == [
        ["F(SignUp).nickname", "F(SignUp).email"],
        "reserved_nickname",
        ["F(SignUp).invite_code"],
    ]
