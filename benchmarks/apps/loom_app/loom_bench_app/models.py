"""Models: users, records (owner, notes, and three projections over notes), notes;
boards, whose default profile carries an existence test over their cards."""

from __future__ import annotations

from loom.core.model import (
    Cardinality,
    ColumnField,
    OnDelete,
    ProjectionField,
    RelationField,
    TimestampedModel,
)

try:  # projections land after basic REST: without them the details scenario reports n/a
    from loom.core.projection.loaders import CountLoader, ExistsLoader, JoinFieldsLoader

    HAS_PROJECTIONS = True
except ImportError:  # pragma: no cover - depends on the Loom version
    HAS_PROJECTIONS = False


class User(TimestampedModel):
    __tablename__ = "users"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    full_name: str = ColumnField(length=120)
    email: str = ColumnField(length=255, unique=True, index=True)


class Note(TimestampedModel):
    __tablename__ = "notes"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    record_id: int = ColumnField(foreign_key="records.id", on_delete=OnDelete.CASCADE, index=True)
    author: str = ColumnField(length=120)
    body: str = ColumnField(length=500)


class Record(TimestampedModel):
    __tablename__ = "records"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    owner_id: int = ColumnField(foreign_key="users.id", on_delete=OnDelete.CASCADE, index=True)
    title: str = ColumnField(length=200)
    status: str = ColumnField(length=20, index=True)
    amount_cents: int = ColumnField()
    quantity: int = ColumnField()
    owner: User = RelationField(
        foreign_key="owner_id", cardinality=Cardinality.MANY_TO_ONE, profiles=("with_details",)
    )
    notes: list[Note] = RelationField(
        foreign_key="record_id", cardinality=Cardinality.ONE_TO_MANY, profiles=("with_details",)
    )
    if HAS_PROJECTIONS:
        has_notes: bool = ProjectionField(
            loader=ExistsLoader(model=Note, via="record_id"), profiles=("with_details",)
        )
        notes_count: int = ProjectionField(
            loader=CountLoader(model=Note, via="record_id"), profiles=("with_details",)
        )
        note_snippets: list[dict[str, str]] = ProjectionField(
            loader=JoinFieldsLoader(model=Note, value_columns=("author", "body"), via="record_id"),
            profiles=("with_details",),
        )


class Card(TimestampedModel):
    __tablename__ = "cards"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    board_id: int = ColumnField(foreign_key="boards.id", on_delete=OnDelete.CASCADE, index=True)
    title: str = ColumnField(length=200)


class Board(TimestampedModel):
    """Declared the 0.2 way: the loader names the relation (``via="cards"``) and the
    projection takes the default profiles, so a plain ``GET /boards/{id}`` answers
    ``hasCards``; the cards themselves load only for ``with_cards``."""

    __tablename__ = "boards"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=120)
    cards: list[Card] = RelationField(
        foreign_key="board_id", cardinality=Cardinality.ONE_TO_MANY, profiles=("with_cards",)
    )
    if HAS_PROJECTIONS:
        has_cards: bool = ProjectionField(loader=ExistsLoader(Card, via="cards"))
