"""``pgbouncer_url``: the test database reached through a real PgBouncer."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from pgbouncer_support import pgbouncer_binary, run_pgbouncer
from tests.conftest import PG_HOST, PG_PORT, PG_USER, pg_available, pg_problem, require_service


@pytest.fixture(scope="session")
def pgbouncer_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A PgBouncer 1.18-style transaction pooler in front of the test server."""
    require_service(pg_available(), pg_problem() or "")
    require_service(pgbouncer_binary() is not None, "pgbouncer is not installed")
    with run_pgbouncer(tmp_path_factory.mktemp("pgbouncer"), PG_HOST, PG_PORT, PG_USER) as port:
        yield port


@pytest.fixture
def pgbouncer_url(db_url_factory: Callable[[str], str], pgbouncer_port: int) -> str:
    """The session's test database, through PgBouncer."""
    direct = db_url_factory("postgres")
    return direct.replace(f"@{PG_HOST}:{PG_PORT}/", f"@127.0.0.1:{pgbouncer_port}/")
