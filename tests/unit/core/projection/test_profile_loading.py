"""ProfileLoader semantics that do not depend on a database (in-memory repositories)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from loom.core.model import BaseModel, Cardinality, ColumnField, ProjectionField, RelationField
from loom.core.model import model_info as info_of
from loom.core.projection import resolve_profile
from loom.core.projection.loaders import CountLoader, ProjectionLoader
from loom.core.repository.abc.query import QuerySpec, SortSpec
from loom.testing import InMemoryRepository


class Weighted(ProjectionLoader):
    """A custom loader reading values loaded before it (its ``depends_on``)."""

    async def load(self, repository: Any, items: Sequence[Any], field: Any) -> list[Any]:
        return [item.n_count * 10 + len(item.ns) for item in items]


class PlnBox(BaseModel):
    __tablename__ = "pln_boxes"
    id: int = ColumnField(primary_key=True, autoincrement=True)

    # Declared before what it depends on: the plan orders it after them.
    score: int = ProjectionField(loader=Weighted(), depends_on=("n_count", "ns"))
    ns: list[PlnItem] = RelationField(foreign_key="box_id", cardinality=Cardinality.ONE_TO_MANY)
    n_count: int = ProjectionField(loader=CountLoader("PlnItem"), depends_on=("pln_audit",))


class PlnItem(BaseModel):
    __tablename__ = "pln_items"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    box_id: int = ColumnField(foreign_key="pln_boxes.id")


def test_depends_on_orders_projections_and_field_names_are_not_tables() -> None:
    plan = resolve_profile(info_of(PlnBox), "default")
    assert [p.field.name for p in plan.projections] == ["n_count", "score"]
    assert plan.tables == ("pln_boxes", "pln_items", "pln_audit")


async def test_a_custom_loader_sees_the_fields_it_depends_on() -> None:
    repos: dict[type, Any] = {}
    for model in (PlnBox, PlnItem):
        repos[model] = InMemoryRepository(model, related=repos.__getitem__)
    box = await repos[PlnBox].create({})
    for _ in range(3):
        await repos[PlnItem].create({"box_id": box.id})
    loaded = await repos[PlnBox].get_by_id(box.id)
    assert (loaded.n_count, len(loaded.ns), loaded.score) == (3, 3, 33)


def test_a_depends_on_cycle_is_a_start_up_error() -> None:
    class PlnLoop(BaseModel):
        __tablename__ = "pln_loops"
        id: int = ColumnField(primary_key=True, autoincrement=True)
        a: int = ProjectionField(loader=Weighted(), depends_on=("b",))
        b: int = ProjectionField(loader=Weighted(), depends_on=("a",))

    with pytest.raises(TypeError, match=r"PlnLoop.a: depends_on forms a cycle \(a -> b -> a\)"):
        resolve_profile(info_of(PlnLoop), "default")


class Initial:
    """A custom loader written for 0.2: ``load_from_object(obj, ctx)``, one row at a time."""

    def load_from_object(self, obj: Any, ctx: dict[str, Any]) -> str:
        assert ctx["field"] == "initial" and obj in ctx["items"]
        return obj.name[:1]


class PlnPerson(BaseModel):
    __tablename__ = "pln_people"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=20)
    initial: str = ProjectionField(loader=Initial(), default="?")


async def test_a_0_2_object_loader_runs_per_row_on_memory() -> None:
    repo: Any = InMemoryRepository(PlnPerson, related=lambda model: None)
    await repo.create({"name": "Ada"})
    await repo.create({"name": ""})
    page = await repo.list_with_query(QuerySpec(sort=(SortSpec(field="id"),)))
    assert [p.initial for p in page.items] == ["A", ""]


def test_a_loader_without_any_load_method_is_a_start_up_error() -> None:
    class PlnNoLoad(BaseModel):
        __tablename__ = "pln_noload"
        id: int = ColumnField(primary_key=True, autoincrement=True)
        x: int = ProjectionField(loader=object())

    with pytest.raises(TypeError, match=r"PlnNoLoad\.x: loader must be a ProjectionLoader"):
        resolve_profile(info_of(PlnNoLoad), "default")
