"""``ApplicationInvoker``: call another use case by type or by key, or an entity's CRUD.

Calls run inside the caller's unit of work when there is one (so a workflow's
steps commit or roll back together) and open their own otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from loom.core.errors import NotFound, ValidationError
from loom.core.model import model_info
from loom.core.repository.abc.query import QuerySpec
from loom.core.use_case.constants import CrudOp
from loom.core.use_case.keys import key_of, model_entity_key, registered_keys, use_case_key

if TYPE_CHECKING:
    from loom.core.runtime import Runtime

__all__ = [
    "AppInvoker",
    "ApplicationInvoker",
    "EntityInvoker",
    "model_entity_key",
    "use_case_key",
]


class EntityInvoker:
    """CRUD on one model through its repository (custom repositories included), with
    0.2's outcomes: ``get``/``update`` raise ``NotFound``, ``delete`` returns a bool."""

    __slots__ = ("_model", "_name", "_pk", "_runtime")

    def __init__(self, runtime: Runtime, model: type) -> None:
        self._runtime = runtime
        self._model = model
        self._name = model.__name__
        self._pk = model_info(model).pk.name

    def _id(self, params: Mapping[str, Any] | None) -> Any:
        params = params or {}
        for key in (self._pk, "id"):
            if key in params:
                return params[key]
        raise ValidationError.single(self._pk, "parameter required")

    async def get(self, params: Mapping[str, Any] | None = None, profile: str | None = None) -> Any:
        id = self._id(params)
        profile = profile or (params or {}).get("profile") or "default"
        repo = self._runtime.repo_for(self._model)
        async with self._runtime.unit_of_work():
            entity = await repo.get_by_id(id, profile=profile)
        if entity is None:
            raise NotFound(self._name, id=id)
        return entity

    async def create(self, payload: Any, params: Mapping[str, Any] | None = None) -> Any:
        repo = self._runtime.repo_for(self._model)
        data = dict(payload) if isinstance(payload, Mapping) else payload
        if params and isinstance(data, dict):
            data = {**data, **params}
        async with self._runtime.unit_of_work():
            return await repo.create(data)

    async def update(self, params: Mapping[str, Any] | None = None, payload: Any = None) -> Any:
        id = self._id(params)
        repo = self._runtime.repo_for(self._model)
        async with self._runtime.unit_of_work():
            entity = await repo.update(id, payload or {})
        if entity is None:
            raise NotFound(self._name, id=id)
        return entity

    async def delete(self, params: Mapping[str, Any] | None = None) -> bool:
        repo = self._runtime.repo_for(self._model)
        async with self._runtime.unit_of_work():
            return bool(await repo.delete(self._id(params)))

    async def list(
        self,
        params: Mapping[str, Any] | None = None,
        payload: Any = None,
        query: QuerySpec | None = None,
        profile: str | None = None,
    ) -> Any:
        """``params={"query": QuerySpec(...)}`` (0.2) or ``query=`` (Loom)."""
        params = params or {}
        query = query or params.get("query") or QuerySpec()
        profile = profile or params.get("profile") or "default"
        repo = self._runtime.repo_for(self._model)
        async with self._runtime.unit_of_work():
            return await repo.list_with_query(query, profile=profile)


class ApplicationInvoker:
    """Injected into use cases, jobs and callbacks that orchestrate others."""

    __slots__ = ("_entities", "_keys", "_runtime")

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._entities: dict[type, EntityInvoker] = {}
        self._keys: dict[str, type] = {}

    async def invoke(
        self,
        use_case: type,
        params: Mapping[str, Any] | None = None,
        payload: Any = None,
        *,
        query: QuerySpec | None = None,
        profile: str | None = None,
    ) -> Any:
        """Run ``use_case`` with its own loads, computes and rules."""
        return await self._runtime.execute(
            use_case, params=params, payload=payload, query=query, profile=profile
        )

    async def invoke_name(
        self,
        key: str,
        *,
        params: Mapping[str, Any] | None = None,
        payload: Any = None,
    ) -> Any:
        """Run the use case registered under ``key``: a ``use_case_key`` or an
        auto-CRUD ``"<model_snake>:<op>"``. ``KeyError`` for an unknown key."""
        cls = self._keys.get(key) or self._index().get(key)
        if cls is not None:
            query = params.get("query") if params else None
            rest = params
            if params and query is not None:
                rest = {k: v for k, v in params.items() if k != "query"}
            return await self.invoke(cls, rest, payload, query=query)
        entity_op = self._entity_operation(key)
        if entity_op is None:
            raise KeyError(key)
        model, op = entity_op
        entity = self.entity(model)
        if op is CrudOp.CREATE:
            return await entity.create(payload, params)
        if op is CrudOp.GET:
            return await entity.get(params)
        if op is CrudOp.LIST:
            return await entity.list(params, payload)
        if op is CrudOp.UPDATE:
            return await entity.update(params, payload)
        return await entity.delete(params)

    def _index(self) -> dict[str, type]:
        """Every key this application knows: declared ones, and the auto-CRUD use cases
        its interfaces built."""
        runtime = self._runtime
        known = [*runtime.components.use_cases, *getattr(runtime, "_plans", {})]
        for cls in known:
            key = key_of(cls)
            if key is not None:
                self._keys.setdefault(key, cls)
        for key, cls in registered_keys().items():
            self._keys.setdefault(key, cls)
        return self._keys

    def _entity_operation(self, key: str) -> tuple[type, CrudOp] | None:
        """``"<model_snake>:<op>"`` of a registered model without auto routes (a worker
        has no REST layer): the same operation on its repository."""
        name, _, op = key.rpartition(":")
        if op not in CrudOp.__members__.values():
            return None
        for model in self._runtime.components.models:
            if model_entity_key(model) == name:
                return model, CrudOp(op)
        return None

    def entity(self, model: type) -> EntityInvoker:
        inv = self._entities.get(model)
        if inv is None:
            inv = self._entities[model] = EntityInvoker(self._runtime, model)
        return inv


AppInvoker = ApplicationInvoker
"""0.2's name for the concrete invoker."""
