"""Behind PgBouncer in transaction pooling mode, which keeps no prepared statement
between transactions: every operation works (issue 15, item 3)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from scaling_app import serve, write_config

pytestmark = pytest.mark.postgres

QUIET = "logger:\n  level: ERROR\n"


async def _traffic(client: Any, callers: int, rounds: int) -> list[tuple[str, int, str]]:
    """Concurrent create, get, restock, patch, both lists and delete; the failures."""
    failures: list[tuple[str, int, str]] = []

    def check(response: Any) -> Any:
        if not response.is_success:
            failures.append(
                (
                    f"{response.request.method} {response.request.url.path}",
                    response.status_code,
                    response.text[:300],
                )
            )
        return response

    async def caller(n: int) -> None:
        for i in range(rounds):
            created = check(await client.post("/items", json={"name": f"c{n}-{i}", "qty": i}))
            if not created.is_success:
                continue
            key = created.json()["id"]
            check(await client.get(f"/items/{key}"))
            check(await client.post(f"/items/{key}/restock"))
            check(await client.patch(f"/items/{key}", json={"name": f"p{n}-{i}"}))
            check(await client.get("/items?limit=5"))
            check(await client.get("/items?pagination=offset&limit=5"))
            check(await client.get("/items?pagination=offset&limit=5&qty__gte=1"))
            if i % 2:
                check(await client.delete(f"/items/{key}"))

    await asyncio.gather(*(caller(n) for n in range(callers)))
    return failures


@pytest.mark.parametrize("setting", ["true", "auto"])
async def test_every_request_succeeds_behind_pgbouncer(
    pgbouncer_url: str, tmp_path: Path, setting: str
) -> None:
    config = write_config(tmp_path, pgbouncer_url, f"  pgbouncer: {setting}\n{QUIET}")
    async with serve(config) as (client, app):
        failures = await _traffic(client, callers=30, rounds=4)
        assert failures == []
        assert app.state.loom.database.pgbouncer is True  # told, or found out at start-up
        assert (await client.get("/health/ready")).status_code == 200


async def test_prepared_statements_fail_behind_pgbouncer(
    pgbouncer_url: str, tmp_path: Path
) -> None:
    """What the setting prevents: named statements meet another server connection."""
    config = write_config(tmp_path, pgbouncer_url, f"  pgbouncer: false\n{QUIET}")
    async with serve(config) as (client, _app):
        failures = await _traffic(client, callers=10, rounds=2)
    assert failures


async def test_a_direct_connection_keeps_prepared_statements(
    db_url_factory: Any, tmp_path: Path
) -> None:
    config = write_config(tmp_path, db_url_factory("postgres"), QUIET)
    async with serve(config) as (client, app):
        assert (await client.get("/items")).status_code == 200
        assert app.state.loom.database.pgbouncer is False


def test_a_wrong_setting_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    from loom.bootstrap import database_from_config
    from loom.core.config.loader import ConfigError, load_config

    config = write_config(tmp_path, "postgresql+asyncpg://u@h/db", "  pgbouncer: sometimes\n")
    with pytest.raises(ConfigError, match=r"database\.pgbouncer.*true, false or auto"):
        database_from_config(load_config(config))
