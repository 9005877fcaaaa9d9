"""0.2's model introspection helpers, read from the model's :class:`ModelInfo`.

Each call resolves the model once (``model_info`` caches), so they are cheap enough for
tooling and tests; the request path reads ``ModelInfo`` directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loom.core.model._fields import ColumnField, ProjectionField, RelationField
from loom.core.model._info import model_info
from loom.core.model._types import ColumnType, inferred_column_type

__all__ = [
    "ColumnFieldInfo",
    "column_type_of",
    "get_column_fields",
    "get_id_attribute",
    "get_projections",
    "get_relations",
    "get_table_name",
]


@dataclass(frozen=True, slots=True)
class ColumnFieldInfo:
    """One column: its Python name, its type without ``None``, the SQL type it gets
    (explicit, else inferred; ``None`` when nothing fits) and its declaration."""

    name: str
    python_type: Any
    column_type: ColumnType | None
    field: ColumnField


def column_type_of(field: ColumnField, python_type: Any) -> ColumnType | None:
    """The SQL type a column gets: ``db_type``, else ``column_type``, else inferred."""
    explicit = field.sql_type
    if explicit is not None:
        return explicit
    return inferred_column_type(python_type, field.length)


def get_column_fields(cls: type) -> dict[str, ColumnFieldInfo]:
    """Every column of ``cls`` in declaration order."""
    return {
        name: ColumnFieldInfo(
            name, col.python_type, column_type_of(col.decl, col.python_type), col.decl
        )
        for name, col in model_info(cls).columns.items()
    }


def get_relations(cls: type) -> dict[str, RelationField]:
    return {name: rel.decl for name, rel in model_info(cls).relations.items()}


def get_projections(cls: type) -> dict[str, ProjectionField]:
    return {name: proj.decl for name, proj in model_info(cls).projections.items()}


def get_id_attribute(cls: type) -> str:
    """The primary key's attribute name."""
    return model_info(cls).pk.name


def get_table_name(cls: type) -> str:
    return model_info(cls).table
