from __future__ import annotations

from loom.core.model import (
    BaseModel,
    Cardinality,
    ColumnField,
    OnDelete,
    ProjectionField,
    RelationField,
    TimestampedModel,
)
from loom.core.projection.loaders import CountLoader, ExistsLoader


class Address(BaseModel):
    __tablename__ = "addresses"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    user_id: int = ColumnField(foreign_key="users.id", on_delete=OnDelete.CASCADE, index=True)
    label: str = ColumnField(length=80)
    street: str = ColumnField(length=255)
    city: str = ColumnField(length=120)
    country: str = ColumnField(length=120)
    zip_code: str = ColumnField(length=20)

    # MANY_TO_ONE declared by the referenced column, the 0.2 way.
    owner: User = RelationField(
        foreign_key="users.id",
        cardinality=Cardinality.MANY_TO_ONE,
        profiles=("with_owner",),
    )


class Note(BaseModel):
    __tablename__ = "notes"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    user_id: int = ColumnField(foreign_key="users.id", on_delete=OnDelete.CASCADE, index=True)
    body: str = ColumnField(length=500)


class User(TimestampedModel):
    __tablename__ = "users"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    full_name: str = ColumnField(length=120)
    email: str = ColumnField(length=255, unique=True, index=True)

    addresses: list[Address] = RelationField(
        foreign_key="user_id",
        cardinality=Cardinality.ONE_TO_MANY,
        profiles=("with_details",),
    )
    notes: list[Note] = RelationField(
        foreign_key="user_id",
        cardinality=Cardinality.ONE_TO_MANY,
        profiles=("with_details",),
    )
    # Default-profile projections: loaded by a plain GET /users/{id} and by lists.
    note_count: int = ProjectionField(loader=CountLoader(Note, via="notes"), default=0)
    has_addresses: bool = ProjectionField(loader=ExistsLoader(Address), default=False)
