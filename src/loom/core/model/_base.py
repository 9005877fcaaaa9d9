"""``BaseModel``: a msgspec struct whose class body doubles as a table declaration."""

from __future__ import annotations

import datetime as _dt
import typing
from typing import Any, ClassVar, dataclass_transform

import msgspec

from loom.core._struct import LoomStructMeta
from loom.core.model._annotated import column_from_annotation
from loom.core.model._fields import NODEFAULT, ColumnField, ProjectionField, RelationField

__all__ = ["BaseModel", "ModelMeta", "TimestampedModel", "all_models", "model_by_table"]

_MODELS_BY_TABLE: dict[str, type[BaseModel]] = {}


class ModelMeta(LoomStructMeta):
    """Pulls field declarations out of the class body before msgspec builds the struct.

    Declarations are kept on ``__loom_declarations__``; the attribute itself gets the
    declared default, ``None`` for nullable columns, or ``UNSET`` for values the
    database assigns (autoincrement keys, timestamps) and for relations and projections,
    which msgspec then leaves out of the JSON when they were not loaded.
    """

    def __new__(
        mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any
    ) -> ModelMeta:
        namespace = dict(namespace)
        declarations: dict[str, Any] = {}
        for base in reversed(bases):
            declarations.update(getattr(base, "__loom_declarations__", {}))
        annotations = dict(namespace.get("__annotations__", {}))
        if namespace.get("__tablename__") and any(
            getattr(b, "__loom_timestamped__", False) for b in bases
        ):
            # Added here rather than inherited so they come last on the wire and in the table.
            for stamp, kind in (("created_at", "created"), ("updated_at", "updated")):
                if stamp not in annotations and stamp not in declarations:
                    annotations[stamp] = _dt.datetime
                    namespace[stamp] = ColumnField(timestamp=kind)
            namespace["__annotations__"] = annotations
        for attr in annotations:
            value = namespace.get(attr, NODEFAULT)
            if not attr.startswith("__") and not isinstance(
                value, (RelationField, ProjectionField)
            ):
                # Annotated[T, ColumnType, Field(...)]: the column is in the annotation.
                declared = value if isinstance(value, ColumnField) else None
                module = namespace.get("__module__")
                annotated = column_from_annotation(annotations[attr], module, declared, value)
                if annotated is not None:
                    value = annotated
            if isinstance(value, ColumnField):
                declarations[attr] = value
                namespace[attr] = _column_default(value, annotations[attr])
            elif isinstance(value, (RelationField, ProjectionField)):
                declarations[attr] = value
                namespace[attr] = msgspec.UNSET
            elif not attr.startswith("__") and not _is_classvar(annotations[attr]):
                declarations[attr] = ColumnField(default=value)
        namespace["__loom_declarations__"] = declarations
        cls = super().__new__(mcls, name, bases, namespace, **kwargs)
        table = namespace.get("__tablename__")
        if table:
            previous = _MODELS_BY_TABLE.get(table)
            if previous is not None and previous.__qualname__ != cls.__qualname__:
                raise TypeError(
                    f"table {table!r} is declared by both {previous.__qualname__} "
                    f"and {cls.__qualname__}"
                )
            _MODELS_BY_TABLE[table] = cls  # type: ignore[assignment]
        return typing.cast(ModelMeta, cls)


def _is_classvar(annotation: Any) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return "ClassVar" in text


def _column_default(field: ColumnField, annotation: Any) -> Any:
    if field.default is not NODEFAULT:
        return field.default
    if field.default_factory is not None:
        return msgspec.field(default_factory=field.default_factory)
    if field.timestamp or (field.primary_key and field.autoincrement):
        return msgspec.UNSET
    if field.nullable or (field.nullable is None and _annotation_is_optional(annotation)):
        return None
    return NODEFAULT


def _annotation_is_optional(annotation: Any) -> bool:
    if isinstance(annotation, str):
        text = annotation.replace(" ", "")
        return "|None" in text or "None|" in text or text.startswith("Optional[")
    args = getattr(annotation, "__args__", ())
    return type(None) in args


# frozen_default: subclasses are frozen (LoomStructMeta) whether or not they say so.
@dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(msgspec.field,))
class BaseModel(msgspec.Struct, metaclass=ModelMeta, kw_only=True, rename="camel", frozen=True):
    """Base of persisted models; set ``__tablename__`` to give the model a table."""

    __tablename__: ClassVar[str]
    __loom_declarations__: ClassVar[dict[str, Any]]


class TimestampedModel(BaseModel):
    """Adds ``created_at`` / ``updated_at`` (UTC), maintained by the repository.

    The two columns are appended to each concrete model, after its own fields.
    """

    __loom_timestamped__: ClassVar[bool] = True


def model_by_table(table: str) -> type[BaseModel] | None:
    return _MODELS_BY_TABLE.get(table)


def all_models() -> list[type[BaseModel]]:
    return list(_MODELS_BY_TABLE.values())
