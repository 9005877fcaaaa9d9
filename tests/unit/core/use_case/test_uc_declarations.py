"""Declaration mistakes fail at start-up, naming the use case and the parameter."""

from __future__ import annotations

from typing import Any

import pytest
from uc_support import NotAModel, UcAuthor, UcBook, memory_runtime

from loom.core.command import Command
from loom.core.job.job import Job
from loom.core.use_case import Compute, DeclarationError, Exists, F, Input, LoadById, Rule
from loom.core.use_case.use_case import UseCase


class Rename(Command, frozen=True):
    name: str


class Other(Command, frozen=True):
    title: str


def _startup_error(cls: type) -> str:
    """What ``prepare()`` (start-up) says about ``cls``."""
    runtime = memory_runtime(use_cases=[cls])
    with pytest.raises(DeclarationError) as info:
        runtime.prepare()
    message = str(info.value)
    assert "\n" not in message
    assert cls.__qualname__ in message
    return message


def test_unknown_field_in_a_rule() -> None:
    class BadRuleField(UseCase[UcAuthor, str]):
        rules = (Rule.check(F(Rename).nmae, via=lambda v: None),)

        async def execute(self, cmd: Rename = Input()) -> str:
            return cmd.name

    message = _startup_error(BadRuleField)
    assert "'nmae'" in message
    assert "Rename" in message


def test_unknown_field_in_a_compute_source_and_target() -> None:
    class BadComputeSource(UseCase[UcAuthor, str]):
        computes = (Compute.set(F(Rename).name).from_command(F(Rename).missing, via=str),)

        async def execute(self, cmd: Rename = Input()) -> str:
            return cmd.name

    class BadComputeTarget(UseCase[UcAuthor, str]):
        computes = (Compute.set(F(Rename).nope).from_command(F(Rename).name, via=str),)

        async def execute(self, cmd: Rename = Input()) -> str:
            return cmd.name

    assert "'missing'" in _startup_error(BadComputeSource)
    assert "'nope'" in _startup_error(BadComputeTarget)


def test_rule_on_another_command_than_the_input() -> None:
    class WrongCommand(UseCase[UcAuthor, str]):
        rules = (Rule.check(F(Other).title, via=lambda v: None),)

        async def execute(self, cmd: Rename = Input()) -> str:
            return cmd.name

    message = _startup_error(WrongCommand)
    assert "Other" in message and "Rename" in message


def test_rule_asking_for_a_param_that_does_not_exist() -> None:
    class MissingParam(UseCase[UcAuthor, str]):
        rules = (Rule.check(F(Rename).name, via=lambda v, limit: None).from_params("max_len"),)

        async def execute(self, cmd: Rename = Input(), limit: int = 3) -> str:
            return cmd.name

    assert "'max_len'" in _startup_error(MissingParam)


def test_rules_need_an_input_command() -> None:
    class NoInput(UseCase[UcAuthor, str]):
        rules = (Rule.forbid(lambda cmd, sent: False, message="x"),)

        async def execute(self, author_id: int) -> str:
            return ""

    assert "Input()" in _startup_error(NoInput)


@pytest.mark.parametrize("marker", ["exists", "load"])
def test_marker_on_a_class_that_is_not_a_model(marker: str) -> None:
    if marker == "exists":

        class BadMarker(UseCase[UcAuthor, Any]):
            async def execute(
                self, author_id: int, found: bool = Exists(NotAModel, from_param="author_id")
            ) -> Any:
                return found

    else:

        class BadMarker(UseCase[UcAuthor, Any]):  # type: ignore[no-redef]
            async def execute(
                self, author_id: int, found: Any = LoadById(NotAModel, by="author_id")
            ) -> Any:
                return found

    message = _startup_error(BadMarker)
    assert "'found'" in message
    assert "NotAModel" in message
    assert "not a model" in message


def test_exists_against_a_column_the_model_lacks() -> None:
    class BadColumn(UseCase[UcBook, Any]):
        async def execute(
            self,
            author_id: int,
            found: bool = Exists(UcAuthor, from_param="author_id", against="nickname"),
        ) -> Any:
            return found

    message = _startup_error(BadColumn)
    assert "'found'" in message and "'nickname'" in message


def test_exists_from_a_param_or_field_that_does_not_exist() -> None:
    class BadFromParam(UseCase[UcBook, Any]):
        async def execute(self, found: bool = Exists(UcAuthor, from_param="author_id")) -> Any:
            return found

    class BadFromCommand(UseCase[UcBook, Any]):
        async def execute(
            self, cmd: Rename = Input(), found: bool = Exists(UcAuthor, from_command="author")
        ) -> Any:
            return found

    class BadLoadBy(UseCase[UcBook, Any]):
        async def execute(self, book: Any = LoadById(UcBook, by="book_id")) -> Any:
            return book

    assert "'author_id'" in _startup_error(BadFromParam)
    assert "'author'" in _startup_error(BadFromCommand)
    message = _startup_error(BadLoadBy)
    assert "'book'" in message and "'book_id'" in message


def test_input_without_a_command_annotation() -> None:
    class NoAnnotation(UseCase[UcAuthor, str]):
        async def execute(self, cmd=Input()) -> str:  # type: ignore[no-untyped-def]
            return ""

    class DictAnnotation(UseCase[UcAuthor, str]):
        async def execute(self, cmd: dict = Input()) -> str:  # type: ignore[type-arg]
            return ""

    for cls in (NoAnnotation, DictAnnotation):
        message = _startup_error(cls)
        assert "'cmd'" in message
        assert "Input()" in message


def test_two_inputs_are_refused() -> None:
    class TwoInputs(UseCase[UcAuthor, str]):
        async def execute(self, a: Rename = Input(), b: Rename = Input()) -> str:
            return ""

    assert "'b'" in _startup_error(TwoInputs)


def test_a_use_case_without_execute_is_refused() -> None:
    class NoExecute(UseCase[UcAuthor, str]):
        pass

    assert "def execute" in _startup_error(NoExecute)


def test_use_case_of_something_that_is_not_a_model() -> None:
    class NotAModelUseCase(UseCase[NotAModel, str]):
        async def execute(self) -> str:
            return ""

    assert "not a model" in _startup_error(NotAModelUseCase)


def test_jobs_are_checked_the_same_way() -> None:
    class BadJob(Job[bool]):
        __queue__ = "q"

        async def execute(self, thing: Any = LoadById(NotAModel, by="thing_id")) -> bool:
            return True

    runtime = memory_runtime()
    runtime.components.jobs.append(BadJob)
    with pytest.raises(DeclarationError) as info:
        runtime.prepare()
    assert "job" in str(info.value) and "BadJob" in str(info.value)
    assert "'thing'" in str(info.value)


def test_constructor_dependency_nobody_provides() -> None:
    class NeedsSomething(UseCase[UcAuthor, str]):
        def __init__(self, mailer: NotAModel) -> None:
            self.mailer = mailer

        async def execute(self) -> str:
            return ""

    message = _startup_error(NeedsSomething)
    assert "'mailer'" in message
    assert "NotAModel" in message
