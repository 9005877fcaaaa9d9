"""The store's initial migration on an empty PostgreSQL database, there and back.

Everything runs through the ``loom db`` command, as a user would, against a database
created for this test only (the session database's tables come from ``create_all``
and would hide what the migration does).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import (
    own_pg_database,
    run_blocking,
)

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[3]
STORE = ROOT / "examples" / "store"
PROBE = Path(__file__).with_name("_schema_probe.py")
VERSIONS = STORE / "migrations" / "versions"
INITIAL = next(VERSIONS.glob("*_initial_schema.py")).name.split("_")[0]
HEAD = next(VERSIONS.glob("*_loom_framework_tables.py")).name.split("_")[0]


@pytest.fixture
def empty_database() -> Iterator[str]:
    """The asyncpg URL of a brand-new, empty PostgreSQL database."""
    with own_pg_database("loom_migr") as url:
        yield url


def run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, *args], cwd=STORE, env=env, capture_output=True, text=True, timeout=60
    )


def loom(url: str, *args: str) -> str:
    done = run(url, "-m", "loom.cli", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def public_tables(url: str) -> set[str]:
    import asyncpg

    dsn = url.replace("postgresql+asyncpg", "postgresql")

    async def fetch() -> set[str]:
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        finally:
            await conn.close()
        return {r["tablename"] for r in rows}

    return run_blocking(fetch)


def test_initial_migration_builds_the_declared_schema_and_downgrades_to_nothing(
    empty_database: str,
) -> None:
    url = empty_database
    assert "base" in loom(url, "db", "current", "config/api.yaml")

    assert f"database at {INITIAL}" in loom(url, "db", "upgrade", "config/api.yaml", INITIAL)
    assert f"database at {HEAD}" in loom(url, "db", "upgrade", "config/api.yaml")
    assert loom(url, "db", "current", "config/api.yaml").strip() == HEAD

    probe = run(url, str(PROBE), "config/api.yaml")
    assert probe.returncode == 0, probe.stderr
    schema: dict[str, Any] = json.loads(probe.stdout)
    # Autogenerate finds nothing left to do: the migrated schema is what the models declare.
    assert schema["diffs"] == []
    tables = schema["tables"]
    assert set(tables) == {
        "alembic_version",
        "users",
        "addresses",
        "products",
        "orders",
        "order_items",
        "loom_jobs",
        "loom_idempotency",
    }
    users = tables["users"]
    assert users["primary_key"] == ["id"]
    assert users["columns"]["id"] == {"type": "BIGINT", "nullable": False}
    assert users["columns"]["full_name"] == {"type": "VARCHAR(120)", "nullable": False}
    assert users["columns"]["created_at"] == {
        "type": "TIMESTAMP WITH TIME ZONE",
        "nullable": False,
    }
    assert [["email"], True] in users["indexes"]
    assert tables["orders"]["columns"]["notes"] == {"type": "VARCHAR(500)", "nullable": True}
    assert tables["products"]["indexes"] == [[["category"], False], [["sku"], True]]
    assert tables["addresses"]["foreign_keys"] == [[["user_id"], "users.id", "CASCADE"]]
    assert tables["orders"]["foreign_keys"] == [
        [["address_id"], "addresses.id", "RESTRICT"],
        [["user_id"], "users.id", "CASCADE"],
    ]
    assert tables["order_items"]["foreign_keys"] == [
        [["order_id"], "orders.id", "CASCADE"],
        [["product_id"], "products.id", "RESTRICT"],
    ]

    assert "database at base" in loom(url, "db", "downgrade", "config/api.yaml", "base")
    assert public_tables(url) <= {"alembic_version"}
    assert "base" in loom(url, "db", "current", "config/api.yaml")
