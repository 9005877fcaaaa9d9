"""Telling the repository cache about every write that reaches the database.

The cache wrapper sees ``create``/``update``/``delete``, but writes also come from
custom repository methods, raw SQL and the database itself (``ON DELETE CASCADE``).
All of them reach the sinks through the database's :class:`WriteChannel`: a
``before_cursor_execute`` listener on the engine sees SQLAlchemy's statements, and the
asyncpg runner reports the writes it runs on the driver itself. A compiled
``INSERT``/``UPDATE``/``DELETE`` names its table; anything else that looks like a
write (text SQL) retires every cached read, because its table is unknown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import event

if TYPE_CHECKING:
    from loom.core.repository.sqlalchemy._database import Database

__all__ = ["WriteChannel", "WriteSink", "install_write_tracking", "written_tables"]

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


class WriteChannel:
    """The one way a database's writes reach those who track them (the cache).

    Writes that run through SQLAlchemy are seen by one ``before_cursor_execute``
    listener on the engine, attached with the first sink; a statement runner that
    runs a write on the driver itself reports it with :meth:`report`. Either way the
    sinks hear of it once, here.
    """

    __slots__ = ("_engine", "listening", "sinks")

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self.sinks: list[WriteSink] = []
        self.listening = False
        """Whether the channel's listener is on the engine (it counts as one of the
        engine's cursor listeners, but watches nothing for anyone else)."""

    def subscribe(self, sink: WriteSink) -> None:
        """Tell ``sink`` of every later write (once per sink)."""
        if any(known is sink for known in self.sinks):
            return
        if not self.listening:
            event.listen(self._engine, "before_cursor_execute", self._before_execute)
            self.listening = True
        self.sinks.append(sink)

    def report(self, tables: tuple[str, ...], *, delete: bool = False) -> None:
        for sink in self.sinks:
            sink.note_write(tables, delete=delete)

    def _before_execute(
        self, _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        tables, delete = written_tables(context, statement)
        if tables:
            self.report(tables, delete=delete)


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
    """Report every write on ``database`` to ``sink`` (idempotent per pair)."""
    database.writes.subscribe(sink)
