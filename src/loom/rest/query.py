"""The list query-string grammar -> :class:`QuerySpec`.

``pagination=offset|cursor``, ``limit`` (1..1000), ``page`` (from 1), ``after`` (or
``cursor``), ``sort=<field>[,<field>...]``, ``direction=ASC|DESC``,
``<field>__<op>=<value>`` (``eq ne gt gte lt lte in like ilike is_null``; a bare
``<field>=<value>`` means ``eq``), ``profile=<name>``. Only the model's own fields
may be filtered or sorted on; anything else is a 422 naming the parameter.

The OpenAPI document describes each parameter with :func:`sort_schema`,
:func:`filter_schema` and the ``*_TEXT`` patterns below, and the parser checks the
text against the same patterns: what the document calls valid is what is accepted.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from loom.core.errors import FieldError, ValidationError
from loom.core.model import ColumnInfo, ModelInfo
from loom.core.model._write import INT64_MAX, INT64_MIN
from loom.core.repository._coerce import coerce_filter_value
from loom.core.repository.abc.query import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    FilterGroup,
    FilterOp,
    FilterSpec,
    PaginationMode,
    QuerySpec,
    SortDirection,
    SortSpec,
)

__all__ = [
    "DATETIME_TEXT",
    "DATE_TEXT",
    "DECIMAL_TEXT",
    "INT64",
    "MAX_PAGE",
    "NO_NUL",
    "RESERVED",
    "TEXT",
    "UUID_TEXT",
    "filter_ops",
    "filter_schema",
    "parse_list_query",
    "scalar_schema",
    "sort_schema",
]

NO_NUL = "^[^\\u0000]*$"
"""Text without NUL characters, which PostgreSQL text cannot hold (refused everywhere)."""
TEXT: dict[str, Any] = {"type": "string", "pattern": NO_NUL}

MAX_PAGE = (2**31 - 1) // MAX_LIMIT + 1
"""The last page number: the row offset ``(page - 1) * limit`` stays a 32-bit integer,
which every database takes for ``OFFSET`` (past it, page by cursor)."""

INT64: dict[str, Any] = {"type": "integer", "minimum": INT64_MIN, "maximum": INT64_MAX}
"""The integers a column stores (and a path id or filter may name)."""

# Years 0002..9998: any UTC offset keeps the instant inside Python's datetime range.
_YEAR = "(?!0000|0001|9999)[0-9]{4}"
DATE_TEXT = rf"^{_YEAR}-[0-9]{{2}}-[0-9]{{2}}$"
DATETIME_TEXT = rf"^{_YEAR}-[0-9]{{2}}-[0-9]{{2}}T"
UUID_TEXT = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
DECIMAL_TEXT = r"^-?[0-9]{1,20}(\.[0-9]{1,20})?$"
_MAX_IN = 1000
_BOOL_OPS = (FilterOp.IS_NULL, FilterOp.EXISTS, FilterOp.NOT_EXISTS)
_ORDER_OPS = (FilterOp.GT, FilterOp.GTE, FilterOp.LT, FilterOp.LTE)


def scalar_schema(t: Any) -> dict[str, Any]:
    """The JSON Schema of one value of a column (or path parameter) of type ``t``."""
    if t is bool:
        return {"type": "boolean"}
    if t is int:
        return dict(INT64)
    if t is float:
        return {"type": "number"}
    if t is dt.datetime:
        return {"type": "string", "format": "date-time", "pattern": DATETIME_TEXT}
    if t is dt.date:
        return {"type": "string", "format": "date", "pattern": DATE_TEXT}
    if t is uuid.UUID:
        return {"type": "string", "format": "uuid", "pattern": UUID_TEXT}
    if t is decimal.Decimal:
        return {"type": "string", "pattern": DECIMAL_TEXT}
    return dict(TEXT)


def _structured(t: Any) -> bool:
    return t is Any or (getattr(t, "__origin__", None) or t) in (dict, list, tuple)


def filter_ops(col: ColumnInfo) -> list[FilterOp]:
    """The operators the query string accepts on ``col`` (and the document lists)."""
    t = col.python_type
    if _structured(t):
        return list(_BOOL_OPS)
    ops = [FilterOp.EQ, FilterOp.NE]
    if t not in (bool, str):
        ops += _ORDER_OPS
    ops.append(FilterOp.IN)
    if t is str:
        ops += [FilterOp.LIKE, FilterOp.ILIKE]
    return ops + list(_BOOL_OPS)


def filter_schema(col: ColumnInfo, op: FilterOp) -> dict[str, Any]:
    """``<field>__<op>`` as an OpenAPI query parameter (without its name)."""
    if op in _BOOL_OPS:
        return {"schema": {"type": "boolean"}}
    if op is FilterOp.IN:
        # form style, not exploded: the comma-separated list the parser splits.
        return {
            "schema": {
                "type": "array",
                "items": scalar_schema(col.python_type),
                "maxItems": _MAX_IN,
            },
            "style": "form",
            "explode": False,
        }
    if op in (FilterOp.LIKE, FilterOp.ILIKE):
        return {"schema": dict(TEXT), "description": "`%` and `_` are wildcards."}
    return {"schema": scalar_schema(col.python_type)}


def _sort_names(info: ModelInfo) -> list[str]:
    names: list[str] = []
    for col in info.columns.values():
        for name in (col.name, col.camel):
            if name not in names:
                names.append(name)
    return names


def _sort_regex(info: ModelInfo) -> str:
    field = "-?(?:" + "|".join(re.escape(n) for n in _sort_names(info)) + ")"
    return f"^{field}(?:,{field})*$"


def sort_schema(info: ModelInfo) -> dict[str, Any]:
    return {"type": "string", "pattern": _sort_regex(info)}


RESERVED = frozenset(
    {"pagination", "limit", "page", "after", "cursor", "sort", "direction", "profile"}
)
_OPS = {op.value: op for op in FilterOp}
_DIRECTIONS = ("ASC", "DESC", "asc", "desc")


def _int(name: str, raw: str, low: int, high: int | None) -> int:
    text = raw
    if not _INT_TEXT.fullmatch(text) or len(text) > 19:
        raise ValidationError.single(name, "expected an integer")
    value = int(text)
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"{low} or greater"
        raise ValidationError.single(name, f"must be {bound}")
    return value


_INT_TEXT = re.compile(r"-?[0-9]+")
_NUMBER_TEXT = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_PATTERNS = {
    dt.datetime: re.compile(DATETIME_TEXT),
    dt.date: re.compile(DATE_TEXT),
    uuid.UUID: re.compile(UUID_TEXT),
    decimal.Decimal: re.compile(DECIMAL_TEXT),
}


def _check_text(col: ColumnInfo, op: FilterOp, value: str) -> None:
    """Refuse query-string text outside the documented grammar, which the lax value
    conversion would otherwise bend into the type (``1e3`` as the integer 1000, ``8``
    as a timestamp, a blank as ``is_null=true``)."""
    if "\x00" in value:
        raise ValidationError.single(None, "text cannot contain NUL characters")
    if op in _BOOL_OPS:
        if value not in ("true", "false"):
            raise ValidationError.single(None, f"{op.value} takes true or false")
        return
    if op not in filter_ops(col):
        raise ValidationError.single(None, "unknown query parameter (bad filter operator)")
    if op in (FilterOp.LIKE, FilterOp.ILIKE):
        return
    kind = col.python_type
    parts = value.split(",") if op is FilterOp.IN else [value]
    if op is FilterOp.IN and value == "":
        parts = []
    if len(parts) > _MAX_IN:
        raise ValidationError.single(None, f"at most {_MAX_IN} values in an `in` filter")
    for text in parts:
        if kind is int and not _INT_TEXT.fullmatch(text):
            raise ValidationError.single(None, "expected an integer")
        if kind is float and not _NUMBER_TEXT.fullmatch(text):
            raise ValidationError.single(None, "expected a number")
        if kind is bool and text not in ("true", "false"):
            raise ValidationError.single(None, "expected true or false")
        pattern = _PATTERNS.get(kind)
        if pattern is not None and not pattern.match(text):
            what = {
                dt.datetime: "an ISO 8601 date-time (years 0002 to 9998)",
                dt.date: "an ISO 8601 date (years 0002 to 9998)",
                uuid.UUID: "a UUID",
                decimal.Decimal: "a decimal number",
            }[kind]
            raise ValidationError.single(None, f"expected {what}")


def parse_list_query(
    items: Iterable[tuple[str, str]],
    info: ModelInfo,
    *,
    default_mode: PaginationMode = PaginationMode.OFFSET,
    allowed_profiles: Sequence[str] | None = None,
    profile_default: str = "default",
    allow_override: bool = True,
) -> tuple[QuerySpec, str]:
    """Parse the query string of a list route; returns the spec and the profile.

    ``allow_override=False``: ``pagination`` may only name ``default_mode``."""
    mode = default_mode
    limit = DEFAULT_LIMIT
    page = 1
    cursor: str | None = None
    sort_fields: list[str] = []
    direction = SortDirection.ASC
    profile = profile_default
    cursor_key = "after"
    explicit_mode = page_given = False
    filters: list[FilterSpec] = []
    errors: list[FieldError] = []
    for key, value in items:
        try:
            if key == "pagination":
                try:
                    mode = PaginationMode(value)
                    explicit_mode = True
                except ValueError:
                    raise ValidationError.single(key, "must be 'offset' or 'cursor'") from None
                if mode is not default_mode and not allow_override:
                    raise ValidationError.single(
                        key, f"this route only pages by {default_mode.value!r}"
                    )
            elif key == "limit":
                limit = _int(key, value, 1, MAX_LIMIT)
            elif key == "page":
                page = _int(key, value, 1, MAX_PAGE)
                page_given = True
            elif key in ("after", "cursor"):
                cursor = value or None
                cursor_key = key
            elif key == "sort":
                sort_fields = value.split(",")
                for field in sort_fields:
                    if info.column(field[1:] if field.startswith("-") else field) is None:
                        raise ValidationError.single(key, f"cannot sort on unknown field {field!r}")
            elif key == "direction":
                if value not in _DIRECTIONS:
                    raise ValidationError.single(key, "must be 'ASC' or 'DESC'")
                try:
                    direction = SortDirection(value.upper())
                except ValueError:
                    raise ValidationError.single(key, "must be 'ASC' or 'DESC'") from None
            elif key == "profile":
                if allowed_profiles is None:
                    raise ValidationError.single(key, "this route does not take a profile")
                if value not in allowed_profiles:
                    raise ValidationError.single(
                        key, f"unknown profile {value!r}; allowed: {', '.join(allowed_profiles)}"
                    )
                profile = value
            else:
                field, sep, op_name = key.rpartition("__")
                if not sep:
                    field, op_name = key, "eq"
                op = _OPS.get(op_name)
                col = info.column(field)
                if op is None or col is None:
                    if col is None and info.column(key) is not None:
                        col, field, op = info.column(key), key, FilterOp.EQ
                    else:
                        what = "operator" if col is not None else "field"
                        raise ValidationError.single(
                            key, f"unknown query parameter (bad filter {what})"
                        )
                _check_text(col, op, value)  # type: ignore[arg-type]
                spec = FilterSpec(field=col.name, op=op, value=value)  # type: ignore[union-attr]
                coerced = coerce_filter_value(col, spec)  # type: ignore[arg-type]
                filters.append(FilterSpec(field=col.name, op=op, value=coerced))  # type: ignore[union-attr]
        except ValidationError as exc:
            errors.extend(FieldError(key, e.message) if e.field != key else e for e in exc.errors)
    if cursor is not None and mode is not PaginationMode.CURSOR:
        if explicit_mode or page_given or not (allow_override or mode is default_mode):
            # Ignoring it would silently serve the first page again.
            errors.append(FieldError(cursor_key, "a cursor needs pagination=cursor"))
        else:
            mode = PaginationMode.CURSOR  # a cursor alone pages by cursor (as 0.2)
    if errors:
        raise ValidationError("invalid query string", errors=errors)
    sort = tuple(
        SortSpec(
            field=f.lstrip("-"),
            direction=SortDirection.DESC if f.startswith("-") else direction,
        )
        for f in sort_fields
    )
    query = QuerySpec(
        filters=FilterGroup(filters=tuple(filters)) if filters else None,
        sort=sort,
        pagination=mode,
        limit=limit,
        page=page,
        cursor=cursor,
    )
    return query, profile
