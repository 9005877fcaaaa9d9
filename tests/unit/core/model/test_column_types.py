"""Explicit column types (0.2's ``ColumnField(column_type, ...)``), the Annotated form,
server-side defaults and the introspection helpers."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Annotated, Any

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateTable

from loom.core.model import (
    JSON,
    BaseModel,
    BigInteger,
    Boolean,
    Cardinality,
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
    RelationField,
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


class CtOwner(BaseModel):
    __tablename__ = "ct_owners"
    id: int = ColumnField(Integer, primary_key=True, autoincrement=True)
    name: str = ColumnField(String(40))


class CtItem(BaseModel):
    __tablename__ = "ct_items"
    id: int = ColumnField(BigInteger, primary_key=True, autoincrement=True)
    owner_id: int = ColumnField(
        Integer, foreign_key="ct_owners.id", on_delete=OnDelete.CASCADE, on_update=OnUpdate.CASCADE
    )
    code: Annotated[str, String(12), Field(unique=True)]
    body: str = ColumnField(Text)
    price: decimal.Decimal = ColumnField(Numeric(precision=12, scale=3))
    ratio: float = ColumnField(Float, default=0.5)
    active: bool = ColumnField(Boolean, default=True)
    data: dict[str, Any] = ColumnField(JSON, default_factory=dict)
    doc: dict[str, Any] = ColumnField(Postgres.JSONB, default_factory=dict)
    tags: list[str] = ColumnField(Postgres.ARRAY(String(20)), default_factory=list)
    search: str | None = ColumnField(Postgres.TSVECTOR)
    ref: uuid.UUID | None = ColumnField(Postgres.UUID)
    local: dt.datetime | None = ColumnField(DateTime(tz=False))
    created: dt.datetime = ColumnField(DateTime(), server_default=ServerDefault.NOW)
    touched: dt.datetime | None = ColumnField(server_onupdate=ServerOnUpdate.NOW)
    short: str = ColumnField(Text, db_type="VARCHAR(7)", default="")
    counter: int = ColumnField(server_default="0", default=0)
    owner: CtOwner | None = RelationField(
        foreign_key="owner_id", cardinality=Cardinality.MANY_TO_ONE, profiles=("full",)
    )


def ddl(model: type, dialect: Any) -> dict[str, str]:
    """column name -> its DDL line."""
    text = str(CreateTable(table_for(model)).compile(dialect=dialect))
    lines = [line.strip().rstrip(",") for line in text.splitlines()]
    return {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in lines if line[:1].islower()}


def test_postgres_ddl_uses_the_declared_types() -> None:
    cols = ddl(CtItem, postgresql.dialect())
    assert cols["id"].startswith("BIGSERIAL")
    assert cols["owner_id"].startswith("INTEGER NOT NULL")
    assert cols["code"] == "VARCHAR(12) NOT NULL"
    assert cols["body"] == "TEXT NOT NULL"
    assert cols["price"] == "NUMERIC(12, 3) NOT NULL"
    assert cols["ratio"].startswith("FLOAT")
    assert cols["active"].startswith("BOOLEAN")
    assert cols["data"].startswith("JSON ")
    assert cols["doc"].startswith("JSONB")
    assert cols["tags"].startswith("VARCHAR(20)[]")
    assert cols["search"] == "TSVECTOR"
    assert cols["ref"] == "UUID"
    assert cols["local"] == "TIMESTAMP WITHOUT TIME ZONE"
    assert cols["created"] == "TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL"
    assert cols["short"] == "VARCHAR(7) NOT NULL"  # db_type wins over column_type
    assert cols["counter"] == "BIGINT DEFAULT 0 NOT NULL"  # raw SQL text stays raw


def test_postgres_only_types_fall_back_on_sqlite() -> None:
    cols = ddl(CtItem, sqlite.dialect())
    assert cols["doc"].startswith("JSON") and cols["tags"].startswith("JSON")
    assert cols["search"] == "TEXT"
    assert "DEFAULT CURRENT_TIMESTAMP" in cols["created"]


def test_foreign_key_actions_and_unique_from_annotated_field() -> None:
    table = table_for(CtItem)
    (fk,) = table.c.owner_id.foreign_keys
    assert (fk.ondelete, fk.onupdate) == ("CASCADE", "CASCADE")
    assert table.c.code.unique is True


def test_typed_columns_read_and_write_python_values() -> None:
    table = table_for(CtItem)
    assert isinstance(table.c.price.type, sa.Numeric)
    assert table.c.price.type.python_type is decimal.Decimal
    assert table.c.ref.type.python_type is uuid.UUID


def test_string_length_and_length_keyword_are_the_same_thing() -> None:
    assert ColumnField(String(30)).length == 30
    assert ColumnField(String(), length=30).column_type == String(30)
    with pytest.raises(ValueError, match="contradicts"):
        ColumnField(String(30), length=40)
    # The length reaches request validation (max_length), whichever way it was given.
    assert get_column_fields(CtItem)["code"].field.length == 12


def test_bare_and_called_type_spellings_are_equal() -> None:
    assert Integer() is Integer and Text() == Text
    assert ColumnField(String).column_type == String()
    assert ColumnField("JSONB").column_type == Postgres.JSONB
    assert ColumnField(db_type="NUMERIC(12, 4)").sql_type == ColumnType("NUMERIC", (12, 4))
    assert Numeric() == ColumnType("Numeric", (10, 2))
    assert DateTime() == ColumnType("DateTime", (), {"timezone": True})
    with pytest.raises(TypeError, match="column type"):
        ColumnField(column_type=3.5)  # type: ignore[arg-type]


def test_server_now_columns_are_set_by_the_database_side_not_the_client() -> None:
    item_fields = get_column_fields(CtItem)
    assert item_fields["created"].field.timestamp == "created"
    assert item_fields["touched"].field.timestamp == "updated"
    item = CtItem(owner_id=1, code="a", body="b", price=decimal.Decimal("1.5"))
    assert item.created is msgspec.UNSET and item.touched is msgspec.UNSET
    assert item.id is msgspec.UNSET


def test_unset_default_means_no_default_as_in_0_2() -> None:
    field = ColumnField(default=msgspec.UNSET)
    assert field.default is msgspec.NODEFAULT
    with pytest.raises(TypeError, match="body"):
        CtItem(owner_id=1, code="a", price=decimal.Decimal(1))  # type: ignore[call-arg]


def test_introspection_helpers() -> None:
    fields = get_column_fields(CtItem)
    assert list(fields)[:3] == ["id", "owner_id", "code"]
    code = fields["code"]
    assert isinstance(code, ColumnFieldInfo)
    assert (code.name, code.python_type, code.column_type) == ("code", str, String(12))
    assert code.field.unique is True
    # Without an explicit type, the type Loom infers from the annotation.
    assert get_column_fields(CtOwner)["id"].column_type == Integer
    assert fields["touched"].column_type == DateTime(tz=True)
    assert get_id_attribute(CtItem) == "id"
    assert get_table_name(CtItem) == "ct_items"
    assert list(get_relations(CtItem)) == ["owner"]
    assert get_relations(CtItem)["owner"].cardinality is Cardinality.MANY_TO_ONE
    assert get_projections(CtItem) == {}


Code = Annotated[str, String(8), Field(index=True)]


class CtAliasA(BaseModel):
    __tablename__ = "ct_alias_a"
    id: Annotated[int, Integer, Field(primary_key=True, autoincrement=True)]
    code: Code
    note: Annotated[str | None, Text] = None


class CtAliasB(BaseModel):
    __tablename__ = "ct_alias_b"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    code: Code = "x"


def test_annotated_form_declares_columns_and_shared_aliases_stay_independent() -> None:
    a, b = get_column_fields(CtAliasA), get_column_fields(CtAliasB)
    assert a["id"].field.primary_key and a["id"].column_type == Integer
    assert a["code"].column_type == String(8) and a["code"].field.index
    assert a["note"].column_type == Text and a["note"].field.default is None
    assert b["code"].field.default == "x" and a["code"].field.default is msgspec.NODEFAULT
    assert CtAliasA(code="k").id is msgspec.UNSET
    assert ddl(CtAliasA, postgresql.dialect())["id"].startswith("SERIAL")
