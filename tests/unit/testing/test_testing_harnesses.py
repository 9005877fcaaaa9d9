"""``loom.testing``: the use-case harness, the job capture and the HTTP harness."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loom.core.command import Command
from loom.core.errors import NotFound, RuleViolation
from loom.core.job.job import Job
from loom.core.job.service import JobService
from loom.core.model import BaseModel, ColumnField, OnDelete
from loom.core.repository.abc import RepoFor
from loom.core.response import Response
from loom.core.use_case import Exists, F, Input, LoadById, OnMissing, Rule
from loom.core.use_case.invoker import ApplicationInvoker
from loom.core.use_case.use_case import UseCase
from loom.testing import HttpHarness, InMemoryRepository, JobCapture, UseCaseHarness

STORE_CONFIG = Path(__file__).resolve().parents[3] / "examples" / "store" / "config" / "api.yaml"


class LtShelf(BaseModel):
    __tablename__ = "lt_shelves"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=40)


class LtBook(BaseModel):
    __tablename__ = "lt_books"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    shelf_id: int = ColumnField(foreign_key="lt_shelves.id", on_delete=OnDelete.CASCADE)
    title: str = ColumnField(length=80)
    status: str = ColumnField(length=20, default="new")


class ShelveBook(Command, frozen=True):
    title: str


class Shelved(Response):
    book_id: int
    job_id: str


def blank(title: str) -> str | None:
    return "must not be blank" if not title.strip() else None


class IndexBookJob(Job[bool]):
    __queue__ = "search"

    def __init__(self, books: RepoFor[LtBook]) -> None:
        self._books = books

    async def execute(self, book_id: int, book: LtBook = LoadById(LtBook, by="book_id")) -> bool:
        await self._books.update(book_id, {"status": "indexed"})
        return True


class MarkIndexed:
    def __init__(self, app: ApplicationInvoker) -> None:
        self._app = app

    async def on_success(self, job_id: str, result: Any, **context: Any) -> None:
        book = await self._app.entity(LtBook).get(params={"id": context["book_id"]})
        await self._app.entity(LtBook).update(
            params={"id": book.id}, payload={"title": book.title + " (indexed)"}
        )


class ShelveBookUseCase(UseCase[LtBook, Shelved]):
    rules = (Rule.check(F(ShelveBook).title, via=blank),)

    def __init__(self, jobs: JobService) -> None:
        self._jobs = jobs

    async def execute(
        self,
        shelf_id: int,
        cmd: ShelveBook = Input(),
        _shelf: bool = Exists(LtShelf, from_param="shelf_id", on_missing=OnMissing.RAISE),
    ) -> Shelved:
        book = await self.main_repo.create({"shelf_id": shelf_id, "title": cmd.title})
        handle = self._jobs.dispatch(
            IndexBookJob, params={"book_id": book.id}, on_success=MarkIndexed
        )
        return Shelved(book_id=book.id, job_id=handle.job_id)


class Clock:
    def now(self) -> str:
        return "real"


class FakeClock(Clock):
    def now(self) -> str:
        return "frozen"


class Stamp(Response):
    at: str


class StampUseCase(UseCase[LtShelf, Stamp]):
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def execute(self) -> Stamp:
        return Stamp(at=f"{self._clock.now()}:{await self.main_repo.count()}")


async def test_use_case_runs_on_in_memory_repositories_and_jobs_are_captured() -> None:
    async with UseCaseHarness() as harness:
        (shelf,) = await harness.seed(LtShelf, {"name": "fiction"})
        out = await harness.run(
            ShelveBookUseCase, params={"shelf_id": str(shelf.id)}, payload={"title": "Dune"}
        )

        book = await harness.repo(LtBook).get_by_id(out.book_id)
        assert (book.shelf_id, book.title, book.status) == (shelf.id, "Dune", "new")
        assert isinstance(harness.repo(LtBook), InMemoryRepository)
        captured = harness.jobs.assert_dispatched(
            IndexBookJob,
            times=1,
            params={"book_id": book.id},
            queue="search",
            on_success=MarkIndexed,
        )
        assert captured.job_id == out.job_id
        # Captured, not run: the job has not touched the book yet.
        assert (await harness.repo(LtBook).get_by_id(book.id)).status == "new"

        await harness.release_jobs()
        book = await harness.repo(LtBook).get_by_id(book.id)
        assert (book.status, book.title) == ("indexed", "Dune (indexed)")


async def test_failures_propagate_and_dispatch_nothing() -> None:
    async with UseCaseHarness() as harness:
        with pytest.raises(NotFound):
            await harness.run(ShelveBookUseCase, params={"shelf_id": 99}, payload={"title": "x"})
        (shelf,) = await harness.seed(LtShelf, {"name": "poetry"})
        with pytest.raises(RuleViolation) as err:
            await harness.run(
                ShelveBookUseCase, params={"shelf_id": shelf.id}, payload={"title": "  "}
            )
        assert "must not be blank" in str(err.value.errors)
        harness.jobs.assert_nothing_dispatched()
        with pytest.raises(AssertionError, match="expected IndexBookJob dispatched"):
            harness.jobs.assert_dispatched(IndexBookJob)


async def test_fake_repositories_and_services_replace_the_defaults() -> None:
    shelves = InMemoryRepository(LtShelf)
    await shelves.create({"name": "a"})
    await shelves.create({"name": "b"})
    harness = UseCaseHarness(repositories={LtShelf: shelves}, services={Clock: FakeClock()})
    assert (await harness.run(StampUseCase)).at == "frozen:2"


async def test_job_capture_matches_on_the_values_given() -> None:
    from loom.core.job.service import JobEnvelope

    capture = JobCapture()
    await capture.submit(
        JobEnvelope(
            job_id="1",
            job="IndexBookJob",
            queue="search",
            params={"book_id": 3},
            payload={"deep": True},
        )
    )
    assert capture.of(IndexBookJob)[0].payload == {"deep": True}
    capture.assert_dispatched("IndexBookJob", payload={"deep": True})
    with pytest.raises(AssertionError):
        capture.assert_dispatched(IndexBookJob, params={"book_id": 4})
    with pytest.raises(AssertionError):
        capture.assert_dispatched(IndexBookJob, times=2)
    with pytest.raises(RuntimeError, match="no backend"):
        await capture.release()


async def test_http_harness_serves_the_store_on_a_throwaway_database() -> None:
    overrides = {"metrics.enabled": False, "logger.level": "WARNING"}
    async with HttpHarness(STORE_CONFIG, overrides=overrides, capture_jobs=True) as http:
        url = http.runtime.config.database.url
        db_file = Path(url.split("///", 1)[1])
        assert db_file.exists()
        created = await http.post(
            "/products",
            json={"sku": "HT-1", "name": "Lamp", "category": "home", "priceCents": 900, "stock": 0},
        )
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        sent = await http.post(
            f"/products/{pid}/jobs/restock-email", json={"recipientEmail": "ops@example.com"}
        )
        assert sent.status_code == 202
        assert http.jobs is not None
        http.jobs.assert_dispatched(
            "SendRestockEmailJob", params={"product_id": pid}, queue="notifications"
        )
        assert (await http.get(f"/products/{pid}")).json()["category"] == "home"
    assert not db_file.exists()

    # A second harness starts from an empty database.
    async with HttpHarness(STORE_CONFIG, overrides=overrides) as http:
        listing = await http.get("/products", params={"pagination": "offset"})
        assert listing.json()["total_count"] == 0
