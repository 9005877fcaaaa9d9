"""Repositories: the abstract contracts (``abc``) and their adapters (``sqlalchemy``).

The contract's names are importable from here directly::

    from loom.core.repository import RepoFor, PageParams, FilterParams, QuerySpec
"""

from loom.core.repository.abc import (
    CreateT,
    CursorResult,
    FilterGroup,
    FilterOp,
    FilterParams,
    FilterSpec,
    IdT,
    OutputT,
    PageParams,
    PageResult,
    PaginationMode,
    QuerySpec,
    RepoFor,
    Repository,
    RepositoryRead,
    RepositoryWrite,
    SortDirection,
    SortSpec,
    UpdateT,
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
