"""Structured list queries, independent of any database.

A :class:`QuerySpec` is what the REST layer parses from a query string and what a use
case builds by hand; repositories translate it into SQL (or evaluate it in memory).

The structs take their fields positionally too (``FilterSpec("name", FilterOp.EQ, "x")``),
as applications written for the 0.2 API build them. :class:`PageParams` and
:class:`FilterParams` are that API's simpler inputs of ``list_paginated``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import msgspec

__all__ = [
    "CursorResult",
    "FilterGroup",
    "FilterOp",
    "FilterParams",
    "FilterSpec",
    "PageParams",
    "PageResult",
    "PaginationMode",
    "QuerySpec",
    "SortDirection",
    "SortSpec",
    "build_page_result",
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
    EXISTS = "exists"
    """On a relation (``"items"``, ``"category.tags"``): at least one related row, the
    ones matching ``value`` (a filter or group on the related model) when given. On
    a column: the value is not NULL."""
    NOT_EXISTS = "not_exists"
    """The negation of :attr:`EXISTS`."""


class PaginationMode(enum.StrEnum):
    OFFSET = "offset"
    CURSOR = "cursor"


class SortDirection(enum.StrEnum):
    ASC = "ASC"
    DESC = "DESC"


class FilterSpec(msgspec.Struct, frozen=True):
    """``field op value``; ``field`` is a model field (Python or camelCase name) or a
    dotted path through relations (``"category.name"``: some related row matches)."""

    field: str
    op: FilterOp = FilterOp.EQ
    value: Any = None


class FilterGroup(msgspec.Struct, frozen=True):
    """Filters and nested groups joined by ``AND`` (default) or ``OR``.

    ``op`` (the 0.2 name) and ``logic`` (Loom's) are the same setting; give either.
    A group placed among ``filters`` is moved to ``groups``.
    """

    filters: tuple[FilterSpec, ...] = ()
    op: str = "AND"
    groups: tuple[FilterGroup, ...] = ()
    logic: str = "AND"

    def __post_init__(self) -> None:
        # Built for every filtered list request: the common case checks two strings.
        op, logic = self.op, self.logic
        if op != "AND" or logic != "AND":
            self._settle_logic(op, logic)
        filters = self.filters
        if type(filters) is not tuple or any(type(f) is FilterGroup for f in filters):
            filters = tuple(filters)
            nested = tuple(f for f in filters if isinstance(f, FilterGroup))
            msgspec.structs.force_setattr(
                self, "filters", tuple(f for f in filters if not isinstance(f, FilterGroup))
            )
            msgspec.structs.force_setattr(self, "groups", (*self.groups, *nested))
        if not isinstance(self.groups, tuple):
            msgspec.structs.force_setattr(self, "groups", tuple(self.groups))

    def _settle_logic(self, op: Any, logic: Any) -> None:
        if not isinstance(op, str) or not isinstance(logic, str):
            raise ValueError("FilterGroup.op must be 'AND' or 'OR'")
        if op.upper() != "AND":
            if logic.upper() != "AND" and logic.upper() != op.upper():
                raise ValueError(f"FilterGroup: op={op!r} and logic={logic!r} disagree")
            msgspec.structs.force_setattr(self, "logic", op)
        elif logic.upper() != "AND":
            msgspec.structs.force_setattr(self, "op", logic)
        if self.logic.upper() not in ("AND", "OR"):
            raise ValueError("FilterGroup.op (logic) must be 'AND' or 'OR'")

    @property
    def empty(self) -> bool:
        return not self.filters and all(g.empty for g in self.groups)


class SortSpec(msgspec.Struct, frozen=True):
    field: str
    direction: SortDirection = SortDirection.ASC

    if TYPE_CHECKING:
        # ``SortSpec(field="id", direction="ASC")`` as 0.2 apps write it: __post_init__
        # normalises the string, so type checkers accept it while ``.direction`` stays
        # a SortDirection for readers.
        def __init__(
            self,
            field: str,
            direction: SortDirection | Literal["ASC", "DESC", "asc", "desc"] = SortDirection.ASC,
        ) -> None: ...

    def __post_init__(self) -> None:
        if not isinstance(self.direction, SortDirection):
            try:
                direction = SortDirection(str(self.direction).upper())
            except ValueError:
                raise ValueError("SortSpec.direction must be 'ASC' or 'DESC'") from None
            msgspec.structs.force_setattr(self, "direction", direction)


class QuerySpec(msgspec.Struct, frozen=True):
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


class PageParams(msgspec.Struct, frozen=True, kw_only=True):
    """Offset paging input of ``list_paginated``: ``page`` from 1, ``limit`` rows."""

    page: int = 1
    limit: int = DEFAULT_LIMIT

    def __post_init__(self) -> None:
        if type(self.page) is not int or self.page < 1:
            raise ValueError("PageParams.page must be an integer >= 1")
        if type(self.limit) is not int or not 1 <= self.limit <= MAX_LIMIT:
            raise ValueError(f"PageParams.limit must be an integer between 1 and {MAX_LIMIT}")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


class FilterParams(msgspec.Struct, frozen=True, kw_only=True):
    """Equality filters of ``list_paginated``: ``{field: value}``, all of which must hold."""

    filters: dict[str, Any] = {}

    def group(self) -> FilterGroup | None:
        """The same filters as a :class:`FilterGroup` (None when there are none)."""
        if not self.filters:
            return None
        return FilterGroup(tuple(FilterSpec(k, FilterOp.EQ, v) for k, v in self.filters.items()))


def build_page_result(
    items: Sequence[T], total_count: int, page_params: PageParams
) -> PageResult[T]:
    """The :class:`PageResult` of one page of ``items`` out of ``total_count`` rows."""
    items = list(items)
    return PageResult(
        items=items,
        total_count=total_count,
        page=page_params.page,
        limit=page_params.limit,
        has_next=page_params.offset + len(items) < total_count,
    )
