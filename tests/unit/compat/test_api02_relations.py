"""0.2 signature pin: relations, projections, read profiles and projection loaders.

The names are imported from their 0.2 paths and their parameters checked against
API-0.2.md; the behaviour tests are written from its descriptions, on in-memory
repositories (the SQL side runs in tests/integration/profiles).
"""

from __future__ import annotations

import enum
import inspect
from typing import Any

import msgspec
import pytest

from loom.core.model import (
    BaseModel,
    Cardinality,
    ColumnField,
    OnDelete,
    ProjectionField,
    RelationField,
    model_info,
)
from loom.core.projection import validate_profiles
from loom.core.projection.loaders import CountLoader, ExistsLoader, JoinFieldsLoader
from loom.core.repository.abc.query import QuerySpec, SortSpec
from loom.testing import InMemoryRepository

KW = inspect.Parameter.KEYWORD_ONLY
POS = inspect.Parameter.POSITIONAL_OR_KEYWORD
REQUIRED = inspect.Parameter.empty


def params(obj: Any) -> dict[str, tuple[Any, Any]]:
    return {name: (p.kind, p.default) for name, p in inspect.signature(obj).parameters.items()}


def test_relation_field_signature() -> None:
    found = params(RelationField)
    expected = {
        "foreign_key": (KW, REQUIRED),
        "cardinality": (KW, REQUIRED),
        "secondary": (KW, None),
        "back_populates": (KW, None),
        "on_delete": (KW, None),
        "on_update": (KW, None),
        "profiles": (KW, ("default",)),
        "depends_on": (KW, ()),
        "default": (KW, None),
    }
    assert list(found)[: len(expected)] == list(expected)
    assert {k: found[k] for k in expected} == expected
    assert found["model"] == (KW, None)  # Loom's extra


def test_projection_field_signature() -> None:
    found = params(ProjectionField)
    assert found["loader"] == (KW, REQUIRED)
    assert found["profiles"] == (KW, ("default",))
    assert found["depends_on"] == (KW, ())
    assert "default" in found  # Loom: None (0.2: a 'missing' sentinel), see the docs


def test_cardinality_is_a_str_enum_with_lowercase_values() -> None:
    assert issubclass(Cardinality, enum.StrEnum)
    assert {m.name: m.value for m in Cardinality} == {
        "ONE_TO_ONE": "one_to_one",
        "ONE_TO_MANY": "one_to_many",
        "MANY_TO_ONE": "many_to_one",
        "MANY_TO_MANY": "many_to_many",
    }


@pytest.mark.parametrize("loader", [CountLoader, ExistsLoader])
def test_count_and_exists_loader_signatures(loader: type) -> None:
    assert params(loader) == {"model": (POS, REQUIRED), "via": (POS, None)}


def test_join_fields_loader_signature() -> None:
    assert params(JoinFieldsLoader) == {
        "model": (KW, REQUIRED),
        "value_columns": (KW, REQUIRED),
        "via": (KW, None),
    }


# -- behaviour, as API-0.2.md describes it -----------------------------------------------


class C2rUser(BaseModel):
    __tablename__ = "c2r_users"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=60)

    addresses: list[C2rAddress] = RelationField(
        foreign_key="user_id", cardinality=Cardinality.ONE_TO_MANY, profiles=("with_details",)
    )
    notes: list[C2rNote] = RelationField(
        foreign_key="c2r_notes.user_id",
        cardinality=Cardinality.ONE_TO_MANY,
        profiles=("with_details",),
    )
    # No profiles=: the default profile, loaded by plain reads.
    note_count: int = ProjectionField(loader=CountLoader("C2rNote", via="notes"), default=0)
    has_addresses: bool = ProjectionField(loader=ExistsLoader("C2rAddress"), default=False)
    note_bodies: list[str] = ProjectionField(
        loader=JoinFieldsLoader(model="C2rNote", value_columns="body"), profiles=("with_details",)
    )


class C2rAddress(BaseModel):
    __tablename__ = "c2r_addresses"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    user_id: int = ColumnField(foreign_key="c2r_users.id", on_delete=OnDelete.CASCADE)
    city: str = ColumnField(length=60)

    owner: C2rUser = RelationField(
        foreign_key="c2r_users.id",
        cardinality=Cardinality.MANY_TO_ONE,
        back_populates="addresses",
        on_delete=OnDelete.CASCADE,
    )


class C2rNote(BaseModel):
    __tablename__ = "c2r_notes"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    user_id: int | None = ColumnField(foreign_key="c2r_users.id", nullable=True)
    body: str = ColumnField(length=60)

    author: C2rUser | None = RelationField(
        foreign_key="c2r_users.id", cardinality=Cardinality.MANY_TO_ONE
    )


class C2rTag(BaseModel):
    __tablename__ = "c2r_tags"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=30)


class C2rProductTag(BaseModel):
    __tablename__ = "c2r_product_tags"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    product_id: int = ColumnField(foreign_key="c2r_products.id")
    tag_id: int = ColumnField(foreign_key="c2r_tags.id")


class C2rProduct(BaseModel):
    __tablename__ = "c2r_products"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=30)

    tags: list[C2rTag] = RelationField(
        foreign_key="product_id",
        cardinality=Cardinality.MANY_TO_MANY,
        secondary="c2r_product_tags",
        profiles=("with_tags",),
    )
    tag_count: int = ProjectionField(
        loader=CountLoader(C2rTag, via="tags"), profiles=("with_tags",)
    )


MODELS = (C2rUser, C2rAddress, C2rNote, C2rTag, C2rProductTag, C2rProduct)


@pytest.fixture
def repos() -> dict[type, Any]:
    found: dict[type, Any] = {}
    for model in MODELS:
        found[model] = InMemoryRepository(model, related=found.__getitem__)
    return found


def test_the_declarations_resolve_at_start_up() -> None:
    for model in MODELS:
        validate_profiles(model_info(model))
    assert model_info(C2rUser).profiles() == ("default", "with_details")


async def test_default_profile_loads_relations_and_projections(repos: dict[type, Any]) -> None:
    ada = await repos[C2rUser].create({"name": "Ada"})
    bob = await repos[C2rUser].create({"name": "Bob"})
    await repos[C2rNote].create({"user_id": ada.id, "body": "n1"})
    await repos[C2rNote].create({"user_id": ada.id, "body": "n2"})
    await repos[C2rAddress].create({"user_id": ada.id, "city": "Oslo"})
    orphan = await repos[C2rNote].create({"user_id": None, "body": "n3"})
    loaded = await repos[C2rUser].get_by_id(ada.id)
    assert (loaded.note_count, loaded.has_addresses) == (2, True)
    wire = msgspec.json.decode(msgspec.json.encode(loaded))
    assert "notes" not in wire and "noteBodies" not in wire  # another profile's fields
    page = await repos[C2rUser].list_with_query(QuerySpec(sort=(SortSpec(field="id"),)))
    assert [(u.note_count, u.has_addresses) for u in page.items] == [(2, True), (0, False)]
    # MANY_TO_ONE by the referenced column; a missing one-side is None.
    address = (await repos[C2rAddress].list_with_query(QuerySpec())).items[0]
    assert (address.owner.id, address.owner.name) == (ada.id, "Ada")
    assert (await repos[C2rNote].get_by_id(orphan.id)).author is None
    detailed = await repos[C2rUser].get_by_id(bob.id, profile="with_details")
    assert detailed.notes == [] and detailed.addresses == [] and detailed.note_bodies == []


async def test_many_to_many_through_the_secondary_table(repos: dict[type, Any]) -> None:
    lamp = await repos[C2rProduct].create({"name": "lamp"})
    desk = await repos[C2rProduct].create({"name": "desk"})
    red = await repos[C2rTag].create({"name": "red"})
    big = await repos[C2rTag].create({"name": "big"})
    await repos[C2rProductTag].create({"product_id": lamp.id, "tag_id": big.id})
    await repos[C2rProductTag].create({"product_id": lamp.id, "tag_id": red.id})
    page = await repos[C2rProduct].list_with_query(
        QuerySpec(sort=(SortSpec(field="id"),)), profile="with_tags"
    )
    assert [[t.name for t in p.tags] for p in page.items] == [["red", "big"], []]
    assert [p.tag_count for p in page.items] == [2, 0]
    assert (await repos[C2rProduct].get_by_id(desk.id)).tags is msgspec.UNSET


def declare(name: str, annotations: dict[str, str], **values: Any) -> type:
    namespace: dict[str, Any] = {
        "__tablename__": f"c2r_bad_{name}",
        "__annotations__": {"id": "int", **annotations},
        "id": ColumnField(primary_key=True, autoincrement=True),
        "__module__": __name__,
        **values,
    }
    return type(f"C2rBad{name.title()}", (BaseModel,), namespace)


@pytest.mark.parametrize(
    ("name", "annotations", "values", "message"),
    [
        (
            "noref",
            {"user": "C2rUser | None"},
            {
                "user": RelationField(
                    foreign_key="c2r_users.id", cardinality=Cardinality.MANY_TO_ONE
                )
            },
            r"no column of C2rBadNoref is declared ColumnField\(foreign_key='c2r_users.id'\)",
        ),
        (
            "tworefs",
            {"buyer_id": "int", "seller_id": "int", "user": "C2rUser | None"},
            {
                "buyer_id": ColumnField(foreign_key="c2r_users.id"),
                "seller_id": ColumnField(foreign_key="c2r_users.id"),
                "user": RelationField(
                    foreign_key="c2r_users.id", cardinality=Cardinality.MANY_TO_ONE
                ),
            },
            r"several columns of C2rBadTworefs reference 'c2r_users.id' \(buyer_id, seller_id\)",
        ),
        (
            "norel",
            {"n": "int"},
            {"n": ProjectionField(loader=CountLoader(C2rNote))},
            "C2rBadNorel declares none",
        ),
    ],
)
def test_declaration_errors_name_the_candidates(
    name: str, annotations: dict[str, str], values: dict[str, Any], message: str
) -> None:
    model = declare(name, annotations, **values)
    with pytest.raises(TypeError, match=message):
        validate_profiles(model_info(model))
