"""Structured list queries, independent of any database.

A :class:`QuerySpec` is what the REST layer parses from a query string and what a use
case builds by hand; repositories translate it into SQL (or evaluate it in memory).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import msgspec

__all__ = [
    "CursorResult",
    "FilterGroup",
    "FilterOp",
    "FilterSpec",
    "PageResult",
    "PaginationMode",
    "QuerySpec",
    "SortDirection",
    "SortSpec",
]

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


class FilterOp(enum.StrEnum):
    EQ = "eq"
    NE = "ne"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    IN = "in"
    LIKE = "like"
    ILIKE = "ilike"
    IS_NULL = "is_null"


class PaginationMode(enum.StrEnum):
    OFFSET = "offset"
    CURSOR = "cursor"


class SortDirection(enum.StrEnum):
    ASC = "ASC"
    DESC = "DESC"


class FilterSpec(msgspec.Struct, frozen=True, kw_only=True):
    """``field op value``; ``field`` is a model field (Python or camelCase name)."""

    field: str
    op: FilterOp = FilterOp.EQ
    value: Any = None


class FilterGroup(msgspec.Struct, frozen=True, kw_only=True):
    """Filters and nested groups joined by ``AND`` (default) or ``OR``."""

    filters: tuple[FilterSpec, ...] = ()
    groups: tuple[FilterGroup, ...] = ()
    logic: str = "AND"

    def __post_init__(self) -> None:
        if self.logic.upper() not in ("AND", "OR"):
            raise ValueError("FilterGroup.logic must be 'AND' or 'OR'")

    @property
    def empty(self) -> bool:
        return not self.filters and all(g.empty for g in self.groups)


class SortSpec(msgspec.Struct, frozen=True, kw_only=True):
    field: str
    direction: SortDirection = SortDirection.ASC

    def __post_init__(self) -> None:
        if not isinstance(self.direction, SortDirection):
            try:
                direction = SortDirection(str(self.direction).upper())
            except ValueError:
                raise ValueError("SortSpec.direction must be 'ASC' or 'DESC'") from None
            msgspec.structs.force_setattr(self, "direction", direction)


class QuerySpec(msgspec.Struct, frozen=True, kw_only=True):
    """A list query: filters, sort order and pagination.

    In offset mode ``page`` (from 1) and ``limit`` select the page and the result has a
    total count; in cursor mode ``cursor`` continues after the last row of the
    previous page (keyset pagination, stable under concurrent inserts).
    """

    filters: FilterGroup | None = None
    sort: tuple[SortSpec, ...] = ()
    pagination: PaginationMode = PaginationMode.OFFSET
    limit: int = DEFAULT_LIMIT
    page: int = 1
    cursor: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.pagination, PaginationMode):
            msgspec.structs.force_setattr(self, "pagination", PaginationMode(self.pagination))
        if isinstance(self.sort, list):
            msgspec.structs.force_setattr(self, "sort", tuple(self.sort))


class PageResult(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """An offset page: ``{"items", "total_count", "page", "limit", "has_next"}``."""

    items: Sequence[T]
    total_count: int
    page: int
    limit: int
    has_next: bool


class CursorResult(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """A keyset page: ``{"items", "next_cursor", "has_next"}``."""

    items: Sequence[T]
    next_cursor: str | None
    has_next: bool
