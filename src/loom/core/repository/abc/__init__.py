"""Repository contracts, independent of any database.

``RepoFor[Model]`` is both the protocol every repository satisfies and the key under
which use cases ask for another model's repository::

    def __init__(self, orders: RepoFor[Order]) -> None: ...

``Repository[Out, Create, Update, Id]`` (``RepositoryRead`` + ``RepositoryWrite``) is the
same contract spelled with separate input and key types, for typing custom
repositories as the 0.2 API did.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypeVar, runtime_checkable

import msgspec

from loom.core.repository.abc.query import (
    CursorResult,
    FilterGroup,
    FilterOp,
    FilterParams,
    FilterSpec,
    PageParams,
    PageResult,
    PaginationMode,
    QuerySpec,
    SortDirection,
    SortSpec,
    build_page_result,
)
from loom.core.repository.mutation import MutationEvent

__all__ = [
    "CreateT",
    "CursorResult",
    "FilterGroup",
    "FilterOp",
    "FilterParams",
    "FilterSpec",
    "IdT",
    "MutationEvent",
    "OutputT",
    "PageParams",
    "PageResult",
    "PaginationMode",
    "QuerySpec",
    "RepoFor",
    "Repository",
    "RepositoryRead",
    "RepositoryWrite",
    "SortDirection",
    "SortSpec",
    "UpdateT",
    "build_page_result",
]

M = TypeVar("M")
OutputT = TypeVar("OutputT")
CreateT = TypeVar("CreateT", contravariant=True)
UpdateT = TypeVar("UpdateT", contravariant=True)
IdT = TypeVar("IdT", contravariant=True)
_Out = TypeVar("_Out")
_Made = TypeVar("_Made", covariant=True)


@runtime_checkable
class RepoFor(Protocol[M]):
    """What every repository of ``M`` offers.

    ``obj_id``/``data`` are the parameter names of the 0.2 API; Loom's repositories
    also take them as ``id=``/``patch=``.
    """

    async def create(self, data: msgspec.Struct | Mapping[str, Any]) -> M: ...

    async def get_by_id(self, obj_id: Any, profile: str = "default") -> M | None: ...

    async def get_by(self, field: str, value: Any, profile: str = "default") -> M | None: ...

    async def list_paginated(
        self,
        page_params: PageParams,
        filter_params: FilterParams | None = None,
        profile: str = "default",
    ) -> PageResult[M]: ...

    async def list_with_query(
        self, query: QuerySpec, profile: str = "default"
    ) -> PageResult[M] | CursorResult[M]: ...

    async def update(self, obj_id: Any, data: msgspec.Struct | Mapping[str, Any]) -> M | None: ...

    async def delete(self, obj_id: Any) -> bool: ...

    async def count(self, filters: FilterGroup | None = None) -> int: ...

    async def exists(self, obj_id: Any) -> bool: ...

    async def exists_by(self, field: str, value: Any) -> bool: ...


class RepositoryRead(Protocol[_Out, IdT]):
    """The read half of :class:`Repository`."""

    async def get_by_id(self, obj_id: IdT, profile: str = "default") -> _Out | None: ...

    async def get_by(self, field: str, value: Any, profile: str = "default") -> _Out | None: ...

    async def list_paginated(
        self,
        page_params: PageParams,
        filter_params: FilterParams | None = None,
        profile: str = "default",
    ) -> PageResult[_Out]: ...

    async def list_with_query(
        self, query: QuerySpec, profile: str = "default"
    ) -> PageResult[_Out] | CursorResult[_Out]: ...

    async def count(self) -> int: ...

    async def exists(self, obj_id: IdT) -> bool: ...

    async def exists_by(self, field: str, value: Any) -> bool: ...


class RepositoryWrite(Protocol[_Made, CreateT, UpdateT, IdT]):
    """The write half of :class:`Repository`."""

    async def create(self, data: CreateT) -> _Made: ...

    async def update(self, obj_id: IdT, data: UpdateT) -> _Made | None: ...

    async def delete(self, obj_id: IdT) -> bool: ...


class Repository(RepositoryRead[_Out, IdT], RepositoryWrite[_Out, CreateT, UpdateT, IdT], Protocol):
    """``Repository[Out, Create, Update, Id]``: reads and writes of one model."""
