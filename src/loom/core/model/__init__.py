"""Models: msgspec structs that declare their table.

Example::

    class User(TimestampedModel):
        __tablename__ = "users"
        id: int = ColumnField(primary_key=True, autoincrement=True)
        email: str = ColumnField(length=255, unique=True, index=True)
"""

from loom.core.model._annotated import Field
from loom.core.model._base import BaseModel, ModelMeta, TimestampedModel, all_models, model_by_table
from loom.core.model._fields import (
    Cardinality,
    ColumnField,
    OnDelete,
    ProjectionField,
    RelationField,
)
from loom.core.model._info import ColumnInfo, ModelInfo, model_info
from loom.core.model._introspection import (
    ColumnFieldInfo,
    get_column_fields,
    get_id_attribute,
    get_projections,
    get_relations,
    get_table_name,
)
from loom.core.model._types import (
    JSON,
    BigInteger,
    Boolean,
    ColumnType,
    DateTime,
    Float,
    Integer,
    Numeric,
    OnUpdate,
    Postgres,
    ServerDefault,
    ServerOnUpdate,
    String,
    Text,
)

__all__ = [
    "JSON",
    "BaseModel",
    "BigInteger",
    "Boolean",
    "Cardinality",
    "ColumnField",
    "ColumnFieldInfo",
    "ColumnInfo",
    "ColumnType",
    "DateTime",
    "Field",
    "Float",
    "Integer",
    "ModelInfo",
    "ModelMeta",
    "Numeric",
    "OnDelete",
    "OnUpdate",
    "Postgres",
    "ProjectionField",
    "RelationField",
    "ServerDefault",
    "ServerOnUpdate",
    "String",
    "Text",
    "TimestampedModel",
    "all_models",
    "get_column_fields",
    "get_id_attribute",
    "get_projections",
    "get_relations",
    "get_table_name",
    "model_by_table",
    "model_info",
]
