"""``HttpTestHarness`` and ``GoldenHarness``: interfaces and DI-built use cases on fakes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from loom.core.command import Command
from loom.core.errors import Conflict, LoomError, NotFound
from loom.core.model import BaseModel, ColumnField
from loom.core.repository.abc import RepoFor
from loom.core.use_case import Input, LoadById
from loom.core.use_case.use_case import UseCase
from loom.rest.model import RestInterface, RestRoute
from loom.testing import GoldenHarness, HttpTestHarness, InMemoryRepository, serialize_plan


class HtNote(BaseModel):
    __tablename__ = "ht_notes"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    text: str = ColumnField(length=200)


class HtTag(BaseModel):
    __tablename__ = "ht_tags"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    label: str = ColumnField(length=40)


class WriteNote(Command, frozen=True):
    text: str


class Clock:
    def now(self) -> str:
        return "real"


class StampedNoteUseCase(UseCase[HtNote, str]):
    def __init__(self, clock: Clock, tags: RepoFor[HtTag]) -> None:
        self._clock = clock
        self._tags = tags

    async def execute(self, note_id: int, note: HtNote = LoadById(HtNote, by="note_id")) -> str:
        return f"{note.text}@{self._clock.now()}+{await self._tags.count()}"


class AddNoteUseCase(UseCase[HtNote, HtNote]):
    async def execute(self, cmd: WriteNote = Input()) -> HtNote:
        note: HtNote = await self.main_repo.create(cmd)
        return note


class NotesInterface(RestInterface[HtNote]):
    prefix = "/notes"
    auto = True


class TagsInterface(RestInterface[HtTag]):
    prefix = "/tags"
    routes = (RestRoute(use_case=AddNoteUseCase, method="POST", path="/note", status_code=201),)


# -- HttpTestHarness ---------------------------------------------------------------------


async def test_http_harness_serves_interfaces_on_injected_fakes() -> None:
    notes: InMemoryRepository[HtNote] = InMemoryRepository(HtNote)
    await notes.create({"text": "first"})
    http = HttpTestHarness().inject_repo(HtNote, notes)
    client = http.build_app([NotesInterface, TagsInterface], title="Notes API")

    got = client.get("/notes/1")
    assert got.status_code == 200 and got.json()["text"] == "first"
    created = client.post("/notes", json={"text": "second"})
    assert created.status_code == 201, created.text
    assert (await notes.get_by_id(created.json()["id"])).text == "second"
    assert client.get("/notes/99").status_code == 404
    via_route = client.post("/tags/note", json={"text": "third"})
    assert via_route.status_code == 201 and await notes.count() == 3
    assert client.get("/openapi.json").json()["info"]["title"] == "Notes API"


async def test_http_harness_forced_and_system_errors_reach_the_client() -> None:
    http = HttpTestHarness()
    http.force_error(HtNote, "create", Conflict("duplicate note"))
    http.simulate_system_error(HtNote, "get_by_id")
    client = http.build_app(NotesInterface)

    conflict = client.post("/notes", json={"text": "x"})
    assert conflict.status_code == 409
    assert "duplicate note" in conflict.text
    broken = client.get("/notes/1")
    assert broken.status_code == 500
    # The default in-memory repository is still there for what was not broken.
    assert client.get("/notes").status_code == 200


def test_http_harness_rejects_an_unknown_app_setting() -> None:
    with pytest.raises(TypeError, match="no_such_setting"):
        HttpTestHarness().build_app(NotesInterface, no_such_setting=True)


def test_a_plain_exception_from_a_fake_is_a_500_not_a_crash() -> None:
    http = HttpTestHarness().force_error(HtNote, "list_with_query", RuntimeError("boom"))
    client = http.build_app(NotesInterface)
    assert client.get("/notes").status_code == 500


# -- GoldenHarness -----------------------------------------------------------------------


class FrozenClock(Clock):
    def now(self) -> str:
        return "frozen"


async def test_golden_harness_builds_by_di_and_uses_the_injected_fakes() -> None:
    notes: InMemoryRepository[HtNote] = InMemoryRepository(HtNote)
    await notes.create({"text": "n"})
    tags: InMemoryRepository[HtTag] = InMemoryRepository(HtTag)
    await tags.create({"label": "a"})
    golden = GoldenHarness()
    golden.inject_repo(HtNote, notes).inject_repo(RepoFor[HtTag], tags)
    golden.inject_repo(Clock, FrozenClock())
    assert await golden.run(StampedNoteUseCase, params={"note_id": 1}) == "n@frozen+1"
    with pytest.raises(NotFound):
        await golden.run(StampedNoteUseCase, params={"note_id": 2})


async def test_golden_harness_forced_errors() -> None:
    golden = GoldenHarness().inject_repo(Clock, FrozenClock())
    golden.force_error(HtTag, "count", Conflict("locked"))
    await golden.harness.repo(HtNote).create({"text": "n"})
    with pytest.raises(Conflict, match="locked"):
        await golden.run(StampedNoteUseCase, params={"note_id": 1})
    golden = GoldenHarness().simulate_system_error(HtNote, "create")
    with pytest.raises(LoomError, match=r"simulated system error in HtNote\.create"):
        await golden.run(AddNoteUseCase, payload={"text": "x"})


async def test_run_with_baseline_writes_the_plan_and_result(tmp_path: Path) -> None:
    golden = GoldenHarness()
    result = await golden.run_with_baseline(
        AddNoteUseCase,
        params={},
        payload={"text": "hello"},
        name="add_note",
        max_ms=60_000,  # the API needs a bound; Loom's tests do not time anything
        baseline_dir=tmp_path / "baselines",
    )
    assert result.text == "hello"
    record: dict[str, Any] = json.loads((tmp_path / "baselines" / "add_note.json").read_text())
    assert record["plan"] == serialize_plan(golden.plan(AddNoteUseCase))
    assert record["result"]["text"] == "hello"
    assert record["use_case"] == "AddNoteUseCase"


async def test_run_with_baseline_fails_over_the_bound(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="baseline"):
        await GoldenHarness().run_with_baseline(
            AddNoteUseCase,
            params={},
            payload={"text": "x"},
            name="too_slow",
            max_ms=-1,  # no run is that fast: the assertion itself is what is tested
            baseline_dir=tmp_path,
        )
    assert (tmp_path / "too_slow.json").exists()


class HtLabel(BaseModel):
    __tablename__ = "ht_labels"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    text: str = ColumnField(length=40)


class LabelFinder:
    """A repository contract a use case asks for by type (not registered anywhere)."""

    async def count(self) -> int:
        raise NotImplementedError


class FakeLabels(InMemoryRepository[HtLabel]):
    def __init__(self) -> None:
        super().__init__(HtLabel)


class CountLabels(UseCase[HtNote, int]):
    def __init__(self, labels: LabelFinder) -> None:
        self._labels = labels

    async def execute(self) -> int:
        return await self._labels.count() + await self.main_repo.count()


async def test_golden_harness_binds_a_contract_to_a_model_with_model() -> None:
    labels = FakeLabels()
    await labels.create({"text": "x"})
    golden = GoldenHarness().inject_repo(LabelFinder, labels, model=HtLabel)
    assert await golden.run(CountLabels) == 1
    # force_error by the contract reaches the model's repository it was bound to.
    golden.force_error(LabelFinder, "count", Conflict("busy"))
    with pytest.raises(Conflict, match="busy"):
        await golden.run(CountLabels)
