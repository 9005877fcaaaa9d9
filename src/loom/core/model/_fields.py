"""Field declarations placed as defaults on model attributes.

They are descriptions, not values: the model metaclass collects them into the
model's :class:`~loom.core.model.ModelInfo` and replaces them with real defaults.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from loom.core.model._types import (
    ColumnType,
    OnUpdate,
    ServerDefault,
    ServerOnUpdate,
    as_column_type,
)

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

    ``column_type`` is an explicit SQL type (``String(120)``, ``Integer``,
    ``Postgres.JSONB``, see :mod:`loom.core.model`); ``db_type`` overrides it (a type or
    a type name such as ``"VARCHAR(20)"``). Without either, the type follows the
    annotation. ``nullable`` defaults to what the annotation says (``X | None`` is
    nullable). ``server_default`` is raw SQL text or ``ServerDefault.NOW`` (a creation
    timestamp); ``server_onupdate=ServerOnUpdate.NOW`` makes the column an update
    timestamp. ``on_update`` is the foreign key's ``ON UPDATE`` action.
    ``timestamp`` is internal: ``"created"`` or ``"updated"`` columns are set by the
    repository, never by the client.
    """

    __slots__ = (
        "autoincrement",
        "column_type",
        "db_type",
        "default",
        "default_factory",
        "foreign_key",
        "index",
        "length",
        "nullable",
        "on_delete",
        "on_update",
        "primary_key",
        "server_default",
        "server_onupdate",
        "timestamp",
        "unique",
    )

    def __init__(
        self,
        column_type: ColumnType | str | None = None,
        *,
        primary_key: bool = False,
        unique: bool = False,
        index: bool = False,
        nullable: bool | None = None,
        autoincrement: bool = False,
        server_default: ServerDefault | str | None = None,
        server_onupdate: ServerOnUpdate | None = None,
        foreign_key: str | None = None,
        on_delete: OnDelete | str | None = None,
        default: Any = msgspec.UNSET,
        length: int | None = None,
        db_type: ColumnType | str | None = None,
        on_update: OnUpdate | str | None = None,
        default_factory: Callable[[], Any] | None = None,
        timestamp: str | None = None,
    ) -> None:
        if foreign_key is not None and foreign_key.count(".") != 1:
            raise ValueError(f"foreign_key must be 'table.column', got {foreign_key!r}")
        if on_delete is not None and foreign_key is None:
            raise ValueError("on_delete needs a foreign_key")
        if on_update is not None and foreign_key is None:
            raise ValueError("on_update needs a foreign_key")
        if length is not None and length <= 0:
            raise ValueError("length must be positive")
        if timestamp not in (None, "created", "updated"):
            raise ValueError("timestamp must be 'created' or 'updated'")
        ctype = as_column_type(column_type) if column_type is not None else None
        self.db_type = as_column_type(db_type, where="db_type") if db_type is not None else None
        if ctype is not None and ctype.type_name == "String" and ctype.args:
            # String(120) and length=120 say the same thing; keep them in step so the
            # request validation (max_length) sees the length either way.
            if length is not None and length != ctype.args[0]:
                raise ValueError(
                    f"length={length} contradicts column_type {ctype!r}: give one of them"
                )
            length = ctype.args[0]
        elif ctype is not None and ctype.type_name == "String" and length is not None:
            ctype = ColumnType("String", (length,))
        if isinstance(server_default, ServerDefault):
            pass
        elif server_default is not None and not isinstance(server_default, str):
            raise TypeError(
                f"server_default must be SQL text or a ServerDefault, got {server_default!r}"
            )
        if server_onupdate is not None:
            server_onupdate = ServerOnUpdate(server_onupdate)
        # 0.2's NOW defaults are timestamps the database sets; here the repository sets
        # them (on every write path, custom SQL aside), and the DDL keeps now().
        if timestamp is None and server_onupdate is ServerOnUpdate.NOW:
            timestamp = "updated"
        elif timestamp is None and server_default is ServerDefault.NOW:
            timestamp = "created"
        self.column_type = ctype
        self.primary_key = primary_key
        self.autoincrement = autoincrement
        self.length = length
        self.unique = unique
        self.index = index
        self.foreign_key = foreign_key
        self.on_delete = OnDelete(on_delete) if on_delete is not None else None
        self.on_update = OnUpdate(on_update) if on_update is not None else None
        # UNSET (0.2's spelling of "no default") and NODEFAULT mean the same here.
        self.default = NODEFAULT if default is msgspec.UNSET else default
        self.default_factory = default_factory
        self.nullable = nullable
        self.server_default = server_default
        self.server_onupdate = server_onupdate
        self.timestamp = timestamp

    @property
    def sql_type(self) -> ColumnType | None:
        """The explicit type the table gets: ``db_type``, else ``column_type``."""
        return self.db_type if self.db_type is not None else self.column_type

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
