"""Repository contracts, independent of any database.

``RepoFor[Model]`` is both the protocol every repository satisfies and the key under
which use cases ask for another model's repository::

    def __init__(self, orders: RepoFor[Order]) -> None: ...
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypeVar, runtime_checkable

import msgspec

from loom.core.repository.abc.query import (
    CursorResult,
    FilterGroup,
    FilterOp,
    FilterSpec,
    PageResult,
    PaginationMode,
    QuerySpec,
    SortDirection,
    SortSpec,
)

__all__ = [
    "CursorResult",
    "FilterGroup",
    "FilterOp",
    "FilterSpec",
    "PageResult",
    "PaginationMode",
    "QuerySpec",
    "RepoFor",
    "Repository",
    "SortDirection",
    "SortSpec",
]

M = TypeVar("M")


@runtime_checkable
class RepoFor(Protocol[M]):
    """What every repository of ``M`` offers."""

    async def create(self, data: msgspec.Struct | Mapping[str, Any]) -> M: ...

    async def get_by_id(self, id: Any, profile: str = "default") -> M | None: ...

    async def update(self, id: Any, patch: msgspec.Struct | Mapping[str, Any]) -> M | None: ...

    async def delete(self, id: Any) -> bool: ...

    async def count(self, filters: FilterGroup | None = None) -> int: ...

    async def exists_by(self, field: str, value: Any) -> bool: ...

    async def list_with_query(
        self, query: QuerySpec, profile: str = "default"
    ) -> PageResult[M] | CursorResult[M]: ...


Repository = RepoFor
