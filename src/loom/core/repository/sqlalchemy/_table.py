"""Compiling models into SQLAlchemy ``Table`` objects in one shared ``MetaData``."""

from __future__ import annotations

import datetime as _dt
import decimal
import enum
import typing
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator

from loom.core.model import ColumnInfo, ColumnType, ServerDefault, model_info
from loom.core.model._base import model_by_table

__all__ = ["UTCDateTime", "metadata", "table_for"]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
"""Every model's table lives here; point Alembic's ``target_metadata`` at it."""


class UTCDateTime(TypeDecorator[_dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.UTC)
        value = value.astimezone(_dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=_dt.UTC)
        return value.astimezone(_dt.UTC)

    def __repr__(self) -> str:
        # What a migration file says: the column is a plain timestamptz; the UTC
        # conversion is Python-side only.
        return "DateTime(timezone=True)"


# Alembic autogenerate writes a type from a ``sqlalchemy.`` module as ``sa.<repr>``
# and any other with its full module path, which the revision never imports: an
# env.py without Loom's ``render_item`` (every one written for 0.2) would produce a
# revision that fails with NameError. Presented as SQLAlchemy's, it renders as
# ``sa.DateTime(timezone=True)``.
UTCDateTime.__module__ = "sqlalchemy.types"


BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class _LiteralType(sa.types.UserDefinedType[Any]):
    """A type given as DDL text (``db_type="CITEXT"``) that SQLAlchemy does not know."""

    cache_ok = True

    def __init__(self, ddl: str) -> None:
        self.ddl = ddl

    def get_col_spec(self, **kw: Any) -> str:
        return self.ddl


def _portable(pg: sa.types.TypeEngine[Any], other: sa.types.TypeEngine[Any]) -> Any:
    """``pg`` on PostgreSQL, ``other`` elsewhere (tests on SQLite keep running)."""
    return other.with_variant(pg, "postgresql")


def _explicit_type(ctype: ColumnType, col: ColumnInfo | None) -> sa.types.TypeEngine[Any]:
    """SQLAlchemy's type for a :class:`ColumnType` description."""
    name, args, kwargs = ctype.type_name, ctype.args, ctype.kwargs
    where = f"column {col.name!r}: " if col is not None else ""
    if name == "DateTime" and not args:
        return UTCDateTime() if kwargs.get("timezone", True) else sa.DateTime()
    if name == "Numeric" and col is not None and col.python_type is float:
        # A float field on an exact column: read floats back, not Decimals.
        return sa.Numeric(*args, **{"asdecimal": False, **kwargs})
    if name == "BigInteger" and not args and not kwargs:
        return BigInt  # INTEGER on SQLite, so an autoincrement key still works there
    if name == "JSONB" and not args:
        return _portable(postgresql.JSONB(**kwargs), sa.JSON())
    if name == "TSVECTOR":
        return _portable(postgresql.TSVECTOR(), sa.Text())
    if name == "UUID" and not args:
        if col is not None and col.python_type is str:
            return sa.Uuid(as_uuid=False)
        return sa.Uuid()
    if name == "ARRAY":
        if not args:
            raise TypeError(f"{where}ARRAY needs an item type: Postgres.ARRAY(Integer)")
        item = args[0]
        item_type = _explicit_type(item, None) if isinstance(item, ColumnType) else item
        return _portable(postgresql.ARRAY(item_type, *args[1:], **kwargs), sa.JSON())
    if name == "Enum" and args and isinstance(args[0], type) and issubclass(args[0], enum.Enum):
        return sa.Enum(
            args[0],
            native_enum=False,
            length=kwargs.get("length", 64),
            values_callable=lambda e: [m.value for m in e],
        )
    spelled = name.replace("_", " ")
    if args:
        spelled += "(" + ", ".join(str(a) for a in args) + ")"
    for module, portable in ((sa.types, True), (postgresql, False)):
        factory = getattr(module, name, None) or getattr(module, name.upper(), None)
        if isinstance(factory, type) and issubclass(factory, sa.types.TypeEngine):
            try:
                built = factory(*args, **kwargs)
            except TypeError as exc:
                raise TypeError(f"{where}cannot build SQL type {ctype!r}: {exc}") from None
            # A PostgreSQL-only type is TEXT elsewhere (tests on SQLite keep running).
            return built if portable else _portable(built, sa.Text())
    # Unknown to SQLAlchemy: emitted as written (a database-specific type or domain).
    return _LiteralType(spelled)


def sql_type(col: ColumnInfo) -> sa.types.TypeEngine[Any]:
    explicit = col.decl.sql_type
    if explicit is not None:
        return _explicit_type(explicit, col)
    t = col.python_type
    if typing.get_origin(t) is typing.Annotated:
        t = typing.get_args(t)[0]
    if t is bool:
        return sa.Boolean()
    if t is int:
        return BigInt
    if t is float:
        return sa.Float()
    if t is str:
        return sa.String(col.decl.length) if col.decl.length else sa.Text()
    if t is _dt.datetime:
        return UTCDateTime()
    if t is _dt.date:
        return sa.Date()
    if t is _dt.time:
        return sa.Time()
    if t is decimal.Decimal:
        return sa.Numeric(38, 10)
    if t is uuid.UUID:
        return sa.Uuid()
    if t is bytes:
        return sa.LargeBinary()
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return sa.Enum(
            t,
            native_enum=False,
            length=col.decl.length or 64,
            values_callable=lambda e: [m.value for m in e],
        )
    origin = typing.get_origin(t) or t
    if origin in (dict, list, tuple) or t is typing.Any:
        return sa.JSON()
    raise TypeError(f"column {col.name!r}: no SQL type for annotation {t!r}")


def table_for(model: type) -> sa.Table:
    """The model's table, built on first use and cached on its ``ModelInfo``."""
    info = model_info(model)
    table = info.extras.get("sa_table")
    if table is not None:
        return table
    existing = metadata.tables.get(info.table)
    if existing is not None:
        info.extras["sa_table"] = existing
        return existing
    columns: list[sa.Column[Any]] = []
    ordered = sorted(info.columns.values(), key=lambda c: (not c.decl.primary_key,))
    for col in ordered:
        decl = col.decl
        args: list[Any] = []
        if decl.foreign_key:
            ref_table = decl.foreign_key.split(".", 1)[0]
            ref_model = model_by_table(ref_table)
            # A self-reference (``parent_id -> same table``) needs no table built first.
            if ref_model is not None and ref_table not in (*metadata.tables, info.table):
                table_for(ref_model)
            args.append(
                sa.ForeignKey(
                    decl.foreign_key,
                    ondelete=decl.on_delete.value if decl.on_delete else None,
                    onupdate=decl.on_update.value if decl.on_update else None,
                )
            )
        kwargs: dict[str, Any] = {
            "primary_key": decl.primary_key,
            "nullable": col.nullable,
            "unique": decl.unique or None,
            "index": decl.index or None,
            "key": col.name,
        }
        if decl.primary_key:
            kwargs["autoincrement"] = bool(decl.autoincrement)
            kwargs.pop("unique")
            kwargs.pop("index")
        if isinstance(decl.server_default, ServerDefault):
            if decl.server_default is ServerDefault.NOW:
                kwargs["server_default"] = sa.func.now()  # CURRENT_TIMESTAMP on SQLite
            # UUID4 emits nothing, as in 0.2.
        elif decl.server_default is not None:
            kwargs["server_default"] = sa.text(decl.server_default)
        columns.append(sa.Column(col.name, sql_type(col), *args, **kwargs))
    table = sa.Table(info.table, metadata, *columns)
    info.extras["sa_table"] = table
    return table
