"""The ``Annotated[T, ColumnType, Field(...)]`` way of declaring a column.

``name: Annotated[str, String(120), Field(unique=True)]`` says the same as
``name: str = ColumnField(String(120), unique=True)``. The model metaclass calls
:func:`column_from_annotation` for every annotated attribute; string annotations
(``from __future__ import annotations``) are evaluated in the model's module, which
works for everything but forward references (those keep the annotation-only column).
"""

from __future__ import annotations

import sys
import typing
from collections.abc import Callable
from typing import Any

import msgspec

from loom.core.model._fields import NODEFAULT, ColumnField, OnDelete
from loom.core.model._types import ColumnType, OnUpdate, ServerDefault, ServerOnUpdate

__all__ = ["Field", "column_from_annotation"]


def Field(
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
) -> ColumnField:
    """The column flags of :class:`ColumnField`, for use inside ``Annotated[...]``."""
    return ColumnField(
        primary_key=primary_key,
        unique=unique,
        index=index,
        nullable=nullable,
        autoincrement=autoincrement,
        server_default=server_default,
        server_onupdate=server_onupdate,
        foreign_key=foreign_key,
        on_delete=on_delete,
        default=default,
        length=length,
        db_type=db_type,
        on_update=on_update,
        default_factory=default_factory,
    )


# Annotations that cannot carry column metadata: skip their evaluation.
_PLAIN = frozenset({"int", "str", "float", "bool", "bytes", "datetime", "date", "Decimal"})


def _evaluate(annotation: Any, module: str | None) -> Any:
    if not isinstance(annotation, str):
        return annotation
    if annotation in _PLAIN:
        return None
    namespace = dict(vars(sys.modules[module])) if module in sys.modules else {}
    namespace.setdefault("typing", typing)
    namespace.setdefault("Annotated", typing.Annotated)
    try:
        return eval(annotation, namespace)  # the class body's own annotation text
    except Exception:
        return None


def column_from_annotation(
    annotation: Any, module: str | None, declared: ColumnField | None, value: Any
) -> ColumnField | None:
    """The column an ``Annotated`` annotation declares, merged with ``declared`` (a
    ``ColumnField`` given as the attribute's value) or the plain default ``value``;
    ``None`` when the annotation carries no column metadata."""
    resolved = _evaluate(annotation, module)
    if typing.get_origin(resolved) is not typing.Annotated:
        return None
    ctype: ColumnType | None = None
    flags: ColumnField | None = None
    for meta in typing.get_args(resolved)[1:]:
        if isinstance(meta, ColumnType):
            ctype = meta
        elif isinstance(meta, ColumnField):
            flags = meta
    if ctype is None and flags is None:
        return None
    field = declared or flags or ColumnField()
    if declared is not None and flags is not None:
        raise TypeError(
            "a column is declared both by Field(...) in Annotated and by a ColumnField "
            "value: keep one"
        )
    if field is flags or declared is None:
        # A field object may sit in a shared alias (Id = Annotated[int, Field(...)]):
        # copy it so per-model adjustments below never leak into another model.
        field = _copy(field)
    if ctype is not None and field.column_type is None:
        merged = ColumnField(ctype, length=field.length)
        field.column_type = merged.column_type
        field.length = merged.length
    if value is not NODEFAULT and field.default is NODEFAULT and declared is None:
        field.default = value
    return field


def _copy(field: ColumnField) -> ColumnField:
    clone = ColumnField.__new__(ColumnField)
    for name in ColumnField.__slots__:
        setattr(clone, name, getattr(field, name))
    return clone
