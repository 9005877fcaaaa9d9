"""Resolved, cached facts about a model that every layer reads.

Resolution is lazy (first use, normally start-up) because annotations may name
classes declared later in the same module.
"""

from __future__ import annotations

import datetime as _dt
import types
import typing
from dataclasses import dataclass, field
from typing import Any

import msgspec

from loom.core.model._fields import ColumnField, ProjectionField, RelationField
from loom.core.naming import to_camel

__all__ = ["ColumnInfo", "ModelInfo", "model_info"]

_UNSET = msgspec.UNSET


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    name: str
    camel: str
    python_type: Any
    """The annotation with ``None`` stripped (``str | None`` -> ``str``)."""
    annotation: Any
    nullable: bool
    decl: ColumnField
    has_default: bool
    default: Any

    @property
    def writable(self) -> bool:
        """Clients may set it: not a database-assigned key, not a timestamp."""
        return not (self.decl.timestamp or (self.decl.primary_key and self.decl.autoincrement))


@dataclass(frozen=True, slots=True)
class RelationInfo:
    name: str
    camel: str
    decl: RelationField
    target: type
    many: bool


@dataclass(frozen=True, slots=True)
class ProjectionInfo:
    name: str
    camel: str
    decl: ProjectionField
    annotation: Any


@dataclass(slots=True)
class ModelInfo:
    model: type
    table: str
    columns: dict[str, ColumnInfo]
    pk: ColumnInfo
    relations: dict[str, RelationInfo] = field(default_factory=dict)
    projections: dict[str, ProjectionInfo] = field(default_factory=dict)
    by_wire_name: dict[str, str] = field(default_factory=dict)
    """Python or camelCase name -> Python name, for every column."""
    created_col: str | None = None
    updated_col: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    """Per-model caches owned by adapters (compiled statements, write structs...)."""

    @property
    def name(self) -> str:
        return self.model.__name__

    def column(self, wire_name: str) -> ColumnInfo | None:
        name = self.by_wire_name.get(wire_name)
        return self.columns[name] if name is not None else None

    def profiles(self) -> tuple[str, ...]:
        names: list[str] = ["default"]
        for decl in [r.decl for r in self.relations.values()] + [
            p.decl for p in self.projections.values()
        ]:
            for p in decl.profiles:
                if p not in names:
                    names.append(p)
        return tuple(names)


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, nullable = _strip_optional(typing.get_args(annotation)[0])
        return inner, nullable
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) != len(typing.get_args(annotation))
        inner = args[0] if len(args) == 1 else typing.Union[tuple(args)]  # noqa: UP007
        return inner, nullable
    return annotation, False


def _relation_target(annotation: Any) -> tuple[type, bool]:
    inner, _ = _strip_optional(annotation)
    origin = typing.get_origin(inner)
    if origin in (list, tuple, typing.Sequence, set, frozenset) or (
        origin is not None and getattr(origin, "__name__", "") in ("Sequence", "list", "tuple")
    ):
        args = [a for a in typing.get_args(inner) if a is not Ellipsis]
        return args[0], True
    return inner, False


_INFO_ATTR = "__loom_info__"


def model_info(model: type) -> ModelInfo:
    """The :class:`ModelInfo` of ``model``, resolving it on first call."""
    info = model.__dict__.get(_INFO_ATTR)
    if info is not None:
        return info
    declarations: dict[str, Any] | None = getattr(model, "__loom_declarations__", None)
    table = getattr(model, "__tablename__", None)
    if declarations is None or not table:
        raise TypeError(
            f"{getattr(model, '__name__', model)!r} is not a model with a __tablename__"
        )
    hints = {f.name: f for f in msgspec.structs.fields(model)}
    columns: dict[str, ColumnInfo] = {}
    relations: dict[str, RelationInfo] = {}
    projections: dict[str, ProjectionInfo] = {}
    pk: ColumnInfo | None = None
    created = updated = None
    for name, decl in declarations.items():
        fi = hints[name]
        if isinstance(decl, RelationField):
            target, many = _relation_target(fi.type)
            relations[name] = RelationInfo(name, to_camel(name), decl, target, many)
            continue
        if isinstance(decl, ProjectionField):
            projections[name] = ProjectionInfo(name, to_camel(name), decl, fi.type)
            continue
        inner, optional = _strip_optional(fi.type)
        nullable = decl.nullable if decl.nullable is not None else optional
        has_default = (
            fi.default is not msgspec.NODEFAULT or fi.default_factory is not msgspec.NODEFAULT
        )
        col = ColumnInfo(
            name=name,
            camel=to_camel(name),
            python_type=inner,
            annotation=fi.type,
            nullable=bool(nullable) and not decl.primary_key,
            decl=decl,
            has_default=has_default and fi.default is not _UNSET,
            default=fi.default,
        )
        if decl.timestamp and inner is not _dt.datetime:
            raise TypeError(f"{model.__name__}.{name}: timestamp columns must be datetime")
        if decl.timestamp == "created":
            created = name
        elif decl.timestamp == "updated":
            updated = name
        if decl.primary_key:
            if pk is not None:
                raise TypeError(f"{model.__name__}: composite primary keys are not supported")
            pk = col
        columns[name] = col
    if pk is None:
        raise TypeError(
            f"{model.__name__}: declare a primary key with ColumnField(primary_key=True)"
        )
    by_wire: dict[str, str] = {}
    for col in columns.values():
        by_wire[col.name] = col.name
        by_wire[col.camel] = col.name
    info = ModelInfo(
        model=model,
        table=table,
        columns=columns,
        pk=pk,
        relations=relations,
        projections=projections,
        by_wire_name=by_wire,
        created_col=created,
        updated_col=updated,
    )
    type.__setattr__(model, _INFO_ATTR, info)
    return info
