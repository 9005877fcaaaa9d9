"""Read profiles: which relations and projections a read returns, and how they link.

A model declares ``RelationField`` and ``ProjectionField`` attributes, each listing the
profiles that load it. :func:`profile_plan` resolves, once per model and profile,
everything a repository adapter needs to load them in batches (which column on
which side holds the key) and which tables the result depends on, which is what
the repository cache invalidates on. Nothing here touches a database.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any

from loom.core.model import Cardinality, ModelInfo, model_info
from loom.core.model._info import ProjectionInfo, RelationInfo
from loom.core.projection.loaders import (
    CountLoader,
    ExistsLoader,
    JoinFieldsLoader,
    ProjectionLoader,
    RelatedLoader,
)

__all__ = [
    "CountLoader",
    "ExistsLoader",
    "JoinFieldsLoader",
    "ProfilePlan",
    "ProjectionLink",
    "ProjectionLoader",
    "RelatedLoader",
    "RelationLink",
    "profile_plan",
    "profile_tables",
    "validate_profiles",
]


@dataclass(frozen=True, slots=True)
class RelationLink:
    """A relation resolved to columns: ``target.remote_column == self.local_column``."""

    field: RelationInfo
    target: ModelInfo
    local_column: str
    remote_column: str
    many: bool
    """A list of rows (``ONE_TO_MANY``) rather than one row or ``None``."""


@dataclass(frozen=True, slots=True)
class ProjectionLink:
    """A projection; for built-in loaders, ``loader.model.remote_column == local_column``."""

    field: ProjectionInfo
    loader: Any
    target: ModelInfo | None
    local_column: str | None
    remote_column: str | None
    many: bool
    """The value is a list (the annotation is a sequence type)."""


@dataclass(frozen=True, slots=True)
class ProfilePlan:
    profile: str
    relations: tuple[RelationLink, ...]
    projections: tuple[ProjectionLink, ...]
    tables: tuple[str, ...]
    """Every table the profile's result is read from, the model's own first."""


def _column_name(owner: ModelInfo, name: str, what: str) -> str:
    """``name`` (Python, camelCase or ``table.column``) as a column of ``owner``."""
    if "." in name:
        table, _, name = name.partition(".")
        if table != owner.table:
            raise TypeError(f"{what}: {table}.{name} is not a column of table {owner.table!r}")
    col = owner.column(name)
    if col is None:
        raise TypeError(f"{what}: {owner.name} has no column {name!r}")
    return col.name


def _referenced(fk_owner: ModelInfo, fk_column: str, referenced: ModelInfo) -> str:
    """The column of ``referenced`` that ``fk_owner.fk_column`` points at (default: its key)."""
    declared = fk_owner.columns[fk_column].decl.foreign_key
    if declared:
        table, _, column = declared.partition(".")
        if table == referenced.table and column in referenced.columns:
            return column
    return referenced.pk.name


def _relation_link(info: ModelInfo, rel: RelationInfo) -> RelationLink:
    target_model = rel.decl.model if rel.decl.model is not None else rel.target
    what = f"{info.name}.{rel.name}"
    try:
        target = model_info(target_model)
    except TypeError:
        raise TypeError(f"{what}: the relation's target {target_model!r} is not a model") from None
    fk = rel.decl.foreign_key
    cardinality = rel.decl.cardinality
    forward = cardinality is Cardinality.MANY_TO_ONE
    if cardinality is Cardinality.ONE_TO_ONE:
        # Documented as the other model's column; a column of this model also works.
        bare = fk.rpartition(".")[2]
        forward = target.column(bare) is None and info.column(bare) is not None
    if forward:
        local = _column_name(info, fk, what)
        return RelationLink(rel, target, local, _referenced(info, local, target), False)
    remote = _column_name(target, fk, what)
    many = cardinality is Cardinality.ONE_TO_MANY
    if many and not rel.many:
        raise TypeError(f"{what}: a ONE_TO_MANY relation must be annotated as list[...]")
    return RelationLink(rel, target, _referenced(target, remote, info), remote, many)


def _is_sequence(annotation: Any) -> bool:
    inner = annotation
    origin = typing.get_origin(inner)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(inner) if a is not type(None)]
        if len(args) == 1:
            inner = args[0]
            origin = typing.get_origin(inner)
    return origin in (list, tuple, set, frozenset) or (
        origin is not None and getattr(origin, "__name__", "") in ("Sequence", "list", "tuple")
    )


def _projection_link(info: ModelInfo, proj: ProjectionInfo) -> ProjectionLink:
    loader = proj.decl.loader
    what = f"{info.name}.{proj.name}"
    many = _is_sequence(proj.annotation)
    if isinstance(loader, RelatedLoader):
        try:
            target = model_info(loader.model)
        except TypeError:
            raise TypeError(f"{what}: loader model {loader.model!r} is not a model") from None
        remote = _column_name(target, loader.via, what)
        if isinstance(loader, JoinFieldsLoader):
            names = (
                (loader.value_columns,)
                if isinstance(loader.value_columns, str)
                else loader.value_columns
            )
            for name in names:
                _column_name(target, name, what)
        return ProjectionLink(proj, loader, target, _referenced(target, remote, info), remote, many)
    if not isinstance(loader, ProjectionLoader) and not callable(getattr(loader, "load", None)):
        raise TypeError(f"{what}: loader must be a ProjectionLoader, got {loader!r}")
    return ProjectionLink(proj, loader, None, None, None, many)


def _tables_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    return getattr(value, "__tablename__", None)


def profile_plan(info: ModelInfo, profile: str) -> ProfilePlan:
    """What ``profile`` loads for ``info``'s model (cached; ``default`` loads nothing)."""
    cache: dict[str, ProfilePlan] = info.extras.setdefault("profile_plans", {})
    plan = cache.get(profile)
    if plan is not None:
        return plan
    tables: list[str] = [info.table]

    def depend(name: str | None) -> None:
        if name and name not in tables:
            tables.append(name)

    relations: list[RelationLink] = []
    projections: list[ProjectionLink] = []
    if profile != "default":
        for rel in info.relations.values():
            if profile in rel.decl.profiles:
                link = _relation_link(info, rel)
                relations.append(link)
                depend(link.target.table)
                for dep in rel.decl.depends_on:
                    depend(_tables_of(dep))
        for proj in info.projections.values():
            if profile in proj.decl.profiles:
                plink = _projection_link(info, proj)
                projections.append(plink)
                if plink.target is not None:
                    depend(plink.target.table)
                tables_fn = getattr(plink.loader, "tables", None)
                for table in tables_fn() if callable(tables_fn) else ():
                    depend(table)
                for dep in proj.decl.depends_on:
                    depend(_tables_of(dep))
    plan = ProfilePlan(profile, tuple(relations), tuple(projections), tuple(tables))
    cache[profile] = plan
    return plan


def profile_tables(info: ModelInfo, profile: str) -> tuple[str, ...]:
    """The tables a read of ``info``'s model with ``profile`` depends on."""
    return profile_plan(info, profile).tables


def validate_profiles(info: ModelInfo) -> None:
    """Resolve every profile now, so a wrong declaration fails at start-up, not mid-request."""
    for profile in info.profiles():
        profile_plan(info, profile)
