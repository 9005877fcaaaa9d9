"""The list query-string grammar -> :class:`QuerySpec`.

``pagination=offset|cursor``, ``limit`` (1..1000), ``page`` (from 1), ``after`` (or
``cursor``), ``sort=<field>[,<field>...]``, ``direction=ASC|DESC``,
``<field>__<op>=<value>`` (``eq ne gt gte lt lte in like ilike is_null``; a bare
``<field>=<value>`` means ``eq``), ``profile=<name>``. Only the model's own fields
may be filtered or sorted on; anything else is a 422 naming the parameter.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence

from loom.core.errors import FieldError, ValidationError
from loom.core.model import ColumnInfo, ModelInfo
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

__all__ = ["RESERVED", "parse_list_query"]

RESERVED = frozenset(
    {"pagination", "limit", "page", "after", "cursor", "sort", "direction", "profile"}
)
_OPS = {op.value: op for op in FilterOp}


def _int(name: str, raw: str, low: int, high: int | None) -> int:
    text = raw.strip()
    if (
        not text
        or not text.isascii()  # "¹" is a digit to str.isdigit but not to int()
        or not (text.isdigit() or (text[0] in "+-" and text[1:].isdigit()))
        or len(text) > 19
    ):
        raise ValidationError.single(name, "expected an integer")
    value = int(text)
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"{low} or greater"
        raise ValidationError.single(name, f"must be {bound}")
    return value


_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _check_text(col: ColumnInfo, op: FilterOp, value: str) -> None:
    """Refuse query-string text that the lax value conversion would bend into the type
    (``1e3`` as the integer 1000, ``8`` as a timestamp, a blank as ``is_null=true``):
    the OpenAPI document promises an integer, a date-time, a boolean."""
    if op is FilterOp.IS_NULL:
        if value.strip().lower() not in ("true", "false"):
            raise ValidationError.single(None, "is_null takes true or false")
        return
    if op in (FilterOp.LIKE, FilterOp.ILIKE):
        return
    kind = col.python_type
    parts = [v for v in value.split(",") if v != ""] if op is FilterOp.IN else [value]
    for part in parts:
        text = part.strip()
        if kind is int and not _INT_TEXT.fullmatch(text):
            raise ValidationError.single(None, "expected an integer")
        if kind in (dt.datetime, dt.date) and _NUMBER_TEXT.fullmatch(text):
            raise ValidationError.single(None, "expected an ISO 8601 date or date-time")


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
    filters: list[FilterSpec] = []
    errors: list[FieldError] = []
    for key, value in items:
        try:
            if key == "pagination":
                try:
                    mode = PaginationMode(value.strip().lower())
                except ValueError:
                    raise ValidationError.single(key, "must be 'offset' or 'cursor'") from None
                if mode is not default_mode and not allow_override:
                    raise ValidationError.single(
                        key, f"this route only pages by {default_mode.value!r}"
                    )
            elif key == "limit":
                limit = _int(key, value, 1, MAX_LIMIT)
            elif key == "page":
                page = _int(key, value, 1, 10**9)
            elif key in ("after", "cursor"):
                cursor = value or None
                cursor_key = key
            elif key == "sort":
                sort_fields = [f.strip() for f in value.split(",") if f.strip()]
                for field in sort_fields:
                    if info.column(field.lstrip("-")) is None:
                        raise ValidationError.single(key, f"cannot sort on unknown field {field!r}")
            elif key == "direction":
                try:
                    direction = SortDirection(value.strip().upper())
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
        # Ignoring it would silently serve the first page again.
        errors.append(FieldError(cursor_key, "a cursor needs pagination=cursor"))
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
