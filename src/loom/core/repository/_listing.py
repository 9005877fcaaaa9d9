"""List-query semantics shared by every repository backend (SQL and in-memory).

What a ``QuerySpec`` means does not depend on where the rows live: which limits and
pages are valid, which sort keys apply (the primary key always ends the order, as a
unique tie-breaker), what a cursor token carries, and how an id is coerced. Keeping
it here is what makes the in-memory repository a faithful stand-in for the SQL one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

import msgspec

from loom.core.errors import ValidationError
from loom.core.model import ColumnInfo, ModelInfo
from loom.core.model._write import INT64_MAX, INT64_MIN
from loom.core.repository._coerce import resolve_column
from loom.core.repository.abc.query import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    FilterGroup,
    QuerySpec,
    SortDirection,
    SortSpec,
)
from loom.core.repository.cursor import CursorCodec, query_signature

__all__ = [
    "MISSING",
    "SortColumn",
    "SortKeyLike",
    "check_limit",
    "check_page",
    "check_profile",
    "coerce_id",
    "cursor_signature",
    "decode_cursor",
    "encode_cursor",
    "sort_columns",
]

MISSING: Any = object()
"""Returned by :func:`coerce_id` for an id that cannot match any row."""


class SortKeyLike(Protocol):
    """A resolved sort key: its column and direction (backends add their own parts)."""

    @property
    def col(self) -> ColumnInfo: ...

    @property
    def desc(self) -> bool: ...

    def signature(self) -> str: ...


class SortColumn(NamedTuple):
    col: ColumnInfo
    desc: bool

    def signature(self) -> str:
        return f"{self.col.name}:{'d' if self.desc else 'a'}"


def coerce_id(info: ModelInfo, id: Any) -> Any:
    """``id`` as the primary key's type, or :data:`MISSING` when no row can have it."""
    pk_type = info.pk.python_type
    if type(id) is pk_type:
        value = id
    else:
        try:
            value = msgspec.convert(id, pk_type, strict=False)
        except (msgspec.ValidationError, TypeError):
            return MISSING
    if pk_type is int and not (INT64_MIN <= value <= INT64_MAX):
        return MISSING
    return value


def check_profile(info: ModelInfo, profile: str) -> None:
    if profile != "default" and profile not in info.profiles():
        raise ValidationError.single(
            "profile",
            f"unknown profile {profile!r} for {info.name}; allowed: {', '.join(info.profiles())}",
        )


def check_limit(query: QuerySpec) -> int:
    limit = query.limit if query.limit is not None else DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError.single("limit", f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def check_page(query: QuerySpec, limit: int) -> tuple[int, int]:
    """``(page, offset)`` of an offset query."""
    page = query.page if query.page is not None else 1
    if page < 1:
        raise ValidationError.single("page", "page must be 1 or greater")
    offset = (page - 1) * limit
    if offset > 2**53:
        raise ValidationError.single("page", "page is too large")
    return page, offset


def sort_columns(info: ModelInfo, sort: Sequence[SortSpec]) -> list[SortColumn]:
    """The requested sort keys plus the primary key as a unique tie-breaker.

    The tie-breaker takes the direction of the last requested key; keys after the
    primary key are dropped (they can never matter).
    """
    keys: list[SortColumn] = []
    seen: set[str] = set()
    for spec in sort:
        col = resolve_column(info, spec.field, purpose="sort")
        if col.name in seen:
            continue
        seen.add(col.name)
        desc = spec.direction in (SortDirection.DESC, "DESC", "desc")
        keys.append(SortColumn(col, desc))
        if col.decl.primary_key:
            break
    if info.pk.name not in seen:
        keys.append(SortColumn(info.pk, keys[-1].desc if keys else False))
    return keys


def cursor_signature(
    info: ModelInfo, keys: Sequence[SortKeyLike], filters: FilterGroup | None
) -> str:
    """What a cursor token is bound to: the table, the sort order and the filters."""
    return query_signature(info.table, [k.signature() for k in keys], filters)


def decode_cursor(
    codec: CursorCodec, token: str, signature: str, keys: Sequence[SortKeyLike]
) -> list[Any]:
    """The sort-key values of the row a cursor points after, typed like the columns."""
    raw = codec.decode(token, signature)
    if len(raw) != len(keys):
        raise ValidationError.single("after", "invalid or expired cursor")
    values: list[Any] = []
    for key, value in zip(keys, raw, strict=True):
        if value is None:
            values.append(None)
            continue
        try:
            values.append(msgspec.convert(value, key.col.python_type, strict=False))
        except msgspec.ValidationError:
            raise ValidationError.single("after", "invalid or expired cursor") from None
    return values


def encode_cursor(
    codec: CursorCodec, signature: str, keys: Sequence[SortKeyLike], last: Any
) -> str:
    """The token continuing after ``last`` (the final item of a page)."""
    return codec.encode(signature, msgspec.to_builtins([getattr(last, k.col.name) for k in keys]))
