"""Compiling models into SQLAlchemy ``Table`` objects in one shared ``MetaData``."""

from __future__ import annotations

import datetime as _dt
import decimal
import enum
import typing
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from loom.core.model import ColumnInfo, model_info
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


BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def sql_type(col: ColumnInfo) -> sa.types.TypeEngine[Any]:
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
            if ref_model is not None and ref_table not in metadata.tables:
                table_for(ref_model)
            args.append(
                sa.ForeignKey(
                    decl.foreign_key,
                    ondelete=decl.on_delete.value if decl.on_delete else None,
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
        if decl.server_default is not None:
            kwargs["server_default"] = sa.text(decl.server_default)
        columns.append(sa.Column(col.name, sql_type(col), *args, **kwargs))
    table = sa.Table(info.table, metadata, *columns)
    info.extras["sa_table"] = table
    return table
