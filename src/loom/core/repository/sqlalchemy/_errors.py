"""Driver errors -> framework errors. No SQL or driver text reaches a client."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from loom.core.errors import Conflict, LoomError, ServiceUnavailable, ValidationError

__all__ = ["translate"]

# PostgreSQL error classes that mean "not now" rather than "wrong request": connection
# exceptions, operator intervention (shutting down, starting up), insufficient
# resources (too many clients). Whichever way the error arrives, it is a 503.
_UNAVAILABLE = ("08", "57P", "53")
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?P<cols>[\w., ]+)")
_SQLITE_NOT_NULL = re.compile(r"NOT NULL constraint failed: \w+\.(?P<col>\w+)")


def _pg_error(exc: sa_exc.DBAPIError) -> Any:
    orig = exc.orig
    cause = getattr(orig, "__cause__", None)
    return cause if getattr(cause, "sqlstate", None) else orig


def _constraint_columns(metadata: sa.MetaData, name: str | None) -> list[str]:
    if not name:
        return []
    for table in metadata.tables.values():
        for constraint in table.constraints:
            if constraint.name == name:
                return [c.key for c in constraint.columns]  # type: ignore[attr-defined]
        for index in table.indexes:
            if index.name == name:
                return [c.key for c in index.columns]
    return []


def translate(
    exc: BaseException,
    metadata: sa.MetaData,
    op: str = "",
    *,
    table: sa.Table | None = None,
    values: Mapping[str, Any] | None = None,
) -> BaseException:
    """The framework error for ``exc``, or ``exc`` itself when it is a real bug.

    ``table`` and ``values`` (the statement's target and parameters) let a foreign-key
    failure name its columns on SQLite, whose message names none.
    """
    if isinstance(exc, LoomError):
        return exc
    if type(exc).__module__.startswith("asyncpg"):
        # Raised by the driver directly (the repository's driver path, transactions).
        sqlstate = str(getattr(exc, "sqlstate", "") or "")
        if sqlstate.startswith("23"):
            return _integrity_error(
                str(exc),
                sqlstate,
                getattr(exc, "constraint_name", None),
                getattr(exc, "column_name", None),
                metadata,
                op,
                table,
                values,
            )
        if sqlstate.startswith("22"):
            return ValidationError.single(None, "a value is out of range or has the wrong format")
        if not sqlstate or sqlstate.startswith(_UNAVAILABLE):
            return ServiceUnavailable("the database is unavailable")
        return exc
    if isinstance(exc, sa_exc.IntegrityError):
        return _integrity(exc, metadata, op, table, values)
    if isinstance(exc, sa_exc.DataError):
        return ValidationError.single(None, "a value is out of range or has the wrong format")
    if isinstance(exc, sa_exc.DBAPIError):
        message = str(exc.orig).lower()
        if exc.connection_invalidated or isinstance(
            exc, (sa_exc.OperationalError, sa_exc.InterfaceError)
        ):
            if "locked" in message:
                return ServiceUnavailable("the database is busy; retry the request")
            return ServiceUnavailable("the database is unavailable")
        sqlstate = str(getattr(_pg_error(exc), "sqlstate", "") or "")
        if sqlstate.startswith(_UNAVAILABLE):
            return ServiceUnavailable("the database is unavailable")
        if sqlstate.startswith("22"):
            return ValidationError.single(None, "a value is out of range or has the wrong format")
        return exc
    if isinstance(exc, (ConnectionError, OSError, asyncio.TimeoutError, TimeoutError)):
        return ServiceUnavailable("the database is unavailable")
    if isinstance(exc, sa_exc.TimeoutError):
        return ServiceUnavailable("no database connection available in time")
    return exc


def _fk_columns_sent(table: sa.Table | None, values: Mapping[str, Any] | None) -> list[str]:
    """The foreign-key columns of ``table`` that the failed write set to a value."""
    if table is None or not values:
        return []
    return [
        col.key for col in table.columns if col.foreign_keys and values.get(col.key) is not None
    ]


def _fk_columns_referencing(metadata: sa.MetaData, table: sa.Table | None) -> list[str]:
    """The columns whose ``RESTRICT`` / ``NO ACTION`` references to ``table`` block a delete."""
    if table is None:
        return []
    cols: list[str] = []
    for other in metadata.tables.values():
        for fk in other.foreign_keys:
            action = (fk.ondelete or "NO ACTION").upper()
            blocking = action in ("RESTRICT", "NO ACTION") and fk.column.table is table
            if blocking and fk.parent.key not in cols:
                cols.append(fk.parent.key)
    return cols


def _integrity(
    exc: sa_exc.IntegrityError,
    metadata: sa.MetaData,
    op: str,
    table: sa.Table | None = None,
    values: Mapping[str, Any] | None = None,
) -> LoomError:
    pg = _pg_error(exc)
    return _integrity_error(
        str(exc.orig),
        str(getattr(pg, "sqlstate", "") or ""),
        getattr(pg, "constraint_name", None),
        getattr(pg, "column_name", None),
        metadata,
        op,
        table,
        values,
    )


def _integrity_error(
    text: str,
    sqlstate: str,
    constraint: str | None,
    column: str | None,
    metadata: sa.MetaData,
    op: str,
    table: sa.Table | None,
    values: Mapping[str, Any] | None,
) -> LoomError:
    m = _SQLITE_UNIQUE.search(text)
    if m or sqlstate == "23505":
        cols = (
            [c.strip().split(".")[-1] for c in m.group("cols").split(",")]
            if m
            else _constraint_columns(metadata, constraint)
        )
        what = ", ".join(cols) or "a unique field"
        return Conflict(f"a record with the same {what} already exists", fields=cols)
    if "FOREIGN KEY" in text or sqlstate == "23503":
        cols = _constraint_columns(metadata, constraint)
        if op == "delete" or "still referenced" in text.lower():
            cols = cols or _fk_columns_referencing(metadata, table)
            return Conflict("the record is still referenced by other records", fields=cols)
        cols = cols or _fk_columns_sent(table, values)
        what = ", ".join(cols) or "a reference"
        return Conflict(f"{what} refers to a record that does not exist", fields=cols)
    nn = _SQLITE_NOT_NULL.search(text)
    if nn or sqlstate == "23502":
        col = nn.group("col") if nn else column
        return ValidationError.single(col, "field cannot be null")
    return Conflict("the change conflicts with existing data")
