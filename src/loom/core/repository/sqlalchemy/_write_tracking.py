"""Telling the repository cache about every write that reaches the database.

The cache wrapper sees ``create``/``update``/``delete``, but writes also come from
custom repository methods, raw SQL and the database itself (``ON DELETE CASCADE``).
A ``before_cursor_execute`` listener on the engine sees all of them (the repository's
prebuilt writes on the asyncpg connection report themselves): a compiled
``INSERT``/``UPDATE``/``DELETE`` names its table; anything else that looks like a
write (text SQL) retires every cached read, because its table is unknown.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import event

from loom.core.repository.sqlalchemy._database import Database

__all__ = ["install_write_tracking", "written_tables"]

ALL_TABLES = "*"

_WRITE_WORDS = (
    "INSERT",
    "UPDATE",
    "DELETE",
    "REPLACE",
    "MERGE",
    "TRUNCATE",
    "DROP",
    "ALTER",
    "WITH",
    "COPY",
)


class WriteSink(Protocol):
    def note_write(self, tables: Any, *, delete: bool = False) -> None: ...


def written_tables(context: Any, statement: str) -> tuple[tuple[str, ...], bool]:
    """``(tables, is_delete)`` of a statement about to run; ``()`` when it reads only."""
    if context is not None and (context.isinsert or context.isupdate or context.isdelete):
        compiled = getattr(context, "compiled", None)
        table = getattr(getattr(compiled, "statement", None), "table", None)
        name = getattr(table, "name", None)
        if isinstance(name, str):
            return (name,), bool(context.isdelete)
        return (ALL_TABLES,), True
    compiled = getattr(context, "compiled", None)
    stmt = getattr(compiled, "statement", None)
    if stmt is not None and getattr(stmt, "is_select", False):
        return (), False
    head = statement.lstrip()[:12].upper()
    if head.startswith(_WRITE_WORDS):
        return (ALL_TABLES,), True
    return (), False


def install_write_tracking(database: Database, sink: WriteSink) -> None:
    """Report every write on ``database``'s engine to ``sink`` (idempotent per pair)."""
    installed: set[int] = database.__dict__.setdefault("_loom_write_sinks", set())
    if id(sink) in installed:
        return
    installed.add(id(sink))

    def before_execute(
        _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        tables, delete = written_tables(context, statement)
        if tables:
            sink.note_write(tables, delete=delete)

    event.listen(database.engine.sync_engine, "before_cursor_execute", before_execute)
    database.own_sql_listeners += 1
    # Prebuilt writes run on the asyncpg connection itself and are reported directly.
    database.write_sinks.append(sink)
