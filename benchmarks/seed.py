"""Schema and deterministic data for the benchmark database.

The schema is the one Loom derives from ``apps/loom_app`` models (BIGINT keys, VARCHAR
lengths, ``timestamptz``), written out as DDL so all three apps read identical tables.
``prepare_template`` seeds a template database once per run; ``reset_bench_db`` clones
it (a file copy, well under a second) before each app's turn, so every app starts from
the same rows whatever the previous one wrote.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Iterator

import asyncpg

from benchmarks.settings import ADMIN_DSN, BENCH_DB, FULL, TEMPLATE_DB, DataSize

SCHEMA = """
DROP TABLE IF EXISTS cards, boards, notes, records, users CASCADE;
CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    full_name VARCHAR(120) NOT NULL,
    email VARCHAR(255) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT uq_users_email UNIQUE (email)
);
CREATE TABLE records (
    id BIGSERIAL PRIMARY KEY,
    owner_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title VARCHAR(200) NOT NULL,
    status VARCHAR(20) NOT NULL,
    amount_cents BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE notes (
    id BIGSERIAL PRIMARY KEY,
    record_id BIGINT NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    author VARCHAR(120) NOT NULL,
    body VARCHAR(500) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE boards (
    id BIGSERIAL PRIMARY KEY,
    name VARCHAR(120) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE cards (
    id BIGSERIAL PRIMARY KEY,
    board_id BIGINT NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
    title VARCHAR(200) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
"""

INDEXES = """
CREATE INDEX ix_records_owner_id ON records (owner_id);
CREATE INDEX ix_records_status ON records (status);
CREATE INDEX ix_notes_record_id ON notes (record_id);
CREATE INDEX ix_cards_board_id ON cards (board_id);
SELECT setval('users_id_seq', (SELECT max(id) FROM users));
SELECT setval('records_id_seq', (SELECT max(id) FROM records));
SELECT setval('notes_id_seq', (SELECT max(id) FROM notes));
SELECT setval('boards_id_seq', (SELECT max(id) FROM boards));
SELECT setval('cards_id_seq', (SELECT max(id) FROM cards));
"""

BASE_TIME = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
STATUSES = ("open", "closed", "pending", "open", "closed", "open", "pending", "closed", "open")


def _ts(i: int) -> dt.datetime:
    return BASE_TIME + dt.timedelta(seconds=i, microseconds=(i * 7919) % 1_000_000)


def user_rows(size: DataSize) -> Iterator[tuple[object, ...]]:
    for i in range(1, size.users + 1):
        yield (i, f"User {i}", f"user{i}@example.com", _ts(i), _ts(i))


def record_status(i: int) -> str:
    """About one record in ten is ``archived``: the offset scenario filters on it."""
    return "archived" if i % 10 == 0 else STATUSES[i % len(STATUSES)]


def record_rows(size: DataSize) -> Iterator[tuple[object, ...]]:
    for i in range(1, size.records + 1):
        owner = (i - 1) % size.users + 1
        yield (
            i,
            owner,
            f"Record {i}",
            record_status(i),
            (i * 3701) % 250_000,
            i % 20 + 1,
            _ts(i),
            _ts(i + 60),
        )


def notes_for(record_id: int) -> int:
    """One record in seven has no notes; the others 1 to 5 (about 130k notes for 50k)."""
    return 0 if record_id % 7 == 0 else record_id % 5 + 1


def note_rows(size: DataSize) -> Iterator[tuple[object, ...]]:
    note_id = 0
    for r in range(1, size.records + 1):
        for k in range(notes_for(r)):
            note_id += 1
            author = f"User {(r + k) % size.users + 1}"
            yield (
                note_id,
                r,
                author,
                f"Note {k + 1} on record {r}: looks fine.",
                _ts(r + k),
                _ts(r + k),
            )


def board_rows(size: DataSize) -> Iterator[tuple[object, ...]]:
    for i in range(1, size.boards + 1):
        yield (i, f"Board {i}", _ts(i), _ts(i + 30))


def cards_for(board_id: int) -> int:
    """One board in four has no cards (its ``hasCards`` is false), the others 1 to 3."""
    return board_id % 4


def card_rows(size: DataSize) -> Iterator[tuple[object, ...]]:
    card_id = 0
    for b in range(1, size.boards + 1):
        for k in range(cards_for(b)):
            card_id += 1
            yield (card_id, b, f"Card {k + 1} on board {b}", _ts(b + k), _ts(b + k))


async def seed(dsn: str, size: DataSize) -> dict[str, int]:
    """Create the schema in the database at ``dsn`` and fill it; returns row counts."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(SCHEMA)
        users = list(user_rows(size))
        records = list(record_rows(size))
        notes = list(note_rows(size))
        boards = list(board_rows(size))
        cards = list(card_rows(size))
        await conn.copy_records_to_table("users", records=users)
        await conn.copy_records_to_table("records", records=records)
        await conn.copy_records_to_table("notes", records=notes)
        await conn.copy_records_to_table("boards", records=boards)
        await conn.copy_records_to_table("cards", records=cards)
        await conn.execute(INDEXES)
        await conn.execute("VACUUM ANALYZE")
        return {
            "users": len(users),
            "records": len(records),
            "notes": len(notes),
            "boards": len(boards),
            "cards": len(cards),
        }
    finally:
        await conn.close()


def db_dsn(admin_dsn: str, name: str) -> str:
    return admin_dsn.rsplit("/", 1)[0] + "/" + name


async def _drop(admin: asyncpg.Connection, name: str) -> None:
    if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
        await admin.execute(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE false')
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def prepare_template(
    size: DataSize = FULL, admin_dsn: str = ADMIN_DSN, template: str = TEMPLATE_DB
) -> dict[str, float]:
    """(Re)build the template database; returns row counts and the seconds it took."""
    started = time.perf_counter()
    admin = await asyncpg.connect(admin_dsn)
    try:
        await _drop(admin, template)
        await admin.execute(f'CREATE DATABASE "{template}"')
    finally:
        await admin.close()
    counts = await seed(db_dsn(admin_dsn, template), size)
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'ALTER DATABASE "{template}" WITH IS_TEMPLATE true')
    finally:
        await admin.close()
    return {**counts, "seconds": round(time.perf_counter() - started, 2)}


async def reset_bench_db(
    admin_dsn: str = ADMIN_DSN, name: str = BENCH_DB, template: str = TEMPLATE_DB
) -> float:
    """Recreate ``name`` as a copy of the template; returns the seconds it took."""
    started = time.perf_counter()
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()
    return time.perf_counter() - started


async def vacuum(admin_dsn: str = ADMIN_DSN, name: str = BENCH_DB) -> None:
    """``VACUUM ANALYZE`` the bench database: rounds that share it then start from the
    same physical state instead of the dead rows the previous round's updates left."""
    conn = await asyncpg.connect(db_dsn(admin_dsn, name))
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def drop_databases(*names: str, admin_dsn: str = ADMIN_DSN) -> None:
    admin = await asyncpg.connect(admin_dsn)
    try:
        for name in names or (BENCH_DB, TEMPLATE_DB):
            await _drop(admin, name)
    finally:
        await admin.close()


if __name__ == "__main__":
    print(asyncio.run(prepare_template()))
    print(f"cloned in {asyncio.run(reset_bench_db()):.2f}s")
