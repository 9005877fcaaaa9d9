"""``InMemoryRepository`` of a plain struct (not a model), as 0.2's fake allowed.

Without a model there is no column list, no validation and no profiles: entities are
stored as given, ``id_field`` is their key, ``create`` copies the same-named fields of
its input (or calls ``creator``), and an ``update`` changes the fields it was sent
(for a struct built in code: those that are not ``None``). Filters compare attributes
with the same operators and NULL logic as the model store.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec

from loom.core.command._command import fields_set
from loom.core.errors import ValidationError
from loom.core.repository._coerce import normalise_spec
from loom.core.repository.abc.query import (
    FilterGroup,
    FilterOp,
    FilterParams,
    FilterSpec,
    PageParams,
    PageResult,
    PaginationMode,
    QuerySpec,
    SortDirection,
)
from loom.testing._memory import _ABSENT, InMemoryRepository, PageList, _compare, _like_regex

__all__ = ["PlainMemoryRepository"]

Predicate = Callable[[Any], bool]


class PlainMemoryRepository(InMemoryRepository[Any]):
    """Entities of a non-model struct type kept by ``id_field``."""

    def __init__(
        self,
        entity_type: Any = None,
        *,
        id_field: str = "id",
        creator: Callable[[Any], Any] | None = None,
        cursor_secret: str | None = None,
        related: Callable[[type], Any] | None = None,
        model: Any = None,
    ) -> None:
        entity_type = entity_type if entity_type is not None else model
        self.model = entity_type
        self.info = None  # type: ignore[assignment]
        self.id_field = id_field
        self.creator = creator
        self.related = related
        self.profile_loader = None
        self._entities: dict[Any, Any] = {}
        self._ids = itertools.count(1)
        fields = getattr(entity_type, "__struct_fields__", None)
        if fields is not None and id_field not in fields:
            raise TypeError(f"InMemoryRepository({entity_type.__name__}): no field {id_field!r}")
        self._fields: tuple[str, ...] = tuple(fields or ())

    # -- storage ----------------------------------------------------------------------

    def _with_id(self, entity: Any) -> Any:
        key = getattr(entity, self.id_field, None)
        if key is None or key is msgspec.UNSET:
            key = next(self._ids)
            while key in self._entities:
                key = next(self._ids)
            entity = msgspec.structs.replace(entity, **{self.id_field: key})
        return entity

    def _build(self, data: Any) -> Any:
        if self.creator is not None:
            return self.creator(data)
        values = dict(data) if isinstance(data, Mapping) else msgspec.structs.asdict(data)
        values = {k: v for k, v in values.items() if k in self._fields}
        values.setdefault(self.id_field, None)
        return msgspec.convert(values, self.model, strict=False, from_attributes=True)

    def _store(self, entity: Any) -> Any:
        entity = self._with_id(entity)
        self._entities[getattr(entity, self.id_field)] = entity
        return entity

    def seed(self, *entities: Any) -> list[Any]:
        return [self._store(e) for e in entities]

    def all(self) -> list[Any]:
        return [self._entities[k] for k in sorted(self._entities)]

    def clear(self) -> None:
        self._entities.clear()
        self._ids = itertools.count(1)

    # -- CRUD -------------------------------------------------------------------------

    async def create(self, data: Any) -> Any:
        return self._store(self._build(data))

    async def get_by_id(
        self, obj_id: Any = _ABSENT, profile: str = "default", *, id: Any = _ABSENT
    ) -> Any:
        return self._entities.get(obj_id if id is _ABSENT else id)

    async def get_by(self, field: str, value: Any, profile: str = "default") -> Any:
        for key in sorted(self._entities):
            entity = self._entities[key]
            if getattr(entity, field, None) == value:
                return entity
        return None

    async def update(
        self,
        obj_id: Any = _ABSENT,
        data: Any = _ABSENT,
        *,
        id: Any = _ABSENT,
        patch: Any = _ABSENT,
    ) -> Any:
        key = obj_id if id is _ABSENT else id
        data = data if patch is _ABSENT else patch
        entity = self._entities.get(key)
        if entity is None:
            return None
        if isinstance(data, Mapping):
            changes = dict(data)
        else:
            changes = {n: getattr(data, n) for n in fields_set(data)}
        changes = {k: v for k, v in changes.items() if k in self._fields and k != self.id_field}
        updated = msgspec.structs.replace(entity, **changes)
        self._entities[key] = updated
        return updated

    async def delete(self, obj_id: Any = _ABSENT, *, id: Any = _ABSENT) -> bool:
        return self._entities.pop(obj_id if id is _ABSENT else id, None) is not None

    async def exists(self, obj_id: Any) -> bool:
        return obj_id in self._entities

    async def exists_by(self, field: str, value: Any) -> bool:
        return any(getattr(e, field, None) == value for e in self._entities.values())

    async def count(self, filters: FilterGroup | None = None) -> int:
        return len(self._select(filters))

    async def list_by(self, field: str, values: Sequence[Any]) -> list[Any]:
        wanted = list(values)
        return [e for e in self.all() if getattr(e, field, None) in wanted]

    # -- lists ------------------------------------------------------------------------

    def _field(self, name: str) -> str:
        if name not in self._fields:
            raise ValidationError.single(
                name, f"unknown field {name!r}; allowed: {', '.join(self._fields)}"
            )
        return name

    def _spec(self, spec: FilterSpec) -> Predicate:
        spec = normalise_spec(spec)
        name = self._field(spec.field)
        op, value = spec.op, spec.value
        if op in (FilterOp.IS_NULL, FilterOp.EXISTS, FilterOp.NOT_EXISTS):
            want_null = bool(value) if op is FilterOp.IS_NULL else op is FilterOp.NOT_EXISTS
            return lambda e: (getattr(e, name) is None) is want_null
        if op is FilterOp.IN:
            options = list(value) if isinstance(value, (list, tuple, set)) else [value]
            return lambda e: getattr(e, name) is not None and getattr(e, name) in options
        if op in (FilterOp.LIKE, FilterOp.ILIKE):
            regex = _like_regex(str(value), op is FilterOp.ILIKE)
            return lambda e: (
                isinstance(getattr(e, name), str) and bool(regex.fullmatch(getattr(e, name)))
            )
        if value is None and op in (FilterOp.EQ, FilterOp.NE):
            return lambda e: (getattr(e, name) is None) is (op is FilterOp.EQ)
        return lambda e: _compare(op, getattr(e, name), value)

    def _group(self, group: FilterGroup) -> Predicate:
        parts = [self._spec(f) for f in group.filters] + [self._group(g) for g in group.groups]
        if group.logic.upper() == "OR":
            return lambda e: any(p(e) for p in parts) if parts else True
        return lambda e: all(p(e) for p in parts)

    def _select(self, group: FilterGroup | None) -> list[Any]:
        entities = self.all()
        if group is None:
            return entities
        predicate = self._group(group)
        return [e for e in entities if predicate(e)]

    async def list_with_query(self, query: QuerySpec, profile: str = "default") -> PageResult[Any]:
        if query.pagination is PaginationMode.CURSOR:
            raise ValidationError.single(
                "pagination", "cursor pages need a model entity type (or the SQL repository)"
            )
        rows = self._select(query.filters)
        for spec in reversed(query.sort):
            name = self._field(spec.field)
            desc = spec.direction is SortDirection.DESC

            def cmp(a: Any, b: Any, name: str = name) -> int:
                x, y = getattr(a, name), getattr(b, name)
                if x == y:
                    return 0
                if x is None or y is None:
                    return 1 if x is None else -1  # NULLs last ascending
                return 1 if x > y else -1

            rows.sort(key=functools.cmp_to_key(cmp), reverse=desc)
        page = PageParams(page=query.page, limit=query.limit)
        window = rows[page.offset : page.offset + page.limit]
        return PageResult(
            items=window,
            total_count=len(rows),
            page=page.page,
            limit=page.limit,
            has_next=page.offset + len(window) < len(rows),
        )

    async def list_paginated(
        self,
        page_params: PageParams,
        filter_params: FilterParams | Mapping[str, Any] | None = None,
        profile: str = "default",
    ) -> PageList[Any]:
        page = page_params if page_params is not None else PageParams()
        if isinstance(filter_params, Mapping):
            filter_params = FilterParams(filters=dict(filter_params))
        group = filter_params.group() if filter_params is not None else None
        result = await self.list_with_query(QuerySpec(group, (), limit=page.limit, page=page.page))
        return PageList(result.items, result.total_count, result.page, result.limit)


InMemoryRepository.plain_store = PlainMemoryRepository
