"""A 0.2-era application type-checks against Loom with ``mypy --strict``.

Loom ships ``py.typed``, so users' type checkers read its annotations; declarations
written as the examples page writes them (``class C(Command, frozen=True)``,
``id: int = ColumnField(primary_key=True)``, ``cmd: CreateUser = Input()``,
``SortSpec(field="id", direction="ASC")``) must not be reported as errors, while
real mistakes (assigning to a frozen field, a wrong keyword type) still are.

The user configuration is ``--strict`` minus ``warn_return_any``: ``UseCase.main_repo``
is deliberately ``Any`` (0.2 applications plug in repositories with methods of their
own), so ``return await self.main_repo.list_with_query(...)`` returns ``Any``; that check
concerns how strictly the application wants to type its own returns, not Loom.

mypy runs once per session over the app and the two snippets below; its cache lives in
the system temp directory so a re-run takes a few seconds (a cold run, under 30 s).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

APP_SRC = Path(__file__).parent / "legacy_shop" / "src"
CACHE_DIR = Path(tempfile.gettempdir()) / "loom-legacy-shop-mypy-cache"

# Both spellings of every struct base, every field declaration and every marker.
FORMS_OK = """
    from loom.core.command import Command, Internal, Patch
    from loom.core.model import (
        BaseModel, Cardinality, ColumnField, ProjectionField, RelationField, TimestampedModel,
    )
    from loom.core.response import Response
    from loom.core.use_case import Exists, Input, Load, LoadById, OnMissing


    class PlainCommand(Command):
        name: str
        note: Patch[str] = None


    class FrozenCommand(Command, frozen=True):
        name: str
        note: Patch[str | None] = None
        actor: Internal[int] = 0


    class PlainChild(PlainCommand):
        extra: int = 0


    class FrozenChild(FrozenCommand, frozen=True):
        extra: int = 0


    class PlainResponse(Response):
        id: int


    class FrozenResponse(Response, frozen=True):
        id: int


    class PlainModel(BaseModel):
        __tablename__ = "typing_plain"
        id: int = ColumnField(primary_key=True, autoincrement=True)
        owner_id: int = ColumnField(foreign_key="typing_frozen.id")


    class FrozenModel(BaseModel, frozen=True):
        __tablename__ = "typing_frozen"
        id: int = ColumnField(primary_key=True)
        items: list[PlainModel] = RelationField(
            foreign_key="owner_id", cardinality=Cardinality.ONE_TO_MANY
        )
        item_count: int = ProjectionField(loader=None)


    class PlainStamped(TimestampedModel):
        __tablename__ = "typing_plain_stamped"
        id: int = ColumnField(primary_key=True)


    class FrozenStamped(TimestampedModel, frozen=True):
        __tablename__ = "typing_frozen_stamped"
        id: int = ColumnField(primary_key=True)


    async def execute(
        owner_id: int,
        cmd: FrozenCommand = Input(),
        owner: FrozenModel = LoadById(FrozenModel, by="owner_id"),
        taken: bool = Exists(PlainModel, from_command="name", against="owner_id"),
        same: PlainModel | None = Load(
            PlainModel, from_param="owner_id", against="id", on_missing=OnMissing.RETURN_NONE
        ),
    ) -> FrozenResponse:
        return FrozenResponse(id=owner.id + owner_id + len(cmd.name))


    built = (
        PlainCommand(name="a"),
        FrozenChild(name="b", extra=1),
        PlainResponse(id=1),
        PlainModel(owner_id=1),
        FrozenStamped(id=1),
    )
"""

# line -> the error mypy must report there (counted from the first line of the snippet).
FORMS_BAD = """
    from loom.core.command import Command
    from loom.core.model import BaseModel, ColumnField
    from loom.core.repository.abc.query import SortSpec
    from loom.core.response import Response
    from loom.core.use_case import LoadById


    class Cmd(Command):
        name: str


    class Out(Response):
        id: int


    class Row(BaseModel):
        __tablename__ = "typing_bad_row"
        id: int = ColumnField(primary_key=True)


    Cmd(name="x").name = "y"
    Out(id=1).id = 2
    Row(id=1).id = 2
    Out(1)
    ColumnField(primary_key="yes")
    LoadById(Row, by=1)
    SortSpec(field="id", direction="up")
"""
BAD_EXPECTED = {
    21: 'Property "name" defined in "Cmd" is read-only',
    22: 'Property "id" defined in "Out" is read-only',
    23: 'Property "id" defined in "Row" is read-only',
    24: 'Too many positional arguments for "Out"',
    25: 'Argument "primary_key" to "ColumnField" has incompatible type',
    26: 'Argument "by" to "LoadById" has incompatible type',
    27: 'Argument "direction" to "SortSpec" has incompatible type',
}

_ERROR = re.compile(r"^(?P<path>.+?):(?P<line>\d+): error: (?P<text>.*)$")


@pytest.fixture(scope="module")
def mypy_errors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[int, str]]]:
    work = tmp_path_factory.mktemp("typing")
    (work / "typing_forms_ok.py").write_text(textwrap.dedent(FORMS_OK).lstrip("\n"))
    (work / "typing_forms_bad.py").write_text(textwrap.dedent(FORMS_BAD).lstrip("\n"))
    # The user's own configuration, not Loom's pyproject (mypy would find that one by
    # walking up from the app's directory).
    config = work / "mypy.ini"
    config.write_text(f"[mypy]\nmypy_path = {APP_SRC}:{work}\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(config),
            "--strict",
            "--no-warn-return-any",
            "--cache-dir",
            str(CACHE_DIR),
            "--no-error-summary",
            "--show-absolute-path",
            "-p",
            "app",
            "-m",
            "typing_forms_ok",
            "-m",
            "typing_forms_bad",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr  # 2 = mypy itself failed
    errors: dict[str, list[tuple[int, str]]] = {"app": [], "ok": [], "bad": []}
    for line in proc.stdout.splitlines():
        match = _ERROR.match(line)
        if match is None:
            continue
        path = Path(match["path"])
        key = "bad" if path.name == "typing_forms_bad.py" else "ok"
        if APP_SRC in path.parents:
            key = "app"
        errors[key].append((int(match["line"]), match["text"]))
    assert sum(map(len, errors.values())) == proc.stdout.count(": error: "), proc.stdout
    return errors


def test_legacy_shop_has_no_type_errors(mypy_errors: dict[str, list[tuple[int, str]]]) -> None:
    assert mypy_errors["app"] == []


def test_both_spellings_of_the_bases_fields_and_markers_type_check(
    mypy_errors: dict[str, list[tuple[int, str]]],
) -> None:
    assert mypy_errors["ok"] == []


def test_real_mistakes_are_still_reported(mypy_errors: dict[str, list[tuple[int, str]]]) -> None:
    reported = dict(mypy_errors["bad"])
    assert sorted(reported) == sorted(BAD_EXPECTED), mypy_errors["bad"]
    for line, text in BAD_EXPECTED.items():
        assert text in reported[line]
