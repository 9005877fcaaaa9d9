"""Resolving read profiles: links, dependencies, and declarations that cannot work."""

from __future__ import annotations

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
from loom.core.projection import profile_tables, resolve_profile, validate_profiles
from loom.core.projection.loaders import (
    CountLoader,
    ExistsLoader,
    JoinFieldsLoader,
    ProjectionLoader,
)
from loom.core.repository.abc.query import QuerySpec
from loom.core.repository.sqlalchemy import Database, RepositorySQLAlchemy, table_for


class UpjTeam(BaseModel):
    __tablename__ = "upj_teams"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    code: str = ColumnField(length=10, unique=True)

    members: list[UpjMember] = RelationField(
        foreign_key="team_id", cardinality=Cardinality.ONE_TO_MANY, profiles=("full",)
    )
    size: int = ProjectionField(
        loader=CountLoader(model="UpjMember", via="team_id"), profiles=("full", "counts")
    )
    audited: bool = ProjectionField(
        loader=ExistsLoader(model="upj_audits", via="team_id"),
        profiles=("full",),
        depends_on=("upj_external",),
    )


class UpjMember(BaseModel):
    __tablename__ = "upj_members"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    team_id: int = ColumnField(foreign_key="upj_teams.id", on_delete=OnDelete.CASCADE)
    team_code: str | None = ColumnField(length=10, foreign_key="upj_teams.code")

    team: UpjTeam | None = RelationField(
        foreign_key="team_id", cardinality=Cardinality.MANY_TO_ONE, profiles=("full",)
    )
    team_by_code: UpjTeam | None = RelationField(
        foreign_key="upj_members.team_code",
        cardinality=Cardinality.MANY_TO_ONE,
        profiles=("by_code",),
        depends_on=(UpjTeam,),
    )


class UpjAudit(BaseModel):
    __tablename__ = "upj_audits"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    team_id: int = ColumnField(foreign_key="upj_teams.id")


def test_profiles_list_every_declared_profile() -> None:
    assert model_info(UpjTeam).profiles() == ("default", "full", "counts")


def test_default_profile_loads_nothing_and_depends_on_the_own_table() -> None:
    plan = resolve_profile(model_info(UpjTeam), "default")
    assert plan.relations == () and plan.projections == ()
    assert plan.tables == ("upj_teams",)


def test_full_profile_links_and_dependencies() -> None:
    plan = resolve_profile(model_info(UpjTeam), "full")
    (members,) = plan.relations
    assert (members.local_column, members.remote_column, members.many) == ("id", "team_id", True)
    assert [p.field.name for p in plan.projections] == ["size", "audited"]
    assert plan.tables == ("upj_teams", "upj_members", "upj_audits", "upj_external")
    assert profile_tables(model_info(UpjTeam), "counts") == ("upj_teams", "upj_members")


def test_many_to_one_follows_the_referenced_column() -> None:
    (by_code,) = resolve_profile(model_info(UpjMember), "by_code").relations
    assert (by_code.local_column, by_code.remote_column) == ("team_code", "code")
    (team,) = resolve_profile(model_info(UpjMember), "full").relations
    assert (team.local_column, team.remote_column, team.many) == ("team_id", "id", False)


def test_loaders_name_their_model_lazily_and_repr_readably() -> None:
    loader = JoinFieldsLoader(model="UpjMember", value_columns=("id",), via="team_id")
    assert "UpjMember" in repr(loader)
    assert loader.model is UpjMember
    assert loader.tables() == ("upj_members",)
    assert ExistsLoader(model=UpjAudit, via="team_id").tables() == ("upj_audits",)
    with pytest.raises(ValueError):
        CountLoader(model=UpjAudit, via="")
    with pytest.raises(ValueError):
        JoinFieldsLoader(model=UpjAudit, value_columns=(), via="team_id")
    with pytest.raises(TypeError, match="no model"):
        _ = CountLoader(model="UpjNothing", via="x").model


def declare(name: str, **fields: object) -> type:
    namespace: dict[str, object] = {
        "__tablename__": f"upj_bad_{name}",
        "__annotations__": {"id": "int", **{k: v[0] for k, v in fields.items()}},  # type: ignore[index]
        "id": ColumnField(primary_key=True, autoincrement=True),
        "__module__": __name__,
    }
    namespace.update({k: v[1] for k, v in fields.items()})  # type: ignore[index]
    return type(f"UpjBad{name.title()}", (BaseModel,), namespace)


@pytest.mark.parametrize(
    ("name", "fields", "message"),
    [
        (
            "fk",
            {
                "team": (
                    "UpjTeam | None",
                    RelationField(foreign_key="nope_id", cardinality=Cardinality.MANY_TO_ONE),
                )
            },
            "no column 'nope_id'",
        ),
        (
            "notlist",
            {
                "members": (
                    "UpjMember | None",
                    RelationField(foreign_key="team_id", cardinality=Cardinality.ONE_TO_MANY),
                )
            },
            "list",
        ),
        (
            "via",
            {"n": ("int", ProjectionField(loader=CountLoader(model=UpjMember, via="missing_id")))},
            "via='missing_id' is neither a relation of UpjBadVia nor a column of UpjMember",
        ),
        (
            "cols",
            {
                "n": (
                    "list[str]",
                    ProjectionField(
                        loader=JoinFieldsLoader(
                            model=UpjMember, value_columns="nope", via="team_id"
                        )
                    ),
                )
            },
            "no column 'nope'",
        ),
        ("loader", {"n": ("int", ProjectionField(loader=42))}, "ProjectionLoader"),
        (
            "table",
            {
                "team": (
                    "UpjTeam | None",
                    RelationField(foreign_key="other.team_id", cardinality=Cardinality.MANY_TO_ONE),
                )
            },
            "references table 'other', but the related model UpjTeam is table 'upj_teams'",
        ),
    ],
)
def test_wrong_declarations_fail_when_the_repository_is_built(
    name: str, fields: dict[str, object], message: str
) -> None:
    model = declare(name, **fields)
    with pytest.raises(TypeError, match=message):
        validate_profiles(model_info(model))
    database = Database("sqlite+aiosqlite:///:memory:")
    with pytest.raises(TypeError, match=message):
        RepositorySQLAlchemy(database, model)


async def test_a_custom_loader_is_called_once_per_page() -> None:
    calls: list[int] = []

    class Doubled(ProjectionLoader):
        async def load(self, repository: object, items: object, field: object) -> list[object]:
            calls.append(len(items))  # type: ignore[arg-type]
            return [item.id * 2 if item.id % 2 else None for item in items]  # type: ignore[attr-defined]

    class UpjCustom(BaseModel):
        __tablename__ = "upj_custom"
        id: int = ColumnField(primary_key=True)
        twice: int = ProjectionField(loader=Doubled(), profiles=("x",), default=-1)

    database = Database("sqlite+aiosqlite:///:memory:")
    try:
        async with database.engine.begin() as conn:
            await conn.run_sync(table_for(UpjCustom).create)
        repo = RepositorySQLAlchemy(database, UpjCustom)
        for i in (1, 2, 3):
            await repo.create({"id": i})
        page = await repo.list_with_query(QuerySpec(), profile="x")
        assert [r.twice for r in page.items] == [2, -1, 6]
        assert calls == [3]
    finally:
        await database.dispose()
