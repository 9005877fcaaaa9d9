"""The SQLAlchemy 2 (async) adapter: tables, the database, and repositories.

``repository_for`` registers a custom repository for a model; the application
container then uses it as ``main_repo`` for every use case of that model::

    @repository_for(Product, contract=ProductRepo)
    class ProductRepository(RepositorySQLAlchemy[Product, int]): ...

Custom SQL gets a SQLAlchemy ``AsyncSession`` inside the caller's unit of work with
``@with_session_scope`` (see ``_session.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from loom.core.repository.registry import register_repository
from loom.core.repository.sqlalchemy._database import Database, SQLAlchemyUnitOfWork
from loom.core.repository.sqlalchemy._repository import RepositorySQLAlchemy, row_factory
from loom.core.repository.sqlalchemy._session import (
    SessionManager,
    current_session,
    transactional,
    with_session_scope,
)
from loom.core.repository.sqlalchemy._table import UTCDateTime, metadata, table_for

__all__ = [
    "Database",
    "RepositorySQLAlchemy",
    "SQLAlchemyUnitOfWork",
    "SessionManager",
    "UTCDateTime",
    "current_session",
    "metadata",
    "repository_for",
    "row_factory",
    "table_for",
    "transactional",
    "with_session_scope",
]

R = TypeVar("R", bound=type)


def repository_for(model: type, *, contract: Any | None = None) -> Callable[[R], R]:
    """Make the decorated class the repository of ``model`` (and of ``contract``)."""

    def decorate(cls: R) -> R:
        if not (isinstance(cls, type) and issubclass(cls, RepositorySQLAlchemy)):
            raise TypeError("@repository_for decorates a RepositorySQLAlchemy subclass")
        if getattr(cls, "model", None) is None:
            cls.model = model
        register_repository(model, cls, contract)
        return cls

    return decorate
