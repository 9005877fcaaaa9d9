"""Models and a runtime on in-memory repositories for the use-case engine tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from loom.core.model import BaseModel, ColumnField, OnDelete
from loom.core.runtime import Components, Runtime
from loom.testing import InMemoryRepository


class UcAuthor(BaseModel):
    __tablename__ = "uc_authors"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=80)
    email: str = ColumnField(length=120, unique=True)


class UcBook(BaseModel):
    __tablename__ = "uc_books"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    author_id: int = ColumnField(foreign_key="uc_authors.id", on_delete=OnDelete.CASCADE)
    title: str = ColumnField(length=120)
    pages: int = ColumnField(default=0)


class NotAModel:
    """A plain class, to check that markers refuse it."""


def memory_runtime(
    *, models: Iterable[type] = (UcAuthor, UcBook), use_cases: Iterable[type] = ()
) -> Runtime:
    """A runtime whose repositories are in memory (one per model, shared by use cases)."""

    def factory(model: type, _container: Any) -> InMemoryRepository[Any]:
        return InMemoryRepository(model)

    return Runtime(
        components=Components(models=models, use_cases=use_cases),
        repository_factory=factory,
    )
