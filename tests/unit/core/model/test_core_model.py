"""Models: wire format, defaults, nullability and the compiled tables."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from loom.core.model import (
    BaseModel,
    ColumnField,
    OnDelete,
    TimestampedModel,
    model_by_table,
    model_info,
)
from loom.core.repository.sqlalchemy import table_for


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class UmAuthor(TimestampedModel):
    __tablename__ = "um_authors"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    full_name: str = ColumnField(length=120)
    email: str = ColumnField(length=255, unique=True, index=True)
    nick_name: str | None = ColumnField(length=30)
    rating: int = ColumnField(default=3)
    tags: list[str] = ColumnField(default_factory=list)
    bio: str | None = None


class UmBook(BaseModel):
    __tablename__ = "um_books"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    author_id: int = ColumnField(
        foreign_key="um_authors.id", on_delete=OnDelete.CASCADE, index=True
    )
    editor_id: int | None = ColumnField(foreign_key="um_authors.id", on_delete=OnDelete.SET_NULL)
    title: str = ColumnField(length=200, index=True)
    isbn: str = ColumnField(length=13, unique=True)
    price: decimal.Decimal = ColumnField(default=decimal.Decimal("0"))
    colour: Colour = ColumnField(default=Colour.RED)
    published: dt.date | None = None
    ref: uuid.UUID | None = None
    weight: float = 1.0
    in_print: bool = True
    blob: bytes | None = None
    meta: dict[str, Any] = ColumnField(default_factory=dict)


class UmNatural(BaseModel):
    """A client-chosen primary key (not autoincrement)."""

    __tablename__ = "um_naturals"
    code: str = ColumnField(primary_key=True, length=8)
    label: str = ColumnField(length=20, nullable=True)
    strict: str | None = ColumnField(length=20, nullable=False)


def test_wire_format_is_camel_case_with_defaults_present() -> None:
    author = UmAuthor(id=1, full_name="Ada", email="a@x.io")
    data = msgspec.json.decode(msgspec.json.encode(author))
    assert list(data) == ["id", "fullName", "email", "nickName", "rating", "tags", "bio"]
    assert data["rating"] == 3 and data["tags"] == [] and data["nickName"] is None


def test_db_assigned_fields_are_unset_and_omitted_until_loaded() -> None:
    author = UmAuthor(full_name="Ada", email="a@x.io")
    assert author.id is msgspec.UNSET and author.created_at is msgspec.UNSET
    data = msgspec.json.decode(msgspec.json.encode(author))
    assert "id" not in data and "createdAt" not in data and "updatedAt" not in data


def test_timestamps_are_appended_last_and_encode_as_utc_iso() -> None:
    fields = [f.name for f in msgspec.structs.fields(UmAuthor)]
    assert fields[-2:] == ["created_at", "updated_at"]
    when = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)
    author = UmAuthor(id=1, full_name="A", email="e", created_at=when, updated_at=when)
    data = msgspec.json.decode(msgspec.json.encode(author))
    assert list(data)[-2:] == ["createdAt", "updatedAt"]
    assert data["createdAt"] == "2024-05-01T12:30:00Z"


def test_models_are_frozen_and_keyword_only() -> None:
    author = UmAuthor(id=1, full_name="A", email="e")
    with pytest.raises(AttributeError):
        author.full_name = "B"  # type: ignore[misc]
    with pytest.raises(TypeError):
        UmAuthor(1, "A", "e")  # type: ignore[misc]


def test_required_fields_are_required() -> None:
    with pytest.raises(TypeError):
        UmAuthor(full_name="A")  # type: ignore[call-arg]


def test_decoding_accepts_camel_case() -> None:
    author = msgspec.json.decode(b'{"id": 2, "fullName": "Bo", "email": "b@x.io"}', type=UmAuthor)
    assert author.full_name == "Bo" and author.rating == 3


def test_nullable_is_inferred_from_the_annotation_unless_declared() -> None:
    info = model_info(UmAuthor)
    assert info.columns["nick_name"].nullable is True
    assert info.columns["bio"].nullable is True
    assert info.columns["full_name"].nullable is False
    natural = model_info(UmNatural)
    assert natural.columns["label"].nullable is True
    assert natural.columns["strict"].nullable is False
    assert natural.columns["code"].nullable is False


def test_model_info_facts() -> None:
    info = model_info(UmAuthor)
    assert info.table == "um_authors" and info.pk.name == "id"
    assert (info.created_col, info.updated_col) == ("created_at", "updated_at")
    assert info.column("fullName") is info.columns["full_name"]
    assert info.column("full_name") is info.columns["full_name"]
    assert info.column("nope") is None
    assert not info.columns["id"].writable and not info.columns["created_at"].writable
    assert model_info(UmNatural).columns["code"].writable
    assert model_by_table("um_authors") is UmAuthor
    assert model_info(UmAuthor) is info  # cached


def test_table_column_types() -> None:
    table = table_for(UmBook)
    c = table.c
    assert isinstance(c.title.type, sa.String) and c.title.type.length == 200
    assert isinstance(c.price.type, sa.Numeric)
    assert isinstance(c.colour.type, sa.Enum)
    assert isinstance(c.published.type, sa.Date)
    assert isinstance(c.ref.type, sa.Uuid)
    assert isinstance(c.weight.type, sa.Float)
    assert isinstance(c.in_print.type, sa.Boolean)
    assert isinstance(c.blob.type, sa.LargeBinary)
    assert isinstance(c.meta.type, sa.JSON)
    assert isinstance(table_for(UmAuthor).c.bio.type, sa.Text)
    assert table_for(UmAuthor).c.created_at.type.timezone is True
    assert c.id.primary_key and c.id.autoincrement is True
    assert c.published.nullable and not c.title.nullable


def test_bigint_on_postgres_integer_primary_key_on_sqlite() -> None:
    ddl_pg = str(CreateTable(table_for(UmBook)).compile(dialect=postgresql.dialect()))
    assert "id BIGSERIAL NOT NULL" in ddl_pg
    assert "author_id BIGINT NOT NULL" in ddl_pg
    ddl_lite = str(CreateTable(table_for(UmBook)).compile(dialect=sqlite.dialect()))
    assert "id INTEGER NOT NULL" in ddl_lite


def test_foreign_keys_with_on_delete_and_naming_convention() -> None:
    table = table_for(UmBook)
    fks = {fk.parent.name: fk for fk in table.foreign_keys}
    assert fks["author_id"].target_fullname == "um_authors.id"
    assert fks["author_id"].ondelete == "CASCADE"
    assert fks["editor_id"].ondelete == "SET NULL"
    ddl = str(CreateTable(table).compile(dialect=postgresql.dialect()))
    assert "CONSTRAINT fk_um_books_author_id_um_authors FOREIGN KEY(author_id)" in ddl
    assert "ON DELETE CASCADE" in ddl and "ON DELETE SET NULL" in ddl
    assert "CONSTRAINT pk_um_books PRIMARY KEY (id)" in ddl


def test_unique_and_index_naming() -> None:
    books = table_for(UmBook)
    ddl = str(CreateTable(books).compile(dialect=postgresql.dialect()))
    assert "CONSTRAINT uq_um_books_isbn UNIQUE (isbn)" in ddl
    indexes = {ix.name: ix for ix in books.indexes}
    assert set(indexes) == {"ix_um_books_author_id", "ix_um_books_title"}
    assert not indexes["ix_um_books_title"].unique
    authors = {ix.name: ix for ix in table_for(UmAuthor).indexes}
    # unique + index: one unique index rather than a constraint plus an index
    assert authors["ix_um_authors_email"].unique
    create = str(CreateIndex(authors["ix_um_authors_email"]).compile(dialect=sqlite.dialect()))
    assert create.startswith("CREATE UNIQUE INDEX ix_um_authors_email")


def test_table_is_cached() -> None:
    assert table_for(UmAuthor) is table_for(UmAuthor)


def test_invalid_declarations_are_rejected() -> None:
    with pytest.raises(ValueError):
        ColumnField(foreign_key="no_dot")
    with pytest.raises(ValueError):
        ColumnField(on_delete=OnDelete.CASCADE)
    with pytest.raises(ValueError):
        ColumnField(length=0)

    class UmNoPk(BaseModel):
        __tablename__ = "um_no_pk"
        name: str = ColumnField(length=5)

    with pytest.raises(TypeError, match="primary key"):
        model_info(UmNoPk)


def test_two_models_cannot_share_a_table() -> None:
    with pytest.raises(TypeError, match="um_authors"):

        class Impostor(BaseModel):
            __tablename__ = "um_authors"
            id: int = ColumnField(primary_key=True)
