"""``repo_factory``: the same test against SQLite, PostgreSQL and the in-memory repository."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from tests.conftest import SQL_BACKENDS

from loom.core.repository.sqlalchemy import RepositorySQLAlchemy
from loom.testing import InMemoryRepository


class RepoFactory:
    """``factory(Model)`` gives a repository of ``Model`` on this test's backend."""

    def __init__(self, kind: str, database: Any = None) -> None:
        self.kind = kind
        self.database = database
        self._memory: dict[type, InMemoryRepository[Any]] = {}

    @property
    def is_sql(self) -> bool:
        return self.database is not None

    def batch(self) -> AbstractAsyncContextManager[Any]:
        """One transaction for a block of writes (much faster fixtures on SQL backends)."""
        return self.database.begin() if self.database is not None else contextlib.nullcontext()

    def __call__(self, model: type[Any]) -> Any:
        if self.database is not None:
            return RepositorySQLAlchemy(self.database, model)
        if model not in self._memory:
            self._memory[model] = InMemoryRepository(model)
        return self._memory[model]


@pytest.fixture(params=[*SQL_BACKENDS, pytest.param("memory", id="memory")])
async def repo_factory(
    request: pytest.FixtureRequest,
    db_url_factory: Callable[[str], str],
    database_factory: Callable[[str], AbstractAsyncContextManager[Any]],
) -> AsyncIterator[RepoFactory]:
    if request.param == "memory":
        yield RepoFactory("memory")
        return
    async with database_factory(db_url_factory(request.param)) as db:
        yield RepoFactory(request.param, db)
