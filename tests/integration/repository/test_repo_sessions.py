"""Custom SQL written for the 0.2 API (``with_session_scope``, ``transactional``,
``SessionManager``, ``loom.core.backend.sqlalchemy``) inside Loom's units of work, on
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from loom.core.backend.sqlalchemy import (
    compile_all,
    get_compiled,
    get_compiled_core,
    get_metadata,
    reset_registry,
)
from loom.core.model import BaseModel, ColumnField
from loom.core.repository import PageParams
from loom.core.repository.sqlalchemy import (
    Database,
    RepositorySQLAlchemy,
    SessionManager,
    current_session,
    repository_for,
    table_for,
    transactional,
    with_session_scope,
)
from loom.core.runtime import Components, Runtime
from loom.core.use_case import Input
from loom.core.use_case.use_case import UseCase


class SsnStock(BaseModel):
    __tablename__ = "ssn_stock"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    sku: str = ColumnField(length=20, unique=True)
    qty: int = ColumnField(default=0)


class SsnAudit(BaseModel):
    __tablename__ = "ssn_audit"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    note: str = ColumnField(length=80)


class StockRepository(RepositorySQLAlchemy[SsnStock, int]):
    """A repository written as for 0.2: its own SQL through an injected session."""

    @with_session_scope
    async def restock(self, session: AsyncSession, sku: str, amount: int) -> int:
        core = get_compiled_core(SsnStock)
        await session.execute(
            sa.update(core.table).where(core.sku == sku).values(qty=core.qty + amount)
        )
        row = await core.fetch_one(session, core.select().where(core.sku == sku))
        assert row is not None
        # A nested scope gets the same session; another repository method joins too.
        assert await self._same_session() is session
        assert (await self.get_by("sku", sku)).qty == row.qty
        return row.qty

    @with_session_scope
    async def _same_session(self, session: AsyncSession) -> AsyncSession:
        return session

    @with_session_scope
    async def audit_orm(self, session: AsyncSession, note: str) -> None:
        session.add(get_compiled(SsnAudit)(note=note))  # flushed when the scope ends

    @with_session_scope
    async def total(self, session: AsyncSession) -> int:
        return int(
            (await session.execute(sa.select(sa.func.sum(table_for(SsnStock).c.qty)))).scalar_one()
            or 0
        )


class Restock(msgspec.Struct):
    sku: str
    amount: int
    fail: bool = False


class RestockUseCase(UseCase[SsnStock, int]):
    async def execute(self, cmd: Restock = Input()) -> int:
        qty: int = await self.main_repo.restock(cmd.sku, cmd.amount)
        await self.main_repo.audit_orm(f"restock {cmd.sku}")
        if cmd.fail:
            raise RuntimeError("after the custom SQL ran")
        return qty


@pytest.fixture
async def db(database: Database) -> AsyncIterator[Database]:
    yield database


def _runtime(db: Database) -> Runtime:
    def repositories(model: type, container: Any) -> Any:
        cls = StockRepository if model is SsnStock else RepositorySQLAlchemy
        return container.build(cls, database=db, model=model, cursor_secret="s")

    components = Components(models=[SsnStock, SsnAudit], use_cases=[RestockUseCase])
    return Runtime(components=components, uow=db, repository_factory=repositories)


async def _audit_notes(db: Database) -> list[str]:
    audits = RepositorySQLAlchemy(db, SsnAudit)
    return [a.note for a in (await audits.list_paginated(PageParams())).items]


async def test_custom_sql_commits_with_the_use_case(db: Database) -> None:
    runtime = _runtime(db)
    runtime.prepare()
    repo = runtime.repo_for(SsnStock)
    await repo.create({"sku": "a", "qty": 1})
    assert await runtime.execute(RestockUseCase, payload={"sku": "a", "amount": 4}) == 5
    assert (await repo.get_by("sku", "a")).qty == 5
    assert await _audit_notes(db) == ["restock a"]


async def test_custom_sql_rolls_back_with_the_use_case(db: Database) -> None:
    runtime = _runtime(db)
    runtime.prepare()
    repo = runtime.repo_for(SsnStock)
    await repo.create({"sku": "a", "qty": 1})
    with pytest.raises(RuntimeError, match="after the custom SQL"):
        await runtime.execute(RestockUseCase, payload={"sku": "a", "amount": 4, "fail": True})
    # The session's UPDATE and its ORM insert were in the use case's transaction.
    assert (await repo.get_by("sku", "a")).qty == 1
    assert await _audit_notes(db) == []


async def test_a_scope_without_a_unit_of_work_commits_on_its_own(db: Database) -> None:
    repo = StockRepository(db)
    await repo.create({"sku": "b", "qty": 2})
    assert current_session() is None
    assert await repo.restock("b", 3) == 5
    assert await repo.total() == 5
    assert (await repo.get_by_id(1)).qty == 5


async def test_session_manager_constructor_and_transactional(db_url: str) -> None:
    manager = SessionManager(db_url, pool_size=3, pool_recycle=600)
    try:
        await manager.database.create_all()
        repo = StockRepository(manager, SsnStock)
        assert repo.session_manager is manager and repo.model is SsnStock
        assert repo.entity_name == "SsnStock"

        class Service:
            def __init__(self) -> None:
                self.session_manager = manager
                self.committed = 0

            def on_transaction_committed(self) -> None:
                self.committed += 1

            @transactional
            async def two_writes(self, fail: bool) -> None:
                await repo.create({"sku": "x", "qty": 1})
                await repo.create({"sku": "y", "qty": 1})
                if fail:
                    raise ValueError("boom")

        service = Service()
        with pytest.raises(ValueError):
            await service.two_writes(True)
        assert await repo.count() == 0 and service.committed == 0
        await service.two_writes(False)
        assert await repo.count() == 2 and service.committed == 1
        # A plain session outside any unit of work is the caller's to commit.
        async with manager.session() as session:
            await session.execute(sa.delete(table_for(SsnStock)))
            await session.commit()
        assert await repo.count() == 0
    finally:
        await manager.dispose()


async def test_backend_metadata_is_loom_metadata(db: Database) -> None:
    reset_registry()
    tables = compile_all(SsnStock)
    assert table_for(SsnStock) in tables
    assert get_metadata().tables["ssn_stock"] is table_for(SsnStock)
    # The ORM class reads and writes the same table as the repository.
    repo = RepositorySQLAlchemy(db, SsnStock)
    await repo.create({"sku": "o", "qty": 7})
    manager = SessionManager.for_database(db)
    async with manager.session() as session:
        found = (await session.execute(sa.select(get_compiled(SsnStock)))).scalars().all()
        assert [(s.sku, s.qty) for s in found] == [("o", 7)]
    reset_registry()
    assert get_metadata().tables["ssn_stock"] is table_for(SsnStock)
    assert get_compiled(SsnStock).__table__ is table_for(SsnStock)


class SsnNote(BaseModel):
    __tablename__ = "ssn_notes"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    body: str = ColumnField(length=40)


@repository_for(SsnNote)
class NoteRepository(RepositorySQLAlchemy[SsnNote, int]):
    """The 0.2 constructor: ``(session_manager, model)``, passed on to the base."""

    def __init__(self, session_manager: SessionManager, model: type[SsnNote]) -> None:
        super().__init__(session_manager, model)
        self.built_with = session_manager

    @with_session_scope
    async def bodies(self, session: AsyncSession) -> list[str]:
        core = get_compiled_core(SsnNote)
        return [n.body for n in await core.fetch_all(session, core.select().order_by(core.id))]


async def test_the_application_builds_a_02_constructor_repository(db: Database) -> None:
    from loom.bootstrap import _repository_factory

    runtime = Runtime(
        components=Components(models=[SsnNote]),
        uow=db,
        repository_factory=_repository_factory(db, "secret"),
    )
    repo = runtime.repo_for(SsnNote)
    assert isinstance(repo, NoteRepository)
    assert repo.session_manager is repo.built_with and repo.session_manager.database is db
    async with db.begin():
        await repo.create({"body": "b"})
        await repo.create({"body": "a"})
        assert await repo.bodies() == ["b", "a"]


async def test_session_manager_session_joins_the_active_unit(db: Database) -> None:
    manager = SessionManager.for_database(db)
    repo = RepositorySQLAlchemy(db, SsnStock)
    with pytest.raises(RuntimeError):
        async with db.begin():
            await repo.create({"sku": "u", "qty": 1})
            async with manager.session() as session:
                await session.execute(sa.update(table_for(SsnStock)).values(qty=50))
                await session.commit()  # joined: the unit, not the session, commits
            assert (await repo.get_by("sku", "u")).qty == 50  # type: ignore[union-attr]
            raise RuntimeError("roll the unit back")
    assert await repo.count() == 0


class LimitedStockRepository(RepositorySQLAlchemy[SsnStock, int]):
    allowed_filter_fields = ("sku",)


async def test_allowed_filter_fields(db: Database) -> None:
    from loom.core.errors import ValidationError
    from loom.core.repository import FilterParams

    repo = LimitedStockRepository(db)
    await repo.create({"sku": "k", "qty": 2})
    page = await repo.list_paginated(PageParams(), FilterParams(filters={"sku": "k"}))
    assert [s.sku for s in page.items] == ["k"]
    with pytest.raises(ValidationError, match="not allowed"):
        await repo.list_paginated(PageParams(), FilterParams(filters={"qty": 2}))
    # Other repositories of the model are not limited.
    plain = RepositorySQLAlchemy(db, SsnStock)
    assert (await plain.list_paginated(PageParams(), {"qty": 2})).total_count == 1
