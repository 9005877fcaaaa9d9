"""``ApplicationInvoker``: call another use case, or an entity's CRUD, by type.

Calls run inside the caller's unit of work when there is one (so a workflow's
steps commit or roll back together) and open their own otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from loom.core.errors import ValidationError
from loom.core.model import model_info
from loom.core.repository.abc.query import QuerySpec

if TYPE_CHECKING:
    from loom.core.runtime import Runtime

__all__ = ["ApplicationInvoker", "EntityInvoker"]


class EntityInvoker:
    """CRUD on one model through its repository (custom repositories included)."""

    __slots__ = ("_model", "_pk", "_runtime")

    def __init__(self, runtime: Runtime, model: type) -> None:
        self._runtime = runtime
        self._model = model
        self._pk = model_info(model).pk.name

    def _id(self, params: Mapping[str, Any] | None) -> Any:
        params = params or {}
        for key in (self._pk, "id"):
            if key in params:
                return params[key]
        raise ValidationError.single(self._pk, "parameter required")

    async def get(self, params: Mapping[str, Any] | None = None, profile: str = "default") -> Any:
        repo = self._runtime.repo_for(self._model)
        async with self._runtime.unit_of_work():
            return await repo.get_by_id(self._id(params), profile=profile)

    async def create(self, payload: Any, params: Mapping[str, Any] | None = None) -> Any:
        repo = self._runtime.repo_for(self._model)
        data = dict(payload) if isinstance(payload, Mapping) else payload
        if params and isinstance(data, dict):
            data = {**data, **params}
        async with self._runtime.unit_of_work():
            return await repo.create(data)

    async def update(self, params: Mapping[str, Any] | None = None, payload: Any = None) -> Any:
        repo = self._runtime.repo_for(self._model)
        async with self._runtime.unit_of_work():
            return await repo.update(self._id(params), payload or {})

    async def delete(self, params: Mapping[str, Any] | None = None) -> bool:
        repo = self._runtime.repo_for(self._model)
        async with self._runtime.unit_of_work():
            return bool(await repo.delete(self._id(params)))

    async def list(
        self,
        params: Mapping[str, Any] | None = None,
        query: QuerySpec | None = None,
        profile: str = "default",
    ) -> Any:
        repo = self._runtime.repo_for(self._model)
        async with self._runtime.unit_of_work():
            return await repo.list_with_query(query or QuerySpec(), profile=profile)


class ApplicationInvoker:
    """Injected into use cases, jobs and callbacks that orchestrate others."""

    __slots__ = ("_entities", "_runtime")

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._entities: dict[type, EntityInvoker] = {}

    async def invoke(
        self,
        use_case: type,
        params: Mapping[str, Any] | None = None,
        payload: Any = None,
        *,
        query: QuerySpec | None = None,
        profile: str | None = None,
    ) -> Any:
        """Run ``use_case`` with its own markers, computes and rules."""
        return await self._runtime.execute(
            use_case, params=params, payload=payload, query=query, profile=profile
        )

    def entity(self, model: type) -> EntityInvoker:
        inv = self._entities.get(model)
        if inv is None:
            inv = self._entities[model] = EntityInvoker(self._runtime, model)
        return inv
