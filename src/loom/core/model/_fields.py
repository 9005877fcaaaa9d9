"""Field declarations placed as defaults on model attributes.

They are descriptions, not values: the model metaclass collects them into the
model's :class:`~loom.core.model.ModelInfo` and replaces them with real defaults.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

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

# ``id: int = ColumnField(primary_key=True)``: the declaration stands where a type checker
# expects an ``int``, and the model metaclass replaces it before any instance exists. An
# ``Any`` base (for type checkers only) makes a declaration assignable to its field's
# annotated type while its constructor's parameters stay checked; at run time the base is
# ``object``.
if TYPE_CHECKING:
    _Declaration = Any
else:
    _Declaration = object


class OnDelete(enum.StrEnum):
    """Referential action on the parent row's deletion, enforced by the database."""

    CASCADE = "CASCADE"
    RESTRICT = "RESTRICT"
    SET_NULL = "SET NULL"
    NO_ACTION = "NO ACTION"


class Cardinality(enum.StrEnum):
    """How many rows each side of a :class:`RelationField` has."""

    ONE_TO_ONE = "one_to_one"
    ONE_TO_MANY = "one_to_many"
    MANY_TO_ONE = "many_to_one"
    MANY_TO_MANY = "many_to_many"


class ColumnField(_Declaration):  # type: ignore[misc,unused-ignore]
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


class RelationField(_Declaration):  # type: ignore[misc,unused-ignore]
    """A related entity (or list of them), loaded for the profiles listed in ``profiles``.

    The related model comes from the annotation (``User | None``, ``list[Item]``) or
    from ``model=``. ``foreign_key`` says which column links the two tables:

    - ``MANY_TO_ONE``: a column of this model, by name (``"user_id"``) or by what it
      references (``"users.id"``: the one column declared
      ``ColumnField(foreign_key="users.id")``);
    - ``ONE_TO_MANY`` / ``ONE_TO_ONE``: the column of the other model pointing here
      (``"order_id"`` or ``"items.order_id"``);
    - ``MANY_TO_MANY``: ``secondary`` names the association table (a model of its own
      with a foreign key to each side); ``foreign_key`` may name its column pointing
      here (``"post_id"``), needed only when both of its keys point at this table.

    ``on_delete`` / ``on_update`` and ``back_populates`` are accepted for applications
    written for 0.2; referential actions are the foreign-key column's
    (``ColumnField(on_delete=)``), and ``back_populates`` is checked to name a
    relation of the other model. ``default`` is the value of a single relation with
    no related row (``None``).
    """

    __slots__ = (
        "back_populates",
        "cardinality",
        "default",
        "depends_on",
        "foreign_key",
        "model",
        "on_delete",
        "on_update",
        "profiles",
        "secondary",
    )

    def __init__(
        self,
        *,
        foreign_key: str | None,
        cardinality: Cardinality,
        secondary: str | type | None = None,
        back_populates: str | None = None,
        on_delete: OnDelete | str | None = None,
        on_update: OnUpdate | str | None = None,
        profiles: Sequence[str] = ("default",),
        depends_on: Sequence[Any] = (),
        default: Any = None,
        model: Any = None,
    ) -> None:
        self.cardinality = Cardinality(cardinality)
        if foreign_key is not None and (not isinstance(foreign_key, str) or not foreign_key):
            raise ValueError(
                f"RelationField: foreign_key must be a column name, got {foreign_key!r}"
            )
        if foreign_key is None and self.cardinality is not Cardinality.MANY_TO_MANY:
            raise ValueError(
                f"RelationField: a {self.cardinality.name} relation needs foreign_key= "
                "(the column linking the two tables)"
            )
        many_to_many = self.cardinality is Cardinality.MANY_TO_MANY
        if many_to_many and secondary is None:
            raise ValueError('RelationField: MANY_TO_MANY needs secondary="<association table>"')
        if secondary is not None and not many_to_many:
            raise ValueError(
                f"RelationField: secondary= is for MANY_TO_MANY, not {self.cardinality.name}"
            )
        self.foreign_key = foreign_key
        self.secondary = secondary
        self.back_populates = back_populates
        self.on_delete = OnDelete(on_delete) if on_delete is not None else None
        self.on_update = OnUpdate(on_update) if on_update is not None else None
        self.profiles = _profile_names(profiles)
        self.depends_on = tuple(depends_on)
        self.default = default
        self.model = model

    def __repr__(self) -> str:
        parts = [f"{self.cardinality.name}", f"foreign_key={self.foreign_key!r}"]
        if self.secondary is not None:
            parts.append(f"secondary={self.secondary!r}")
        parts.append(f"profiles={self.profiles!r}")
        return f"RelationField({', '.join(parts)})"


class ProjectionField(_Declaration):  # type: ignore[misc,unused-ignore]
    """A computed read-only value (count, existence, joined columns), loaded for the
    profiles listed in ``profiles``; ``default`` is its value when the loader finds
    nothing and has no empty value of its own (a single joined value)."""

    __slots__ = ("default", "depends_on", "loader", "profiles")

    def __init__(
        self,
        *,
        loader: Any,
        profiles: Sequence[str] = ("default",),
        depends_on: Sequence[str] = (),
        default: Any = None,
    ) -> None:
        self.loader = loader
        self.profiles = _profile_names(profiles)
        self.depends_on = tuple(depends_on)
        self.default = default


def _profile_names(profiles: Sequence[str] | str) -> tuple[str, ...]:
    # A lone string is one profile, not the profiles named by its characters.
    return (profiles,) if isinstance(profiles, str) else tuple(profiles)
