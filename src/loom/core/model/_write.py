"""Write-side shapes of a model: what a create or a partial update may carry.

Built once per model from its ``ModelInfo``: the auto-CRUD request bodies, the
OpenAPI schemas and the repositories' input validation all use the same types, so
what the docs say is accepted is exactly what is accepted. Column lengths become
``max_length`` checks, so an over-long string is a 422, not a database error.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Annotated, Any

import msgspec

from loom.core.command._command import fields_set
from loom.core.errors import ValidationError
from loom.core.model._info import ColumnInfo, ModelInfo
from loom.core.validation import from_msgspec

__all__ = ["create_struct", "patch_struct", "prepare_create", "prepare_patch", "utcnow"]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def constrained_type(col: ColumnInfo) -> Any:
    t = col.python_type
    if t is str and col.decl.length:
        t = Annotated[str, msgspec.Meta(max_length=col.decl.length)]
    elif t is int:
        t = Annotated[int, msgspec.Meta(ge=INT64_MIN, le=INT64_MAX)]
    return t | None if col.nullable else t


def create_struct(info: ModelInfo) -> type[msgspec.Struct]:
    cached = info.extras.get("create_struct")
    if cached is not None:
        return cached
    fields: list[Any] = []
    optional: list[Any] = []
    for col in info.columns.values():
        if not col.writable:
            continue
        t = constrained_type(col)
        if col.has_default:
            default = col.default
            if col.decl.default_factory is not None:
                default = msgspec.field(default_factory=col.decl.default_factory)
            optional.append((col.name, t, default))
        elif col.nullable:
            optional.append((col.name, t, None))
        else:
            fields.append((col.name, t))
    struct = msgspec.defstruct(
        f"Create{info.name}",
        fields + optional,
        kw_only=True,
        rename="camel",
        module=info.model.__module__,
    )
    info.extras["create_struct"] = struct
    return struct


def patch_struct(info: ModelInfo) -> type[msgspec.Struct]:
    cached = info.extras.get("patch_struct")
    if cached is not None:
        return cached
    fields = [
        (col.name, constrained_type(col) | msgspec.UnsetType, msgspec.UNSET)
        for col in info.columns.values()
        if col.writable and not col.decl.primary_key
    ]
    struct = msgspec.defstruct(
        f"Update{info.name}",
        fields,
        kw_only=True,
        rename="camel",
        omit_defaults=True,
        module=info.model.__module__,
    )
    info.extras["patch_struct"] = struct
    return struct


def _normalise(info: ModelInfo, data: Mapping[str, Any]) -> dict[str, Any]:
    by_wire = info.by_wire_name
    columns = info.columns
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = by_wire.get(key)
        if name is not None:
            out[columns[name].camel] = value
    return out


def _convert(data: dict[str, Any], struct: type[msgspec.Struct]) -> msgspec.Struct:
    try:
        return msgspec.convert(data, struct, strict=False)
    except msgspec.ValidationError as exc:
        raise from_msgspec(exc) from None


def prepare_create(info: ModelInfo, data: Any) -> dict[str, Any]:
    """Column values for an INSERT: validated, only writable columns, timestamps set."""
    struct = create_struct(info)
    if type(data) is not struct:
        if isinstance(data, msgspec.Struct):
            data = msgspec.structs.asdict(data)
        if not isinstance(data, Mapping):
            raise ValidationError.single(
                None, f"cannot create {info.name} from {type(data).__name__}"
            )
        data = _convert(_normalise(info, data), struct)
    values = msgspec.structs.asdict(data)
    if info.created_col or info.updated_col:
        now = utcnow()
        if info.created_col:
            values[info.created_col] = now
        if info.updated_col:
            values[info.updated_col] = now
    return values


def prepare_patch(info: ModelInfo, patch: Any) -> dict[str, Any]:
    """Column values for an UPDATE: only the fields that were sent, validated."""
    struct = patch_struct(info)
    if type(patch) is struct:
        obj = patch
    else:
        if isinstance(patch, msgspec.Struct):
            sent = fields_set(patch)
            patch = {k: getattr(patch, k) for k in sent if k in info.columns}
        if not isinstance(patch, Mapping):
            raise ValidationError.single(
                None, f"cannot update {info.name} from {type(patch).__name__}"
            )
        obj = _convert(_normalise(info, patch), struct)
    values = {k: v for k, v in msgspec.structs.asdict(obj).items() if v is not msgspec.UNSET}
    if values and info.updated_col:
        values[info.updated_col] = utcnow()
    return values
