"""Models: msgspec structs that declare their table.

Example::

    class User(TimestampedModel):
        __tablename__ = "users"
        id: int = ColumnField(primary_key=True, autoincrement=True)
        email: str = ColumnField(length=255, unique=True, index=True)
"""

from loom.core.model._base import BaseModel, ModelMeta, TimestampedModel, all_models, model_by_table
from loom.core.model._fields import (
    Cardinality,
    ColumnField,
    OnDelete,
    ProjectionField,
    RelationField,
)
from loom.core.model._info import ColumnInfo, ModelInfo, model_info

__all__ = [
    "BaseModel",
    "Cardinality",
    "ColumnField",
    "ColumnInfo",
    "ModelInfo",
    "ModelMeta",
    "OnDelete",
    "ProjectionField",
    "RelationField",
    "TimestampedModel",
    "all_models",
    "model_by_table",
    "model_info",
]
