"""0.2 signature pins for column typing (``loom.core.model``), plus behaviour from
API-0.2.md's descriptions."""

from __future__ import annotations

import datetime as dt
import decimal
import inspect
from typing import Annotated, Any

import msgspec
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable

from loom.core.model import (
    JSON,
    BaseModel,
    BigInteger,
    Boolean,
    ColumnField,
    ColumnFieldInfo,
    ColumnType,
    DateTime,
    Field,
    Float,
    Integer,
    Numeric,
    OnDelete,
    OnUpdate,
    Postgres,
    ServerDefault,
    ServerOnUpdate,
    String,
    Text,
    get_column_fields,
    get_id_attribute,
    get_projections,
    get_relations,
    get_table_name,
)
from loom.core.repository.sqlalchemy import table_for

UNSET = msgspec.UNSET


def params(fn: Any) -> dict[str, Any]:
    return {
        name: (p.kind, p.default)
        for name, p in inspect.signature(fn).parameters.items()
        if p.kind is not p.VAR_KEYWORD
    }


def test_column_field_signature() -> None:
    sig = inspect.signature(ColumnField)
    names = list(sig.parameters)
    expected = [
        "column_type",
        "primary_key",
        "unique",
        "index",
        "nullable",
        "autoincrement",
        "server_default",
        "server_onupdate",
        "foreign_key",
        "on_delete",
        "default",
        "length",
        "db_type",
    ]
    assert names[: len(expected)] == expected
    p = sig.parameters
    assert p["column_type"].kind is p["column_type"].POSITIONAL_OR_KEYWORD
    assert p["column_type"].default is None
    for flag in ("primary_key", "unique", "index", "autoincrement"):
        assert p[flag].default is False and p[flag].kind is p[flag].KEYWORD_ONLY
    for absent in ("server_default", "server_onupdate", "foreign_key", "on_delete", "length"):
        assert p[absent].default is None
    assert p["db_type"].default is None
    assert p["default"].default is UNSET
    # Deliberate: nullable follows the annotation unless given (0.2: False).
    assert p["nullable"].default is None


def test_field_takes_the_column_flags() -> None:
    names = set(inspect.signature(Field).parameters)
    assert set(list(inspect.signature(ColumnField).parameters)[1:14]) <= names


def test_type_constructors() -> None:
    assert params(String) == {"length": (inspect.Parameter.POSITIONAL_OR_KEYWORD, None)}
    assert params(DateTime) == {"tz": (inspect.Parameter.KEYWORD_ONLY, True)}
    assert params(Numeric) == {
        "precision": (inspect.Parameter.KEYWORD_ONLY, 10),
        "scale": (inspect.Parameter.KEYWORD_ONLY, 2),
    }
    assert list(inspect.signature(Postgres.ARRAY).parameters) == ["item"]
    sig = inspect.signature(ColumnType)
    assert list(sig.parameters) == ["type_name", "args", "kwargs"]
    assert sig.parameters["args"].default == () and sig.parameters["kwargs"].default == {}
    for t in (Integer, BigInteger, Float, Boolean, Text, JSON, Postgres.JSONB):
        assert isinstance(t, ColumnType)
    assert isinstance(Postgres.UUID, ColumnType) and isinstance(Postgres.TSVECTOR, ColumnType)


def test_enums() -> None:
    assert {m.name for m in ServerDefault} == {"NOW", "UUID4"}
    assert {m.name for m in ServerOnUpdate} == {"NOW"}
    assert {m.name: m.value for m in OnUpdate} == {m.name: m.value for m in OnDelete}


def test_introspection_signatures() -> None:
    for fn in (get_column_fields, get_relations, get_projections, get_id_attribute, get_table_name):
        assert list(inspect.signature(fn).parameters) == ["cls"]
    assert [f for f in ColumnFieldInfo.__dataclass_fields__] == [
        "name",
        "python_type",
        "column_type",
        "field",
    ]


class Api02Invoice(BaseModel):
    __tablename__ = "api02_invoices"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    number: str = ColumnField(String(20), unique=True)
    amount: decimal.Decimal = ColumnField(Numeric())
    meta: dict[str, Any] = ColumnField(Postgres.JSONB, default_factory=dict)
    memo: Annotated[str, ColumnType("String", (60,)), Field(index=True)] = ""
    kind: str = ColumnField(Text, db_type="VARCHAR(8)", default="std")
    issued_at: dt.datetime = ColumnField(DateTime(), server_default=ServerDefault.NOW)
    changed_at: dt.datetime | None = ColumnField(server_onupdate=ServerOnUpdate.NOW)


def test_declared_types_reach_the_table() -> None:
    ddl = str(CreateTable(table_for(Api02Invoice)).compile(dialect=postgresql.dialect()))
    assert "number VARCHAR(20) NOT NULL" in ddl
    assert "amount NUMERIC(10, 2) NOT NULL" in ddl
    assert "meta JSONB NOT NULL" in ddl
    assert "memo VARCHAR(60) NOT NULL" in ddl
    assert "kind VARCHAR(8) NOT NULL" in ddl  # db_type overrides column_type
    assert "issued_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL" in ddl


def test_introspection_describes_the_model() -> None:
    fields = get_column_fields(Api02Invoice)
    assert fields["number"].column_type == String(20)
    assert fields["kind"].column_type == ColumnType("VARCHAR", (8,))
    assert fields["memo"].field.index is True and fields["memo"].python_type is str
    assert get_id_attribute(Api02Invoice) == "id"
    assert get_table_name(Api02Invoice) == "api02_invoices"
    # Server-maintained timestamps are not the client's to send.
    invoice = Api02Invoice(number="A-1", amount=decimal.Decimal("9.99"))
    assert invoice.issued_at is UNSET and invoice.changed_at is UNSET
