"""``ApplicationInvoker``: other use cases and entity CRUD, inside the caller's transaction."""

from __future__ import annotations

from typing import Any

import pytest

from loom.core.command import Command
from loom.core.errors import NotFound, RuleViolation
from loom.core.model import BaseModel, ColumnField, OnDelete
from loom.core.repository.abc.query import FilterGroup, FilterSpec, QuerySpec
from loom.core.repository.sqlalchemy import RepositorySQLAlchemy
from loom.core.runtime import Components, Runtime
from loom.core.use_case import F, Input, Rule
from loom.core.use_case.invoker import ApplicationInvoker
from loom.core.use_case.use_case import UseCase


class InvAccount(BaseModel):
    __tablename__ = "inv_accounts"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    owner: str = ColumnField(length=60)
    balance: int = ColumnField(default=0)


class InvEntry(BaseModel):
    __tablename__ = "inv_entries"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    account_id: int = ColumnField(foreign_key="inv_accounts.id", on_delete=OnDelete.CASCADE)
    amount: int = ColumnField()


class Deposit(Command, frozen=True):
    amount: int


class DepositUseCase(UseCase[InvEntry, InvEntry]):
    rules = (Rule.check(F(Deposit).amount, via=lambda a: a <= 0, message="must be positive"),)

    def __init__(self, app: ApplicationInvoker) -> None:
        self.app = app

    async def execute(self, account_id: int, cmd: Deposit = Input()) -> InvEntry:
        accounts = self.app.entity(InvAccount)
        account = await accounts.get(params={"id": account_id})
        if account is None:
            raise NotFound(model="InvAccount", id=account_id)
        entry = await self.main_repo.create({"account_id": account_id, "amount": cmd.amount})
        await accounts.update(
            params={"id": account_id}, payload={"balance": account.balance + cmd.amount}
        )
        return entry  # type: ignore[no-any-return]


class OpenAndFund(Command, frozen=True):
    owner: str
    amounts: list[int]
    fail_after: bool = False


class OpenAndFundUseCase(UseCase[InvAccount, Any]):
    """A workflow: create through the entity invoker, then run another use case per step."""

    def __init__(self, app: ApplicationInvoker) -> None:
        self.app = app

    async def execute(self, cmd: OpenAndFund = Input()) -> Any:
        account = await self.app.entity(InvAccount).create(payload={"owner": cmd.owner})
        for amount in cmd.amounts:
            await self.app.invoke(
                DepositUseCase, params={"account_id": account.id}, payload={"amount": amount}
            )
        if cmd.fail_after:
            raise RuntimeError("boom after the writes")
        return await self.app.entity(InvAccount).get(params={"id": account.id})


@pytest.fixture
def runtime(database: Any) -> Runtime:
    rt = Runtime(
        components=Components(
            models=[InvAccount, InvEntry], use_cases=[DepositUseCase, OpenAndFundUseCase]
        ),
        uow=database,
        repository_factory=lambda model, _c: RepositorySQLAlchemy(database, model),
    )
    rt.prepare()
    return rt


async def _counts(runtime: Runtime) -> tuple[int, int]:
    async with runtime.unit_of_work():
        return (
            await runtime.repo_for(InvAccount).count(),
            await runtime.repo_for(InvEntry).count(),
        )


async def test_invoke_and_entity_crud_commit_together(runtime: Runtime) -> None:
    account = await runtime.execute(
        OpenAndFundUseCase, payload={"owner": "ann", "amounts": [10, 5]}
    )
    assert account.owner == "ann"
    assert account.balance == 15
    assert await _counts(runtime) == (1, 2)


async def test_a_failure_late_in_the_workflow_rolls_back_every_step(runtime: Runtime) -> None:
    with pytest.raises(RuntimeError):
        await runtime.execute(
            OpenAndFundUseCase, payload={"owner": "bob", "amounts": [1, 2], "fail_after": True}
        )
    assert await _counts(runtime) == (0, 0)


async def test_a_rule_failing_in_an_invoked_use_case_rolls_back_the_caller(
    runtime: Runtime,
) -> None:
    with pytest.raises(RuleViolation) as info:
        await runtime.execute(OpenAndFundUseCase, payload={"owner": "cy", "amounts": [3, -1]})
    assert info.value.errors[0].field == "amount"
    assert await _counts(runtime) == (0, 0)


async def test_entity_invoker_crud_and_list_on_its_own(runtime: Runtime) -> None:
    accounts = runtime.invoker.entity(InvAccount)
    assert runtime.invoker.entity(InvAccount) is accounts
    created = await accounts.create(payload={"owner": "dee", "balance": 3})
    assert (await accounts.get(params={"id": created.id})).balance == 3
    updated = await accounts.update(params={"id": created.id}, payload={"balance": 9})
    assert updated.balance == 9
    await accounts.create(payload={"owner": "eve"})
    page = await accounts.list(
        query=QuerySpec(filters=FilterGroup(filters=(FilterSpec(field="owner", value="eve"),)))
    )
    assert [a.owner for a in page.items] == ["eve"]
    assert await accounts.delete(params={"id": created.id}) is True
    # As in 0.2: a missing entity is NotFound for get and update, False for delete.
    with pytest.raises(NotFound) as missing:
        await accounts.get(params={"id": created.id})
    assert (missing.value.entity, missing.value.id) == ("InvAccount", created.id)
    with pytest.raises(NotFound):
        await accounts.update(params={"id": created.id}, payload={"balance": 1})
    assert await accounts.delete(params={"id": created.id}) is False


async def test_invoke_runs_markers_and_rules_of_the_target(runtime: Runtime) -> None:
    with pytest.raises(NotFound):
        await runtime.invoker.invoke(
            DepositUseCase, params={"account_id": 404}, payload={"amount": 1}
        )
    account = await runtime.invoker.entity(InvAccount).create(payload={"owner": "fay"})
    entry = await runtime.invoker.invoke(
        DepositUseCase, params={"account_id": str(account.id)}, payload={"amount": 7}
    )
    assert entry.amount == 7
    assert (await runtime.invoker.entity(InvAccount).get(params={"id": account.id})).balance == 7
