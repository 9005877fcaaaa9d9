"""Checking filter fields and values against a model before any query is built."""

from __future__ import annotations

import datetime as _dt
import math
import typing
from collections.abc import Mapping
from typing import Any, NamedTuple

import msgspec

from loom.core.errors import ValidationError
from loom.core.model import ColumnInfo, ModelInfo
from loom.core.model._write import INT64_MAX, INT64_MIN
from loom.core.projection import RelationLink
from loom.core.projection import _relation_link as relation_link
from loom.core.repository.abc.query import FilterGroup, FilterOp, FilterSpec

__all__ = [
    "FilterPath",
    "coerce_filter_value",
    "coerce_value",
    "exists_flag",
    "exists_subfilter",
    "normalise_spec",
    "relation_exists",
    "resolve_column",
    "resolve_path",
]


class FilterPath(NamedTuple):
    """A filter field resolved through relations: ``"category.name"`` walks ``links``
    (``category``) and ends on ``column`` (``name``); a path ending on a relation
    (``"items"``, for ``exists``) has no column."""

    links: tuple[RelationLink, ...]
    column: ColumnInfo | None
    target: ModelInfo
    """The model the path ends on (the one owning ``column``)."""


def _relation(info: ModelInfo, name: str) -> Any:
    found = info.relations.get(name)
    if found is None:
        found = next((r for r in info.relations.values() if r.camel == name), None)
    return found


def resolve_path(info: ModelInfo, name: str, *, purpose: str) -> FilterPath:
    """``name`` (a column, a relation, or a dotted path through relations) resolved
    against ``info``; a 422 naming the unknown part otherwise. Cached per model."""
    cache: dict[str, FilterPath] = info.extras.setdefault("filter_paths", {})
    found = cache.get(name)
    if found is not None:
        return found
    col = info.column(name)
    if col is not None:
        path = FilterPath((), col, info)
    else:
        links: list[RelationLink] = []
        current = info
        parts = name.split(".")
        for i, part in enumerate(parts):
            rel = _relation(current, part)
            if rel is None:
                last = i == len(parts) - 1
                col = current.column(part) if last and links else None
                if col is None:
                    allowed = sorted(
                        [c.camel for c in current.columns.values()]
                        + [r.camel for r in current.relations.values()]
                    )
                    raise ValidationError.single(
                        name,
                        f"unknown {purpose} field {part!r} for {current.name}; "
                        f"allowed: {', '.join(allowed)}",
                    )
                break
            try:
                link = relation_link(current, rel)
            except TypeError as exc:
                raise ValidationError.single(name, f"cannot {purpose} on {name!r}: {exc}") from None
            links.append(link)
            current = link.target
        path = FilterPath(tuple(links), col, current)
    if len(cache) < 256:
        cache[name] = path
    return path


def exists_flag(spec: FilterSpec) -> bool | None:
    """For ``exists``/``not_exists``: True/False when the value is a plain switch
    (``None``, a bool, ``"true"``/``"false"``), None when it is a sub-filter.
    ``not_exists`` negates the switch."""
    value = spec.value
    flag: bool | None
    if value is None:
        flag = True
    elif isinstance(value, bool):
        flag = value
    elif isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes", ""):
            flag = True
        elif lowered in ("false", "0", "no"):
            flag = False
        else:
            raise ValidationError.single(spec.field, f"{spec.op.value} takes true or false")
    else:
        return None
    return flag if spec.op is FilterOp.EXISTS else not flag


def exists_subfilter(spec: FilterSpec) -> FilterGroup:
    """The related rows an ``exists`` with a sub-filter value asks for: a
    :class:`FilterGroup`, a :class:`FilterSpec` or ``{field: value}`` equalities."""
    value = spec.value
    if isinstance(value, FilterGroup):
        return value
    if isinstance(value, FilterSpec):
        return FilterGroup((value,))
    if isinstance(value, Mapping):
        return FilterGroup(tuple(FilterSpec(str(k), FilterOp.EQ, v) for k, v in value.items()))
    raise ValidationError.single(
        spec.field,
        f"{spec.op.value} takes true/false, a FilterSpec, a FilterGroup or a mapping",
    )


def relation_exists(spec: FilterSpec) -> tuple[FilterGroup | None, bool]:
    """A filter on a relation itself, no field after it: the sub-filter its related
    rows must match (None: any row will do) and whether the test is negated. Only
    ``exists``/``not_exists`` apply there; any other operator is a 422."""
    if spec.op not in (FilterOp.EXISTS, FilterOp.NOT_EXISTS):
        raise ValidationError.single(
            spec.field,
            f"{spec.field!r} is a relation: filter one of its fields "
            f"('{spec.field}.<field>') or use exists / not_exists",
        )
    flag = exists_flag(spec)
    if flag is None:
        return exists_subfilter(spec), spec.op is FilterOp.NOT_EXISTS
    return None, not flag


def resolve_column(info: ModelInfo, name: str, *, purpose: str) -> ColumnInfo:
    col = info.column(name)
    if col is None:
        allowed = ", ".join(sorted(c.camel for c in info.columns.values()))
        raise ValidationError.single(
            name, f"unknown {purpose} field {name!r} for {info.name}; allowed: {allowed}"
        )
    return col


def coerce_value(col: ColumnInfo, value: Any, field: str) -> Any:
    """``value`` converted to the column's type; a 422 naming ``field`` when it does not fit.

    Integers outside the 64-bit range the columns store are rejected here, before a
    driver sees them (SQLite raises a bare ``OverflowError`` for them).
    """
    if value is None:
        return None
    try:
        converted = msgspec.convert(value, col.python_type, strict=False)
    except msgspec.ValidationError:
        tname = getattr(col.python_type, "__name__", str(col.python_type))
        raise ValidationError.single(field, f"expected a value of type {tname}") from None
    if (
        type(converted) is int
        and col.python_type is int
        and not INT64_MIN <= converted <= INT64_MAX
    ):
        raise ValidationError.single(field, "integer out of range")
    if type(converted) is _dt.datetime and converted.tzinfo is None:
        # Stored datetimes are UTC; a naive one is read as UTC, as the columns do.
        return converted.replace(tzinfo=_dt.UTC)
    if type(converted) is float and not math.isfinite(converted):
        # "nan" / "inf" parse as floats but order differently on every database.
        raise ValidationError.single(field, "expected a finite number")
    return converted


def _structured(t: Any) -> bool:
    """JSON-stored types: no comparison operators exist for them on every backend."""
    return t is Any or (typing.get_origin(t) or t) in (dict, list, tuple)


def normalise_spec(spec: FilterSpec) -> FilterSpec:
    """``spec`` with its operator as a :class:`FilterOp` (a 422 for an unknown one)."""
    if isinstance(spec.op, FilterOp):
        return spec
    try:
        return FilterSpec(field=spec.field, op=FilterOp(spec.op), value=spec.value)
    except ValueError:
        raise ValidationError.single(spec.field, f"unknown filter operator {spec.op!r}") from None


def coerce_filter_value(col: ColumnInfo, spec: FilterSpec) -> Any:
    """The filter's value typed for ``col``; a 422 for any value or operator that does not fit."""
    op = spec.op
    value = spec.value
    if op in (FilterOp.EXISTS, FilterOp.NOT_EXISTS):
        # On a column: NOT NULL / NULL, as an IS_NULL test (True = the value is NULL).
        flag = exists_flag(spec)
        if flag is None:
            raise ValidationError.single(spec.field, f"{op.value} on a column takes true or false")
        return not flag
    if op is not FilterOp.IS_NULL and _structured(col.python_type):
        raise ValidationError.single(spec.field, f"{op.value} cannot compare a structured field")
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
        return [coerce_value(col, v, spec.field) for v in items]
    if op in (FilterOp.LIKE, FilterOp.ILIKE):
        if col.python_type is not str:
            raise ValidationError.single(spec.field, f"{op.value} applies to text fields only")
        if not isinstance(value, str):
            raise ValidationError.single(spec.field, f"{op.value} takes a text pattern")
        return value
    if value is None and op in (FilterOp.EQ, FilterOp.NE):
        return None
    return coerce_value(col, value, spec.field)
