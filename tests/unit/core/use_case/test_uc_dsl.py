"""The full rule and compute DSL, and the 0.2 pipeline order around ``execute``."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest
from uc_support import UcAuthor, UcBook, memory_runtime

from loom.core.command import Command, Patch, fields_set
from loom.core.errors import NotFound, RuleViolation, RuleViolations, ValidationError
from loom.core.use_case import (
    Compute,
    DeclarationError,
    Exists,
    F,
    Input,
    Load,
    LoadById,
    OnMissing,
    PredicateOp,
    Rule,
)
from loom.core.use_case.use_case import UseCase


async def _violations(runtime: Any, cls: type, **kwargs: Any) -> list[tuple[str | None, str]]:
    with pytest.raises(RuleViolations) as info:
        await runtime.execute(cls, **kwargs)
    assert info.value.code == "rule_violations" and info.value.status == 422
    return [(v.field, v.message) for v in info.value.violations]


class Window(Command, frozen=True):
    start: int
    end: int
    label: str = ""


class CheckWindow(UseCase[UcBook, str]):
    rules = (
        Rule.check(F(Window).start, F(Window).end, via=lambda s, e: s > e),
        Rule.check(F(Window).label, via=lambda lb: lb == "bad", message="label refused"),
        Rule.check(F(Window).end, via=lambda e: 1 if e > 100 else None),  # truthy, not True
    )

    async def execute(self, cmd: Window = Input()) -> str:
        return "ok"


async def test_check_takes_several_targets_and_true_fails_with_the_default_message() -> None:
    runtime = memory_runtime()
    assert await _violations(runtime, CheckWindow, payload={"start": 5, "end": 1}) == [
        ("start", "Rule check failed")
    ]
    assert await _violations(
        runtime, CheckWindow, payload={"start": 1, "end": 2, "label": "bad"}
    ) == [("label", "label refused")]
    # Only True (or a str) fails: other truthy results pass, as in 0.2.
    assert await runtime.execute(CheckWindow, payload={"start": 1, "end": 500}) == "ok"


def _returns_violation(start: int) -> RuleViolation | None:
    return RuleViolation("window", "starts in the past") if start < 0 else None


def _raises_violation(end: int) -> None:
    if end == 13:
        raise RuleViolation("end", "unlucky")


class ViolationObjects(UseCase[UcBook, str]):
    rules = (
        Rule.check(F(Window).start, via=_returns_violation),
        Rule.check(F(Window).end, via=_raises_violation),
    )

    async def execute(self, cmd: Window = Input()) -> str:
        return "ok"


async def test_returned_and_raised_violations_are_collected_with_the_others() -> None:
    assert await _violations(
        memory_runtime(), ViolationObjects, payload={"start": -1, "end": 13}
    ) == [("window", "starts in the past"), ("end", "unlucky")]


class Profile(Command, frozen=True):
    email: Patch[str]
    phone: Patch[str]
    nickname: Patch[str | None] = None
    age: Patch[int]


class EditProfile(UseCase[UcAuthor, dict]):
    rules = (
        Rule.require_present(F(Profile).email).when_present(F(Profile).phone),
        Rule.require_present(F(Profile).nickname, field="nick", message="say who you are"),
        Rule.check(F(Profile).age, via=lambda a: a < 0, message="must not be negative"),
        Rule.forbid(lambda email, phone: email == phone, message="same contact twice")
        .from_command(F(Profile).email, F(Profile).phone)
        .when_present(F(Profile).email & F(Profile).phone),
    )

    async def execute(self, cmd: Profile = Input()) -> dict:
        return {"sent": sorted(fields_set(cmd))}


async def test_require_present_and_patch_fields() -> None:
    runtime = memory_runtime()
    assert await _violations(runtime, EditProfile, payload={"phone": "1"}) == [
        ("email", "email is required"),
        ("nick", "say who you are"),
    ]
    # A Patch[T | None] sent as null is present as sent, but None: still missing.
    assert await _violations(
        runtime, EditProfile, payload={"email": "a", "phone": "1", "nickname": None}
    ) == [("nick", "say who you are")]
    out = await runtime.execute(EditProfile, payload={"nickname": "n"})
    assert out == {"sent": ["nickname"]}


async def test_forbid_from_command_passes_values_and_names_the_first_field() -> None:
    assert await _violations(
        memory_runtime(), EditProfile, payload={"email": "x", "phone": "x", "nickname": "n"}
    ) == [("email", "same contact twice")]


async def test_a_patch_field_refusing_null_never_reaches_a_rule_as_none() -> None:
    runtime = memory_runtime()
    # Not sent: the check on `age` is skipped instead of receiving None.
    assert await runtime.execute(EditProfile, payload={"nickname": "n"})
    # Sent as null: a 422 naming the field, before any rule runs.
    with pytest.raises(ValidationError) as info:
        await runtime.execute(EditProfile, payload={"nickname": "n", "age": None})
    assert [e.field for e in info.value.errors] == ["age"]
    assert await _violations(runtime, EditProfile, payload={"nickname": "n", "age": -1}) == [
        ("age", "must not be negative")
    ]


class Contact(Command, frozen=True):
    email: Patch[str | None] = None
    phone: Patch[str | None] = None
    note: str = ""


class NoteNeedsContact(UseCase[UcAuthor, str]):
    rules = (
        Rule.check(F(Contact).note, via=lambda n: n == "", message="a note is needed").when_present(
            F(Contact).email | F(Contact).phone
        ),
    )

    async def execute(self, cmd: Contact = Input()) -> str:
        return cmd.note


async def test_when_present_with_or() -> None:
    runtime = memory_runtime()
    assert await runtime.execute(NoteNeedsContact, payload={}) == ""
    for sent in ({"email": "a"}, {"phone": "1"}, {"email": "a", "phone": "1"}):
        assert await _violations(runtime, NoteNeedsContact, payload=sent) == [
            ("note", "a note is needed")
        ]


def test_field_expressions_combine_and_nest() -> None:
    expr = (F(Contact).email | F(Contact).phone) & F(Contact).note
    assert expr.op is PredicateOp.AND
    assert [r.leaf for r in expr.refs()] == ["email", "phone", "note"]
    assert F(Contact).email.leaf == "email"


class Address(msgspec.Struct, frozen=True):
    city: str
    zip_code: str = ""


class Ship(Command, frozen=True):
    address: Address
    city_label: str = ""


class ShipTo(UseCase[UcBook, str]):
    computes = (Compute.set(F(Ship).city_label).from_command(F(Ship).address.city),)
    rules = (
        Rule.check(F(Ship).address.zip_code, via=lambda z: "" if z else "zip missing"),
        Rule.check(F("cmd").city_label, via=lambda c: c == "Nowhere"),
    )

    async def execute(self, cmd: Ship = Input()) -> str:
        return cmd.city_label


async def test_nested_paths_copy_compute_and_string_roots() -> None:
    runtime = memory_runtime()
    payload = {"address": {"city": "Lyon", "zip_code": "69001"}}
    assert await runtime.execute(ShipTo, payload=payload) == "Lyon"
    # The violation names the leaf of the nested path (Python name).
    assert await _violations(runtime, ShipTo, payload={"address": {"city": "Nowhere"}}) == [
        ("zip_code", "zip missing"),
        ("city_label", "Rule check failed"),
    ]


def _normalise(cmd: Contact, sent: frozenset[str]) -> Contact:
    return msgspec.structs.replace(cmd, note=cmd.note.strip())


def _with_context(cmd: Contact, sent: frozenset[str], context: Any) -> Contact:
    return msgspec.structs.replace(cmd, note=f"{cmd.note}#{context['author_id']}")


def _no_blank_note(cmd: Contact, sent: frozenset[str]) -> None:
    if "note" in sent and not cmd.note:
        raise RuleViolation("note", "blank")


def _author_must_exist(cmd: Contact, sent: frozenset[str], context: Any) -> None:
    if not context["known"]:
        raise RuleViolation("author_id", "no such author")


class PlainCallables(UseCase[UcBook, dict]):
    computes = (_normalise, _with_context)
    rules = (_no_blank_note, _author_must_exist)

    async def execute(
        self,
        author_id: int,
        cmd: Contact = Input(),
        known: bool = Exists(UcAuthor, from_param="author_id"),
    ) -> dict:
        return {"note": cmd.note, "sent": sorted(fields_set(cmd))}


async def test_plain_callable_rules_and_computes() -> None:
    runtime = memory_runtime()
    author = await runtime.repo_for(UcAuthor).create({"name": "A", "email": "a@x.io"})
    out = await runtime.execute(
        PlainCallables, params={"author_id": author.id}, payload={"note": " hi "}
    )
    # Computes return new commands; the sent-fields set carries over.
    assert out == {"note": f"hi#{author.id}", "sent": ["note"]}
    assert await _violations(
        runtime, PlainCallables, params={"author_id": 999}, payload={"note": "x"}
    ) == [("author_id", "no such author")]


class Order(Command, frozen=True):
    author_email: str
    quantity: int
    unit_cents: int = 0
    total_cents: int = 0
    author_name: str = ""


def _total(cmd: Order, percent: int) -> int:
    return cmd.quantity * cmd.unit_cents * (100 - percent) // 100


class PlaceOrder(UseCase[UcBook, dict]):
    computes = (
        # Loads run before computes (0.2's order): the loaded author is available.
        Compute.set(F(Order).author_name).from_params("author", via=lambda cmd, a: a.name),
        Compute.set(F(Order).total_cents).from_command(via=_total).from_params("percent"),
        Compute.set(F(Order).unit_cents)
        .from_command(F(Order).quantity, via=lambda q: 1)
        .when_present(F(Order).unit_cents),
    )
    rules = (Rule.check(F(UcAuthor).name, via=lambda n: n == "Banned"),)

    async def execute(
        self,
        percent: int,
        cmd: Order = Input(),
        author: UcAuthor = Load(UcAuthor, from_command="author_email", against="email"),
    ) -> dict:
        return {"name": cmd.author_name, "total": cmd.total_cents, "unit": cmd.unit_cents}


async def test_loads_then_computes_then_rules() -> None:
    runtime = memory_runtime()
    await runtime.repo_for(UcAuthor).create({"name": "Ann", "email": "ann@x.io"})
    out = await runtime.execute(
        PlaceOrder,
        params={"percent": 10},
        payload={"authorEmail": "ann@x.io", "quantity": 2, "unitCents": 500},
    )
    # unit_cents was sent, so the guarded compute ran after the total was computed.
    assert out == {"name": "Ann", "total": 900, "unit": 1}
    out = await runtime.execute(
        PlaceOrder, params={"percent": 0}, payload={"authorEmail": "ann@x.io", "quantity": 2}
    )
    assert out == {"name": "Ann", "total": 0, "unit": 0}
    with pytest.raises(NotFound) as info:
        await runtime.execute(
            PlaceOrder, params={"percent": 0}, payload={"authorEmail": "no@x.io", "quantity": 1}
        )
    assert info.value.entity == "UcAuthor"
    assert "email='no@x.io'" in info.value.message


async def test_a_rule_may_read_a_loaded_model_through_f_of_the_model() -> None:
    runtime = memory_runtime()
    await runtime.repo_for(UcAuthor).create({"name": "Banned", "email": "b@x.io"})
    assert await _violations(
        runtime, PlaceOrder, params={"percent": 0}, payload={"authorEmail": "b@x.io", "quantity": 1}
    ) == [("name", "Rule check failed")]


class LoadModes(UseCase[UcBook, Any]):
    async def execute(
        self,
        email: str,
        as_none: Any = Load(
            UcAuthor, from_param="email", against="email", on_missing=OnMissing.RETURN_NONE
        ),
        as_false: Any = Load(
            UcAuthor, from_param="email", against="email", on_missing=OnMissing.RETURN_FALSE
        ),
        by_id: Any = LoadById(UcAuthor, by="email", on_missing=OnMissing.RETURN_FALSE),
    ) -> Any:
        return as_none, as_false, by_id


async def test_on_missing_policies_of_load_and_load_by_id() -> None:
    assert await memory_runtime().execute(LoadModes, params={"email": "x@y.z"}) == (
        None,
        False,
        False,
    )


class Counter(UseCase[UcBook, int]):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def execute(self, n: int) -> int:
        self.calls += n
        await asyncio.sleep(0)
        return self.calls


async def test_each_call_gets_its_own_instance() -> None:
    runtime = memory_runtime(use_cases=[Counter])
    runtime.prepare()
    results = await asyncio.gather(*(runtime.execute(Counter, params={"n": n}) for n in (1, 2, 3)))
    assert results == [1, 2, 3]


class SyncUseCase(UseCase[str]):
    def execute(self, name: str) -> str:  # a plain def runs inline
        return f"hello {name}"


async def test_sync_execute_and_the_one_argument_form() -> None:
    assert SyncUseCase.model is None and SyncUseCase.result_type is str
    assert await memory_runtime().execute(SyncUseCase, params={"name": "ann"}) == "hello ann"


class WithOwnRepo(UseCase[UcBook, str]):
    def __init__(self, books: Any = None) -> None:
        super().__init__(main_repo="the repo I chose")

    async def execute(self) -> str:
        return str(self.main_repo)


async def test_super_init_main_repo_wins_over_the_models_repository() -> None:
    runtime = memory_runtime(use_cases=[WithOwnRepo])
    runtime.prepare()
    assert await runtime.execute(WithOwnRepo) == "the repo I chose"


def test_declaration_errors_of_the_dsl_name_the_problem() -> None:
    class TwoSourcesNoVia(UseCase[UcBook, str]):
        async def execute(self, cmd: Window = Input()) -> str:
            return ""

    with pytest.raises(TypeError, match="needs via="):
        Compute.set(F(Window).label).from_command(F(Window).start, F(Window).end)

    class BareCompute(UseCase[UcBook, str]):
        computes = (Compute.set(F(Window).label),)

        async def execute(self, cmd: Window = Input()) -> str:
            return ""

    class NestedTypo(UseCase[UcBook, str]):
        rules = (Rule.check(F(Ship).address.ctiy, via=bool),)

        async def execute(self, cmd: Ship = Input()) -> str:
            return ""

    class BadPlain(UseCase[UcBook, str]):
        rules = (lambda cmd: None,)

        async def execute(self, cmd: Window = Input()) -> str:
            return ""

    for cls, needle in (
        (BareCompute, "no source"),
        (NestedTypo, "'ctiy'"),
        (BadPlain, "(cmd, fields_set)"),
    ):
        runtime = memory_runtime(use_cases=[cls])
        with pytest.raises(DeclarationError) as info:
            runtime.prepare()
        assert cls.__qualname__ in str(info.value) and needle in str(info.value)


class EditPages(Command, frozen=True):
    pages: Patch[int | None]


class EditBookPages(UseCase[UcBook, UcBook]):
    async def execute(self, book_id: int, cmd: EditPages = Input()) -> UcBook:
        return await self.main_repo.update(book_id, cmd)


async def test_a_null_for_a_column_that_is_not_nullable_is_a_422() -> None:
    runtime = memory_runtime()
    author = await runtime.repo_for(UcAuthor).create({"name": "A", "email": "a@x.io"})
    book = await runtime.repo_for(UcBook).create({"author_id": author.id, "title": "T"})
    with pytest.raises(ValidationError) as info:
        await runtime.execute(EditBookPages, params={"book_id": book.id}, payload={"pages": None})
    assert [e.field for e in info.value.errors] == ["pages"]
    updated = await runtime.execute(
        EditBookPages, params={"book_id": book.id}, payload={"pages": 9}
    )
    assert updated.pages == 9
