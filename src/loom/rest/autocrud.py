"""Auto-CRUD: generated use cases and routes for a model's five standard operations.

The use cases are ordinary ``UseCase`` subclasses (built once per model), so they go
through the same plans, rules-free, and use the model's ``main_repo`` (a custom
repository when one is registered).

This module must not use ``from __future__ import annotations``: the generated
``execute`` methods are annotated with runtime values.
"""

from typing import Any

from loom.core.errors import NotFound
from loom.core.model import model_info
from loom.core.model._write import create_struct, patch_struct
from loom.core.repository.abc.query import CursorResult, PageResult, QuerySpec
from loom.core.use_case import Input
from loom.core.use_case.use_case import UseCase
from loom.rest._wording import indefinite_article, plural
from loom.rest.model import RestRoute

__all__ = ["AUTO_OPERATIONS", "auto_use_cases", "build_auto_routes"]

AUTO_OPERATIONS = ("get", "list", "create", "update", "delete")

_CACHE: dict[type, dict[str, type]] = {}


def auto_use_cases(model: type) -> dict[str, type]:
    """``{"get": ..., "list": ..., ...}`` use-case classes for ``model``."""
    cached = _CACHE.get(model)
    if cached is not None:
        return cached
    info = model_info(model)
    pk_type: Any = info.pk.python_type
    create_body: Any = create_struct(info)
    update_body: Any = patch_struct(info)
    name = info.name
    page_type: Any = PageResult[model] | CursorResult[model]  # type: ignore[valid-type]

    class AutoGet(UseCase[model, model]):  # type: ignore[valid-type]
        async def execute(self, id: pk_type, profile: str = "default") -> model:  # type: ignore[valid-type]
            entity = await self.main_repo.get_by_id(id, profile=profile)
            if entity is None:
                raise NotFound(model=name, id=id)
            return entity

    class AutoList(UseCase[model, page_type]):  # type: ignore[valid-type]
        async def execute(self, query: QuerySpec, profile: str = "default") -> page_type:
            return await self.main_repo.list_with_query(query, profile=profile)

    class AutoCreate(UseCase[model, model]):  # type: ignore[valid-type]
        async def execute(self, cmd: create_body = Input()) -> model:  # type: ignore[valid-type]
            return await self.main_repo.create(cmd)

    class AutoUpdate(UseCase[model, model]):  # type: ignore[valid-type]
        async def execute(self, id: pk_type, cmd: update_body = Input()) -> model:  # type: ignore[valid-type]
            entity = await self.main_repo.update(id, cmd)
            if entity is None:
                raise NotFound(model=name, id=id)
            return entity

    class AutoDelete(UseCase[model, bool]):  # type: ignore[valid-type]
        async def execute(self, id: pk_type) -> bool:
            if not await self.main_repo.delete(id):
                raise NotFound(model=name, id=id)
            return True

    classes: dict[str, type] = {
        "get": AutoGet,
        "list": AutoList,
        "create": AutoCreate,
        "update": AutoUpdate,
        "delete": AutoDelete,
    }
    for op, cls in classes.items():
        cls.__name__ = f"{op.capitalize()}{name}"
        cls.__qualname__ = f"auto.{op.capitalize()}{name}"
        cls.__module__ = model.__module__
        cls.__loom_auto__ = op  # type: ignore[attr-defined]
    _CACHE[model] = classes
    return classes


# The collection is "/" (``/products/``), as 0.2 and the examples page declare it;
# the route table serves it with and without the trailing slash.
_SPECS = {
    "list": ("GET", "/", 200, "List {plural}"),
    "get": ("GET", "/{id}", 200, "Get {a} {name} by id"),
    "create": ("POST", "/", 201, "Create {a} {name}"),
    "update": ("PATCH", "/{id}", 200, "Update {a} {name} (only the fields sent)"),
    "delete": ("DELETE", "/{id}", 200, "Delete {a} {name}"),
}


def build_auto_routes(
    model: type, include: tuple[str, ...] | list[str] = ()
) -> tuple[RestRoute, ...]:
    """Routes for ``include`` (empty: all five): GET /, GET /{id}, POST /, PATCH /{id},
    DELETE /{id}."""
    ops = tuple(include) or AUTO_OPERATIONS
    unknown = [op for op in ops if op not in AUTO_OPERATIONS]
    if unknown:
        raise ValueError(
            f"build_auto_routes: unknown operation(s) {unknown}; use {AUTO_OPERATIONS}"
        )
    classes = auto_use_cases(model)
    name = model.__name__
    routes = []
    for op in AUTO_OPERATIONS:
        if op not in ops:
            continue
        method, path, status, summary = _SPECS[op]
        routes.append(
            RestRoute(
                classes[op],
                method,
                path,
                summary=summary.format(name=name, plural=plural(name), a=indefinite_article(name)),
                status_code=status,
                auto=op,
            )
        )
    return tuple(routes)
