"""Checking filter fields and values against a model before any query is built."""

from __future__ import annotations

from typing import Any

import msgspec

from loom.core.errors import ValidationError
from loom.core.model import ColumnInfo, ModelInfo
from loom.core.repository.abc.query import FilterOp, FilterSpec

__all__ = ["coerce_filter_value", "resolve_column"]


def resolve_column(info: ModelInfo, name: str, *, purpose: str) -> ColumnInfo:
    col = info.column(name)
    if col is None:
        allowed = ", ".join(sorted(c.camel for c in info.columns.values()))
        raise ValidationError.single(
            name, f"unknown {purpose} field {name!r} for {info.name}; allowed: {allowed}"
        )
    return col


def _coerce_one(col: ColumnInfo, value: Any, field: str) -> Any:
    if value is None:
        return None
    try:
        return msgspec.convert(value, col.python_type, strict=False)
    except msgspec.ValidationError:
        tname = getattr(col.python_type, "__name__", str(col.python_type))
        raise ValidationError.single(field, f"expected a value of type {tname}") from None


def coerce_filter_value(col: ColumnInfo, spec: FilterSpec) -> Any:
    op = spec.op
    value = spec.value
    if op is FilterOp.IS_NULL:
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("true", "1", "yes", ""):
                return True
            if lowered in ("false", "0", "no"):
                return False
            raise ValidationError.single(spec.field, "is_null takes true or false")
        return bool(value) if value is not None else True
    if op is FilterOp.IN:
        if isinstance(value, str):
            items: list[Any] = [v for v in value.split(",") if v != ""]
        elif isinstance(value, (list, tuple, set, frozenset)):
            items = list(value)
        else:
            items = [value]
        if len(items) > 1000:
            raise ValidationError.single(spec.field, "at most 1000 values in an `in` filter")
        return [_coerce_one(col, v, spec.field) for v in items]
    if op in (FilterOp.LIKE, FilterOp.ILIKE):
        if not isinstance(value, str):
            raise ValidationError.single(spec.field, f"{op.value} takes a text pattern")
        return value
    if value is None and op in (FilterOp.EQ, FilterOp.NE):
        return None
    return _coerce_one(col, value, spec.field)
