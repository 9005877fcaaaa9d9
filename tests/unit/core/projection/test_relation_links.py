"""How relations and loaders resolve to columns, and the start-up errors that name the fix."""

from __future__ import annotations

from typing import Any

import pytest

from loom.core.model import (
    BaseModel,
    Cardinality,
    ColumnField,
    ProjectionField,
    RelationField,
    model_info,
)
from loom.core.projection import resolve_profile, validate_profiles
from loom.core.projection.loaders import CountLoader, ExistsLoader, JoinFieldsLoader


class RlkNode(BaseModel):
    """Self-references: a parent by referenced column, children, and links both ways."""

    __tablename__ = "rlk_nodes"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    parent_id: int | None = ColumnField(foreign_key="rlk_nodes.id")
    label: str = ColumnField(length=20)

    parent: RlkNode | None = RelationField(
        foreign_key="rlk_nodes.id", cardinality=Cardinality.MANY_TO_ONE
    )
    parent_by_name: RlkNode | None = RelationField(
        foreign_key="rlk_nodes.parent_id", cardinality=Cardinality.MANY_TO_ONE, profiles=("x",)
    )
    children: list[RlkNode] = RelationField(
        foreign_key="parent_id", cardinality=Cardinality.ONE_TO_MANY, profiles=("x",)
    )
    links: list[RlkNode] = RelationField(
        foreign_key="src_id",
        cardinality=Cardinality.MANY_TO_MANY,
        secondary="rlk_edges",
        profiles=("x",),
    )
    backlinks: list[RlkNode] = RelationField(
        foreign_key="rlk_edges.dst_id",
        cardinality=Cardinality.MANY_TO_MANY,
        secondary="RlkEdge",
        profiles=("x",),
    )
    child_count: int = ProjectionField(loader=CountLoader("RlkNode", via="children"))
    link_labels: list[str] = ProjectionField(
        loader=JoinFieldsLoader(model="RlkNode", value_columns="label", via="links"),
        profiles=("x",),
    )


class RlkEdge(BaseModel):
    __tablename__ = "rlk_edges"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    src_id: int = ColumnField(foreign_key="rlk_nodes.id")
    dst_id: int = ColumnField(foreign_key="rlk_nodes.id")


class RlkCard(BaseModel):
    __tablename__ = "rlk_cards"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    node_id: int = ColumnField(foreign_key="rlk_nodes.id", unique=True)

    node: RlkNode | None = RelationField(
        foreign_key="rlk_nodes.id", cardinality=Cardinality.ONE_TO_ONE
    )


class RlkHolder(BaseModel):
    __tablename__ = "rlk_holders"
    id: int = ColumnField(primary_key=True, autoincrement=True)

    card: RlkBadge | None = RelationField(
        foreign_key="rlk_badges.holder_id", cardinality=Cardinality.ONE_TO_ONE
    )
    has_card: bool = ProjectionField(loader=ExistsLoader("RlkBadge"))


class RlkBadge(BaseModel):
    __tablename__ = "rlk_badges"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    holder_id: int = ColumnField(foreign_key="rlk_holders.id", unique=True)


def links(model: type, profile: str) -> dict[str, Any]:
    plan = resolve_profile(model_info(model), profile)
    found: dict[str, Any] = {}
    for link in (*plan.relations, *plan.projections):
        hop = link.through
        found[link.field.name] = (
            link.local_column,
            link.remote_column,
            (hop.table.table, hop.local, hop.remote) if hop is not None else None,
        )
    return found


def test_default_profile_is_the_default_of_both_fields_and_loads_them() -> None:
    assert RelationField(foreign_key="x", cardinality=Cardinality.MANY_TO_ONE).profiles == (
        "default",
    )
    assert ProjectionField(loader=CountLoader(RlkNode)).profiles == ("default",)
    plan = resolve_profile(model_info(RlkNode), "default")
    assert plan.loads
    assert [r.field.name for r in plan.relations] == ["parent"]
    assert [p.field.name for p in plan.projections] == ["child_count"]


def test_a_lone_string_is_one_profile() -> None:
    field = RelationField(foreign_key="x", cardinality=Cardinality.MANY_TO_ONE, profiles="full")
    assert field.profiles == ("full",)


def test_self_references_resolve_each_form() -> None:
    assert links(RlkNode, "default") == {
        "parent": ("parent_id", "id", None),  # "rlk_nodes.id": the column referencing it
        "child_count": ("id", "parent_id", None),
    }
    assert links(RlkNode, "x") == {
        "parent_by_name": ("parent_id", "id", None),  # the own column, table-qualified
        "children": ("id", "parent_id", None),
        "links": ("id", "id", ("rlk_edges", "src_id", "dst_id")),
        "backlinks": ("id", "id", ("rlk_edges", "dst_id", "src_id")),
        "link_labels": ("id", "id", ("rlk_edges", "src_id", "dst_id")),
    }


def test_one_to_one_from_either_side() -> None:
    assert links(RlkCard, "default") == {"node": ("node_id", "id", None)}
    assert links(RlkHolder, "default") == {
        "card": ("id", "holder_id", None),
        "has_card": ("id", "holder_id", None),
    }


def test_a_count_over_a_relation_of_the_profile_is_derivable() -> None:
    plan = resolve_profile(model_info(RlkNode), "x")
    by_name = {p.field.name: p for p in plan.projections}
    assert plan.derivable(by_name["link_labels"])
    assert not resolve_profile(model_info(RlkNode), "default").derivable(
        resolve_profile(model_info(RlkNode), "default").projections[0]
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"foreign_key": "a_id", "cardinality": Cardinality.MANY_TO_MANY}, "needs secondary"),
        (
            {"foreign_key": "a_id", "cardinality": Cardinality.ONE_TO_MANY, "secondary": "t"},
            "secondary= is for MANY_TO_MANY",
        ),
        ({"foreign_key": None, "cardinality": Cardinality.MANY_TO_ONE}, "needs foreign_key"),
        ({"foreign_key": "", "cardinality": Cardinality.MANY_TO_ONE}, "must be a column name"),
    ],
)
def test_relation_field_rejects_impossible_declarations(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RelationField(**kwargs)


def declare(name: str, annotations: dict[str, str], **values: Any) -> type:
    namespace: dict[str, Any] = {
        "__tablename__": f"rlk_bad_{name}",
        "__annotations__": {"id": "int", **annotations},
        "id": ColumnField(primary_key=True, autoincrement=True),
        "__module__": __name__,
        **values,
    }
    return type(f"RlkBad{name.title()}", (BaseModel,), namespace)


def m2m(**kwargs: Any) -> RelationField:
    return RelationField(cardinality=Cardinality.MANY_TO_MANY, **kwargs)


@pytest.mark.parametrize(
    ("name", "annotations", "values", "message"),
    [
        (
            "wrongtable",
            {"node_id": "int", "node": "RlkNode | None"},
            {
                "node_id": ColumnField(foreign_key="rlk_nodes.id"),
                "node": RelationField(
                    foreign_key="rlk_cards.id", cardinality=Cardinality.MANY_TO_ONE
                ),
            },
            "references table 'rlk_cards', but the related model RlkNode is table 'rlk_nodes'",
        ),
        (
            "nosecondary",
            {"tags": "list[RlkNode]"},
            {"tags": m2m(foreign_key=None, secondary="rlk_nothing")},
            "no model .* named 'rlk_nothing'",
        ),
        (
            "notowner",
            {"nodes": "list[RlkNode]"},
            {"nodes": m2m(foreign_key=None, secondary="rlk_edges")},
            r"needs one foreign key to rlk_bad_notowner, it has 0 \(its foreign keys: "
            r"src_id -> rlk_nodes.id, dst_id -> rlk_nodes.id\)",
        ),
        (
            "m2mnotlist",
            {"nodes": "RlkNode | None"},
            {"nodes": m2m(foreign_key="src_id", secondary="rlk_edges")},
            "must be annotated as list",
        ),
        (
            "twovia",
            {"a": "list[RlkNode]", "b": "list[RlkNode]", "n": "int"},
            {
                "a": RelationField(
                    foreign_key="parent_id", cardinality=Cardinality.ONE_TO_MANY, profiles=()
                ),
                "b": RelationField(
                    foreign_key="parent_id", cardinality=Cardinality.ONE_TO_MANY, profiles=()
                ),
                "n": ProjectionField(loader=CountLoader(RlkNode)),
            },
            r"several relations to RlkNode \(a, b\); name the one to use: via='a'",
        ),
        (
            "othermodel",
            {"cards": "list[RlkCard]", "n": "int"},
            {
                "cards": RelationField(
                    foreign_key="node_id", cardinality=Cardinality.ONE_TO_MANY, profiles=()
                ),
                "n": ProjectionField(loader=CountLoader(RlkEdge, via="cards")),
            },
            "via='cards' is RlkBadOthermodel's relation to RlkCard, not to RlkEdge",
        ),
        (
            "backpop",
            {"children": "list[RlkNode]"},
            {
                "children": RelationField(
                    foreign_key="parent_id",
                    cardinality=Cardinality.ONE_TO_MANY,
                    back_populates="mother",
                    profiles=(),
                )
            },
            "back_populates='mother', but RlkNode has no relation 'mother'",
        ),
    ],
)
def test_declaration_errors_at_start_up(
    name: str, annotations: dict[str, str], values: dict[str, Any], message: str
) -> None:
    model = declare(name, annotations, **values)
    with pytest.raises(TypeError, match=message):
        validate_profiles(model_info(model))


def test_a_self_referencing_association_needs_foreign_key_to_tell_the_sides_apart() -> None:
    declare(
        "graphedge",
        {"a_id": "int", "b_id": "int"},
        a_id=ColumnField(foreign_key="rlk_bad_graph.id"),
        b_id=ColumnField(foreign_key="rlk_bad_graph.id"),
    )
    graph = declare(
        "graph",
        {"others": "list[Any]"},
        others=m2m(foreign_key=None, secondary="rlk_bad_graphedge"),
    )
    with pytest.raises(TypeError, match=r"it has 2 .*name the one pointing here"):
        validate_profiles(model_info(graph))
