"""Explicit column types and server-side defaults, as descriptions.

The core never imports SQLAlchemy: a :class:`ColumnType` is a name plus arguments
(``String(120)`` is ``ColumnType("String", (120,))``) that the SQL adapter turns into a
real type when it builds the table. Without one, the adapter infers the type from the
annotation (see :func:`inferred_column_type`).

``Integer``, ``Text``... are ready-made instances; calling one (``Integer()``) gives the
same type, so both spellings found in applications work. ``String``, ``DateTime``,
``Numeric`` and ``Postgres.ARRAY`` take arguments.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import enum
import re
import types
import typing
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = [
    "JSON",
    "BigInteger",
    "Boolean",
    "ColumnType",
    "DateTime",
    "Float",
    "Integer",
    "Numeric",
    "OnUpdate",
    "Postgres",
    "ServerDefault",
    "ServerOnUpdate",
    "String",
    "Text",
    "as_column_type",
    "inferred_column_type",
]


_NO_KWARGS: Mapping[str, Any] = types.MappingProxyType({})  # == {}, and immutable


class ColumnType:
    """An SQL type by name (``"String"``, ``"Numeric"``, ``"JSONB"``...) and arguments.

    Names are SQLAlchemy's type names (``sqlalchemy.types`` first, then the PostgreSQL
    dialect's), so ``ColumnType("SmallInteger")`` or ``ColumnType("INET")`` work too.
    """

    __slots__ = ("args", "kwargs", "type_name")

    def __init__(
        self,
        type_name: str,
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] = _NO_KWARGS,
    ) -> None:
        if not isinstance(type_name, str) or not type_name:
            raise ValueError(f"ColumnType needs a type name, got {type_name!r}")
        self.type_name = type_name
        self.args = tuple(args)
        self.kwargs: dict[str, Any] = dict(kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> ColumnType:
        """``Integer()`` is ``Integer``; with arguments, the same type with those."""
        if not args and not kwargs:
            return self
        return ColumnType(self.type_name, args, kwargs)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ColumnType):
            return NotImplemented
        return (self.type_name, self.args, self.kwargs) == (
            other.type_name,
            other.args,
            other.kwargs,
        )

    def __hash__(self) -> int:
        return hash((self.type_name, self.args, tuple(sorted(self.kwargs.items()))))

    def __repr__(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.type_name}({', '.join(parts)})"


def String(length: int | None = None) -> ColumnType:
    """``VARCHAR(length)``; with no length, unbounded (``TEXT``-like on PostgreSQL)."""
    if length is not None and (not isinstance(length, int) or length <= 0):
        raise ValueError(f"String(length=) must be a positive int, got {length!r}")
    return ColumnType("String", (length,) if length is not None else ())


def DateTime(*, tz: bool = True) -> ColumnType:
    """A timestamp; ``tz=True`` (the default) stores it with its time zone, read back
    as an aware UTC datetime on every backend."""
    return ColumnType("DateTime", (), {"timezone": bool(tz)})


def Numeric(*, precision: int = 10, scale: int = 2) -> ColumnType:
    """An exact decimal, ``NUMERIC(precision, scale)``."""
    return ColumnType("Numeric", (precision, scale))


Integer = ColumnType("Integer")
BigInteger = ColumnType("BigInteger")
Float = ColumnType("Float")
Boolean = ColumnType("Boolean")
Text = ColumnType("Text")
JSON = ColumnType("JSON")


class Postgres:
    """PostgreSQL types. On another database they fall back to the nearest portable
    type (JSONB -> JSON, TSVECTOR -> TEXT, ARRAY -> JSON), so tests on SQLite still run."""

    JSONB = ColumnType("JSONB")
    UUID = ColumnType("UUID")
    TSVECTOR = ColumnType("TSVECTOR")

    @staticmethod
    def ARRAY(item: ColumnType | Any) -> ColumnType:
        """An array of ``item`` (a :class:`ColumnType`, e.g. ``Postgres.ARRAY(Integer)``)."""
        return ColumnType("ARRAY", (as_column_type(item, where="Postgres.ARRAY(item)"),))


class ServerDefault(enum.StrEnum):
    """A default the database computes.

    ``NOW`` renders ``now()`` (``CURRENT_TIMESTAMP`` on SQLite) and makes the column a
    creation timestamp: set at INSERT, never by the client. ``UUID4`` is accepted and
    emits no SQL default (as in 0.2): give the field ``default_factory=uuid.uuid4``.
    A plain string stays raw SQL (``server_default="0"``).
    """

    NOW = "now"
    UUID4 = "uuid4"


class ServerOnUpdate(enum.StrEnum):
    """``NOW``: the column takes the current time at INSERT and on every UPDATE of its
    row (the repository sets it, so every write path does it)."""

    NOW = "now"


class OnUpdate(enum.StrEnum):
    """Referential action on a change of the referenced key (``ON UPDATE``)."""

    CASCADE = "CASCADE"
    RESTRICT = "RESTRICT"
    SET_NULL = "SET NULL"
    NO_ACTION = "NO ACTION"


_DDL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_ ]*?)\s*(?:\(([^()]*)\))?\s*$")


def _ddl_arg(text: str) -> Any:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        return text.strip("'\"")


def as_column_type(value: Any, *, where: str = "column_type") -> ColumnType:
    """A :class:`ColumnType` from what a declaration may hold.

    ``String`` (the function, not called) means ``String()``; a string is a type name
    with optional arguments (``"JSONB"``, ``"VARCHAR(20)"``, ``"NUMERIC(12, 4)"``).
    """
    if isinstance(value, ColumnType):
        return value
    if value in (String, DateTime, Numeric):
        return typing.cast(ColumnType, value())
    if isinstance(value, str):
        match = _DDL.match(value)
        if match is None:
            raise ValueError(f"{where}: cannot read the SQL type {value!r}")
        name = match.group(1).strip().replace(" ", "_")
        raw = match.group(2)
        args = tuple(_ddl_arg(a) for a in raw.split(",")) if raw and raw.strip() else ()
        return ColumnType(name, args)
    raise TypeError(
        f"{where}: expected a column type (String(120), Integer, Postgres.JSONB, "
        f"ColumnType('...') or a type name), got {value!r}"
    )


def inferred_column_type(python_type: Any, length: int | None = None) -> ColumnType | None:
    """The type Loom gives a column declared without one, from its annotation (``None``
    annotation without ``None``); ``None`` when the annotation has no SQL type."""
    t = python_type
    if typing.get_origin(t) is typing.Annotated:
        t = typing.get_args(t)[0]
    if t is bool:
        return Boolean
    if t is int:
        return BigInteger
    if t is float:
        return Float
    if t is str:
        return String(length) if length else Text
    if t is _dt.datetime:
        return DateTime(tz=True)
    if t is _dt.date:
        return ColumnType("Date")
    if t is _dt.time:
        return ColumnType("Time")
    if t is decimal.Decimal:
        return ColumnType("Numeric", (38, 10))
    if t is uuid.UUID:
        return ColumnType("Uuid")
    if t is bytes:
        return ColumnType("LargeBinary")
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return ColumnType("Enum", (t,), {"length": length or 64})
    origin = typing.get_origin(t) or t
    if origin in (dict, list, tuple) or t is typing.Any:
        return JSON
    return None
