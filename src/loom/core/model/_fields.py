"""Field declarations placed as defaults on model attributes.

They are descriptions, not values: the model metaclass collects them into the
model's :class:`~loom.core.model.ModelInfo` and replaces them with real defaults.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

__all__ = [
    "NODEFAULT",
    "Cardinality",
    "ColumnField",
    "OnDelete",
    "ProjectionField",
    "RelationField",
]

NODEFAULT: Any = msgspec.NODEFAULT


class OnDelete(enum.StrEnum):
    """Referential action on the parent row's deletion, enforced by the database."""

    CASCADE = "CASCADE"
    RESTRICT = "RESTRICT"
    SET_NULL = "SET NULL"
    NO_ACTION = "NO ACTION"


class Cardinality(enum.StrEnum):
    MANY_TO_ONE = "many_to_one"
    ONE_TO_MANY = "one_to_many"
    ONE_TO_ONE = "one_to_one"


class ColumnField:
    """A persisted column.

    ``nullable`` defaults to what the annotation says (``X | None`` is nullable).
    ``timestamp`` is internal: ``"created"`` or ``"updated"`` columns are set by the
    repository, never by the client.
    """

    __slots__ = (
        "autoincrement",
        "default",
        "default_factory",
        "foreign_key",
        "index",
        "length",
        "nullable",
        "on_delete",
        "primary_key",
        "server_default",
        "timestamp",
        "unique",
    )

    def __init__(
        self,
        *,
        primary_key: bool = False,
        autoincrement: bool = False,
        length: int | None = None,
        unique: bool = False,
        index: bool = False,
        foreign_key: str | None = None,
        on_delete: OnDelete | None = None,
        default: Any = NODEFAULT,
        default_factory: Callable[[], Any] | None = None,
        nullable: bool | None = None,
        server_default: str | None = None,
        timestamp: str | None = None,
    ) -> None:
        if foreign_key is not None and foreign_key.count(".") != 1:
            raise ValueError(f"foreign_key must be 'table.column', got {foreign_key!r}")
        if on_delete is not None and foreign_key is None:
            raise ValueError("on_delete needs a foreign_key")
        if length is not None and length <= 0:
            raise ValueError("length must be positive")
        if timestamp not in (None, "created", "updated"):
            raise ValueError("timestamp must be 'created' or 'updated'")
        self.primary_key = primary_key
        self.autoincrement = autoincrement
        self.length = length
        self.unique = unique
        self.index = index
        self.foreign_key = foreign_key
        self.on_delete = OnDelete(on_delete) if on_delete is not None else None
        self.default = default
        self.default_factory = default_factory
        self.nullable = nullable
        self.server_default = server_default
        self.timestamp = timestamp

    def __repr__(self) -> str:
        parts = [
            f"{name}={getattr(self, name)!r}"
            for name in self.__slots__
            if getattr(self, name) not in (None, False, NODEFAULT)
        ]
        return f"ColumnField({', '.join(parts)})"


class RelationField:
    """A related entity (or list of them) loaded only for the profiles that ask for it.

    ``foreign_key`` names the column that links the two tables: on this model for
    ``MANY_TO_ONE`` (``"user_id"``), on the other model for ``ONE_TO_MANY`` and
    ``ONE_TO_ONE`` (``"order_id"``).
    """

    __slots__ = ("cardinality", "depends_on", "foreign_key", "model", "profiles")

    def __init__(
        self,
        *,
        foreign_key: str,
        cardinality: Cardinality,
        profiles: Sequence[str] = ("with_details",),
        depends_on: Sequence[str] = (),
        model: Any = None,
    ) -> None:
        self.foreign_key = foreign_key
        self.cardinality = Cardinality(cardinality)
        self.profiles = tuple(profiles)
        self.depends_on = tuple(depends_on)
        self.model = model


class ProjectionField:
    """A computed read-only value (count, existence, joined columns) per profile."""

    __slots__ = ("default", "depends_on", "loader", "profiles")

    def __init__(
        self,
        *,
        loader: Any,
        profiles: Sequence[str] = ("with_details",),
        depends_on: Sequence[str] = (),
        default: Any = None,
    ) -> None:
        self.loader = loader
        self.profiles = tuple(profiles)
        self.depends_on = tuple(depends_on)
        self.default = default
