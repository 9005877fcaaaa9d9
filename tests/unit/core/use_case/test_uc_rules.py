"""Rules and computes: declared checks and derived fields around ``execute``."""

from __future__ import annotations

from typing import Any

import pytest
from uc_support import UcAuthor, UcBook, memory_runtime

from loom.core.command import Command, Patch
from loom.core.errors import RuleViolation
from loom.core.use_case import Compute, Exists, F, Input, Rule
from loom.core.use_case.use_case import UseCase


def short_title(title: str) -> str | None:
    return "must have at least 3 characters" if len(title) < 3 else None


def short_subtitle(subtitle: str | None) -> str | None:
    return short_title(subtitle) if subtitle is not None else None


def is_negative(pages: int) -> bool:
    return pages < 0


class WriteBook(Command, frozen=True):
    title: str
    pages: int = 0
    subtitle: Patch[str | None] = None


class CreateBook(UseCase[UcBook, str]):
    rules = (
        Rule.check(F(WriteBook).title, via=short_title),
        Rule.check(F(WriteBook).pages, via=is_negative, message="must not be negative"),
    )

    async def execute(self, cmd: WriteBook = Input()) -> str:
        return cmd.title


async def _violations(runtime: Any, cls: type, **kwargs: Any) -> list[tuple[str | None, str]]:
    with pytest.raises(RuleViolation) as info:
        await runtime.execute(cls, **kwargs)
    assert info.value.status == 422
    assert info.value.code == "rule_violations"
    return [(e.field, e.message) for e in info.value.errors]


async def test_check_fails_with_the_string_the_function_returns() -> None:
    runtime = memory_runtime()
    assert await _violations(runtime, CreateBook, payload={"title": "ab"}) == [
        ("title", "must have at least 3 characters")
    ]


async def test_check_with_message_fails_when_the_function_returns_true() -> None:
    runtime = memory_runtime()
    assert await _violations(runtime, CreateBook, payload={"title": "abc", "pages": -1}) == [
        ("pages", "must not be negative")
    ]
    assert await runtime.execute(CreateBook, payload={"title": "abc", "pages": 0}) == "abc"


async def test_several_failures_are_reported_together_in_declaration_order() -> None:
    runtime = memory_runtime()
    assert await _violations(runtime, CreateBook, payload={"title": "", "pages": -5}) == [
        ("title", "must have at least 3 characters"),
        ("pages", "must not be negative"),
    ]


class EditBook(UseCase[UcBook, str]):
    rules = (
        Rule.check(F(WriteBook).subtitle, via=short_subtitle).when_present(F(WriteBook).subtitle),
        Rule.forbid(
            lambda cmd, sent: "subtitle" in sent and cmd.subtitle is None,
            message="subtitle cannot be cleared",
        ),
    )

    async def execute(self, cmd: WriteBook = Input()) -> str:
        return cmd.subtitle or "-"


async def test_when_present_skips_fields_that_were_not_sent() -> None:
    runtime = memory_runtime()
    assert await runtime.execute(EditBook, payload={"title": "Dune"}) == "-"
    assert await _violations(runtime, EditBook, payload={"title": "Dune", "subtitle": "x"}) == [
        ("subtitle", "must have at least 3 characters")
    ]


async def test_forbid_sees_fields_set_and_tells_null_from_missing() -> None:
    runtime = memory_runtime()
    assert await _violations(runtime, EditBook, payload={"title": "Dune", "subtitle": None}) == [
        # Nothing better known than the command: its class name is the field (0.2).
        ("WriteBook", "subtitle cannot be cleared")
    ]


def too_long_for(pages: int, limit: int) -> str | None:
    return f"at most {limit} pages" if pages > limit else None


class CreateInSeries(UseCase[UcBook, int]):
    rules = (
        Rule.check(F(WriteBook).pages, via=too_long_for).from_params("max_pages"),
        Rule.forbid(
            lambda cmd, _sent, author_known: not author_known,
            message="unknown author",
        ).from_params("author_known"),
    )

    async def execute(
        self,
        author_id: int,
        max_pages: int,
        cmd: WriteBook = Input(),
        author_known: bool = Exists(UcAuthor, from_param="author_id"),
    ) -> int:
        return cmd.pages


async def test_from_params_passes_params_and_marker_values() -> None:
    runtime = memory_runtime()
    author = await runtime.repo_for(UcAuthor).create({"name": "A", "email": "a@example.com"})
    params = {"author_id": author.id, "max_pages": "100"}
    assert await runtime.execute(CreateInSeries, params=params, payload={"title": "t", "pages": 99})
    assert await _violations(
        runtime, CreateInSeries, params=params, payload={"title": "t", "pages": 101}
    ) == [("pages", "at most 100 pages")]
    assert await _violations(
        runtime,
        CreateInSeries,
        params={"author_id": 999, "max_pages": 5},
        payload={"title": "t", "pages": 9},
    ) == [("pages", "at most 5 pages"), ("WriteBook", "unknown author")]


async def title_taken(title: str) -> str | None:
    return "already taken" if title == "taken" else None


class AsyncRule(UseCase[UcBook, str]):
    rules = (Rule.check(F(WriteBook).title, via=title_taken),)

    async def execute(self, cmd: WriteBook = Input()) -> str:
        return cmd.title


async def test_rule_functions_may_be_async() -> None:
    runtime = memory_runtime()
    assert await _violations(runtime, AsyncRule, payload={"title": "taken"}) == [
        ("title", "already taken")
    ]
    assert await runtime.execute(AsyncRule, payload={"title": "free"}) == "free"


# -- computes -----------------------------------------------------------------------


class PriceLine(Command, frozen=True):
    quantity: int
    unit_cents: int
    label: str = ""
    total_cents: int = 0
    summary: str = ""


def _label_up(label: str) -> str:
    return label.strip().upper()


class PlaceLine(UseCase[UcBook, dict]):
    computes = (
        Compute.set(F(PriceLine).label).from_command(F(PriceLine).label, via=_label_up),
        Compute.set(F(PriceLine).total_cents).from_command(
            F(PriceLine).quantity, F(PriceLine).unit_cents, via=lambda q, u: q * u
        ),
        # Runs after the two above, so it sees their results.
        Compute.set(F(PriceLine).summary).from_command(
            F(PriceLine).label, F(PriceLine).total_cents, via=lambda lb, t: f"{lb}={t}"
        ),
    )
    rules = (
        Rule.check(F(PriceLine).total_cents, via=lambda t: t > 1000, message="order too large"),
        Rule.check(F(PriceLine).label, via=lambda lb: None if lb.isupper() else "not upper"),
    )

    async def execute(self, cmd: PriceLine = Input()) -> dict:
        return {"label": cmd.label, "total": cmd.total_cents, "summary": cmd.summary}


async def test_computes_run_in_order_from_command_fields() -> None:
    runtime = memory_runtime()
    out = await runtime.execute(
        PlaceLine, payload={"quantity": 3, "unitCents": 250, "label": " pen "}
    )
    assert out == {"label": "PEN", "total": 750, "summary": "PEN=750"}


async def test_rules_see_the_computed_values() -> None:
    runtime = memory_runtime()
    assert await _violations(
        runtime, PlaceLine, payload={"quantity": 5, "unit_cents": 250, "label": "pen"}
    ) == [("total_cents", "order too large")]  # the Python name, as in 0.2


async def test_a_computed_value_overrides_what_the_client_sent() -> None:
    runtime = memory_runtime()
    out = await runtime.execute(
        PlaceLine, payload={"quantity": 2, "unitCents": 10, "label": "x", "totalCents": 999999}
    )
    assert out["total"] == 20


async def _discounted(total: int, percent: int | None) -> int:
    return total - total * (percent or 0) // 100


class DiscountLine(UseCase[UcBook, dict]):
    computes = (
        Compute.set(F(PriceLine).total_cents).from_command(
            F(PriceLine).quantity, F(PriceLine).unit_cents, via=lambda q, u: q * u
        ),
        # An async compute fed by a path parameter as well as command fields.
        Compute.set(F(PriceLine).total_cents)
        .from_command(F(PriceLine).total_cents, via=_discounted)
        .from_params("percent"),
    )

    async def execute(self, percent: int, cmd: PriceLine = Input()) -> dict:
        return {"total": cmd.total_cents}


async def test_computes_may_be_async_and_take_params() -> None:
    runtime = memory_runtime()
    out = await runtime.execute(
        DiscountLine, params={"percent": "10"}, payload={"quantity": 4, "unitCents": 250}
    )
    assert out == {"total": 900}


async def test_computes_never_change_the_callers_command() -> None:
    runtime = memory_runtime()
    mine = PriceLine(quantity=2, unit_cents=10, label=" a ")
    out = await runtime.execute(PlaceLine, payload=mine)
    assert out == {"label": "A", "total": 20, "summary": "A=20"}
    assert (mine.label, mine.total_cents, mine.summary) == (" a ", 0, "")
