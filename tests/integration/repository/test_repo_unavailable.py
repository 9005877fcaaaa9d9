"""A database that refuses connections for lack of resources answers 503, not 500.

PostgreSQL's "too many clients" (SQLSTATE 53300) reaches the repository at checkout,
wrapped by SQLAlchemy; it means "not now", like a server that is down or restarting.
Here a role whose connection limit is 0 gets exactly that refusal.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from repo_support import ItrUser
from tests.conftest import _pg_admin

from loom.core.errors import ServiceUnavailable
from loom.core.repository.abc.query import QuerySpec
from loom.core.repository.sqlalchemy import Database, RepositorySQLAlchemy

pytestmark = pytest.mark.postgres


@pytest.fixture
def limited_role(pg_database: str) -> Iterator[str]:
    role = f"loom_limited_{secrets.token_hex(4)}"
    _pg_admin(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 0')
    try:
        yield role
    finally:
        _pg_admin(f'DROP ROLE IF EXISTS "{role}"')


async def test_too_many_clients_is_service_unavailable(
    limited_role: str, db_url_factory: Any
) -> None:
    url = db_url_factory("postgres").replace("postgres@", f"{limited_role}@", 1)
    assert limited_role in url
    database = Database(url)
    try:
        repo = RepositorySQLAlchemy(database, ItrUser)
        with pytest.raises(ServiceUnavailable):
            await repo.list_with_query(QuerySpec(limit=5))
        with pytest.raises(ServiceUnavailable):
            await repo.get_by_id(1)
    finally:
        await database.dispose()
