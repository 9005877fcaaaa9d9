"""Constants shared by the runner, the seeder and the three apps."""

from __future__ import annotations

import os
from dataclasses import dataclass

ADMIN_DSN = os.environ.get("BENCH_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
BENCH_DB = os.environ.get("BENCH_DB", "loom_bench")
TEMPLATE_DB = os.environ.get("BENCH_TEMPLATE_DB", f"{BENCH_DB}_template")
"""Overridable so two runs on one PostgreSQL (e.g. ``benchmarks.inprocess`` beside
``make bench``) do not drop each other's databases."""
POOL_SIZE = int(os.environ.get("BENCH_POOL_SIZE", "10"))
DEFAULT_POOLS = os.environ.get("BENCH_POOL", "tuned") == "default"
"""``BENCH_POOL=default``: every app with its library's pool defaults, as its authors
would write it (SQLAlchemy's 5 + 10, asyncpg's 10, Loom with no pool settings)
instead of the tuned ``POOL_SIZE`` with no overflow."""
DEFAULT_URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{BENCH_DB}"


def database_url() -> str:
    """The SQLAlchemy URL every app reads (``DATABASE_URL``, as in Loom's YAML)."""
    return os.environ.get("DATABASE_URL", DEFAULT_URL)


def asyncpg_dsn(url: str) -> str:
    """``postgresql+asyncpg://...`` -> ``postgresql://...`` for asyncpg itself."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@dataclass(frozen=True)
class DataSize:
    users: int
    records: int

    @property
    def max_notes_per_record(self) -> int:
        return 5

    @property
    def boards(self) -> int:
        """One board per user: the default-profile projection scenario reads them."""
        return self.users


FULL = DataSize(users=10_000, records=50_000)
SMALL = DataSize(users=40, records=200)
