"""Read profiles: which relations and projections a read returns, and how they link.

A model declares ``RelationField`` and ``ProjectionField`` attributes, each listing the
profiles that load it. :func:`resolve_profile` resolves, once per model and profile,
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
    _resolve_model,
)

__all__ = [
    "CountLoader",
    "ExistsLoader",
    "JoinFieldsLoader",
    "ProjectionLink",
    "ProjectionLoader",
    "RelatedLoader",
    "RelationLink",
    "ResolvedProfile",
    "Through",
    "profile_tables",
    "resolve_profile",
    "validate_profiles",
]


@dataclass(frozen=True, slots=True)
class Through:
    """The association table of a many-to-many link: its row joins the owner row whose
    ``local_column`` equals ``table.local`` to the target row whose ``remote_column``
    equals ``table.remote``."""

    table: ModelInfo
    local: str
    remote: str


LinkKey = tuple[str, str, str, tuple[str, str, str] | None]
"""Which related rows a link reads; equal keys read the same rows."""


@dataclass(frozen=True, slots=True)
class RelationLink:
    """A relation resolved to columns: ``target.remote_column == self.local_column``,
    directly or, with ``through``, over an association table."""

    field: RelationInfo
    target: ModelInfo
    local_column: str
    remote_column: str
    many: bool
    """A list of rows (``ONE_TO_MANY``, ``MANY_TO_MANY``) rather than one row or ``None``."""
    through: Through | None = None

    @property
    def key(self) -> LinkKey:
        return _link_key(self.target, self.remote_column, self.local_column, self.through)


@dataclass(frozen=True, slots=True)
class ProjectionLink:
    """A projection; for built-in loaders, the rows of ``loader.model`` linked to the
    owner row as a relation's are (``remote_column == local_column``, or ``through``)."""

    field: ProjectionInfo
    loader: Any
    target: ModelInfo | None
    local_column: str | None
    remote_column: str | None
    many: bool
    """The value is a list (the annotation is a sequence type)."""
    through: Through | None = None
    relation: str | None = None
    """The owner's relation the loader goes over (None for a column ``via``)."""

    @property
    def key(self) -> LinkKey | None:
        if self.target is None or self.remote_column is None or self.local_column is None:
            return None
        return _link_key(self.target, self.remote_column, self.local_column, self.through)


def _link_key(target: ModelInfo, remote: str, local: str, through: Through | None) -> LinkKey:
    hop = (through.table.table, through.local, through.remote) if through is not None else None
    return (target.table, remote, local, hop)


@dataclass(frozen=True, slots=True)
class ResolvedProfile:
    profile: str
    relations: tuple[RelationLink, ...]
    projections: tuple[ProjectionLink, ...]
    tables: tuple[str, ...]
    """Every table the profile's result is read from, the model's own first."""

    @property
    def loads(self) -> bool:
        """Whether a read with this profile loads anything besides the row."""
        return bool(self.relations or self.projections)

    def derivable(self, link: ProjectionLink) -> bool:
        """A built-in projection over rows a relation of this profile loads anyway."""
        key = link.key
        return key is not None and any(rel.key == key for rel in self.relations)


def _split(name: str) -> tuple[str | None, str]:
    """``"table.column"`` -> ``("table", "column")``; a bare name has no table."""
    table, dot, column = name.rpartition(".")
    return (table, column) if dot else (None, name)


def _column_name(owner: ModelInfo, name: str, what: str) -> str:
    """``name`` (Python, camelCase or ``table.column``) as a column of ``owner``."""
    table, name = _split(name)
    if table is not None and table != owner.table:
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


def _referencing(info: ModelInfo, reference: str) -> list[str]:
    """The columns of ``info`` declared ``ColumnField(foreign_key=reference)``."""
    return [c.name for c in info.columns.values() if c.decl.foreign_key == reference]


def _foreign_keys(info: ModelInfo) -> str:
    found = [
        f"{c.name} -> {c.decl.foreign_key}" for c in info.columns.values() if c.decl.foreign_key
    ]
    return ", ".join(found) if found else "none"


def _by_reference(info: ModelInfo, target: ModelInfo, fk: str, what: str) -> str:
    """The one column of ``info`` whose foreign key is ``fk`` (``"users.id"``)."""
    table, column = _split(fk)
    if table != target.table:
        raise TypeError(
            f"{what}: foreign_key={fk!r} references table {table!r}, but the related model "
            f"{target.name} is table {target.table!r}"
        )
    if column not in target.columns:
        raise TypeError(f"{what}: foreign_key={fk!r}: {target.name} has no column {column!r}")
    found = _referencing(info, fk)
    if len(found) == 1:
        return found[0]
    if not found:
        raise TypeError(
            f"{what}: no column of {info.name} is declared ColumnField(foreign_key={fk!r}) "
            f"(its foreign keys: {_foreign_keys(info)}); declare the foreign key on the "
            f"column, or name the column itself: foreign_key='<{info.name} column>'"
        )
    raise TypeError(
        f"{what}: several columns of {info.name} reference {fk!r} ({', '.join(found)}); "
        f"name the one to follow: foreign_key={found[0]!r}"
    )


def _model_of(value: Any, what: str, role: str) -> ModelInfo:
    model = _resolve_model(value, what) if isinstance(value, str) else value
    try:
        return model_info(model)
    except TypeError:
        raise TypeError(f"{what}: the {role} {value!r} is not a model") from None


def _many_to_many(info: ModelInfo, rel: RelationInfo, what: str) -> RelationLink:
    """A ``MANY_TO_MANY`` relation: its association model's two foreign keys, one to
    the owner, the other to the target (which it names when the annotation does not)."""
    decl = rel.decl
    assoc = _model_of(decl.secondary, what, "secondary (association table)")
    target_model = decl.model if decl.model is not None else rel.target
    try:
        target: ModelInfo | None = model_info(target_model)
    except TypeError:
        target = None  # inferred from the association's foreign keys below
    if not rel.many:
        raise TypeError(f"{what}: a MANY_TO_MANY relation must be annotated as list[...]")
    keys = [
        (c.name, *_split(c.decl.foreign_key)) for c in assoc.columns.values() if c.decl.foreign_key
    ]
    local: tuple[str, str | None, str] | None = None
    remote: tuple[str, str | None, str] | None = None
    if decl.foreign_key is not None:
        table, column = _split(decl.foreign_key)
        if table is None or table == assoc.table:
            named = assoc.column(column)
            chosen = [k for k in keys if named is not None and k[0] == named.name]
        else:
            chosen = [k for k in keys if (k[1], k[2]) == (table, column)]
        if len(chosen) != 1:
            raise TypeError(
                f"{what}: foreign_key={decl.foreign_key!r} names "
                f"{'no' if not chosen else 'more than one'} foreign key of the association "
                f"{assoc.name} (its foreign keys: {_foreign_keys(assoc)}); name its column "
                f"pointing at {info.table}, e.g. foreign_key='<{assoc.table} column>'"
            )
        if chosen[0][1] == info.table:
            local = chosen[0]
        else:
            remote = chosen[0]
    if local is None:
        owners = [k for k in keys if k[1] == info.table and k != remote]
        if len(owners) != 1:
            raise TypeError(
                f"{what}: the association {assoc.name} ({assoc.table}) needs one foreign key "
                f"to {info.table}, it has {len(owners)} (its foreign keys: "
                f"{_foreign_keys(assoc)})"
                + ("; name the one pointing here: foreign_key='<column>'" if owners else "")
            )
        local = owners[0]
    if remote is None:
        others = [k for k in keys if k != local]
        if target is not None:
            others = [k for k in others if k[1] == target.table]
        if len(others) != 1:
            to = target.table if target is not None else "the related table"
            raise TypeError(
                f"{what}: the association {assoc.name} ({assoc.table}) needs one foreign key "
                f"to {to} besides {local[0]}, it has {len(others)} (its foreign keys: "
                f"{_foreign_keys(assoc)})"
            )
        remote = others[0]
    if target is None:
        target = _model_of(remote[1], what, "table referenced by the association")
    elif remote[1] != target.table:
        raise TypeError(
            f"{what}: {assoc.name}.{remote[0]} points at {remote[1]}, "
            f"but the relation's model {target.name} is {target.table}"
        )
    for side, name in ((info, local[2]), (target, remote[2])):
        if name not in side.columns:
            raise TypeError(f"{what}: {assoc.name} references {side.table}.{name}, not a column")
    through = Through(assoc, local[0], remote[0])
    return RelationLink(rel, target, local[2], remote[2], True, through)


def _relation_link(info: ModelInfo, rel: RelationInfo) -> RelationLink:
    """``rel`` resolved to columns, once (the result is cached on ``info``)."""
    cache: dict[str, RelationLink] = info.extras.setdefault("relation_links", {})
    link = cache.get(rel.name)
    if link is None:
        link = cache[rel.name] = _resolve_relation(info, rel)
    return link


def _resolve_relation(info: ModelInfo, rel: RelationInfo) -> RelationLink:
    what = f"{info.name}.{rel.name}"
    cardinality = rel.decl.cardinality
    if cardinality is Cardinality.MANY_TO_MANY:
        link = _many_to_many(info, rel, what)
    else:
        target_model = rel.decl.model if rel.decl.model is not None else rel.target
        target = _model_of(target_model, what, "relation's target")
        link = _direct(info, rel, target, what)
    _check_back_populates(info, rel, link, what)
    return link


def _direct(info: ModelInfo, rel: RelationInfo, target: ModelInfo, what: str) -> RelationLink:
    fk = rel.decl.foreign_key
    assert fk is not None  # RelationField requires it but for MANY_TO_MANY
    cardinality = rel.decl.cardinality
    table, bare = _split(fk)
    forward = cardinality is Cardinality.MANY_TO_ONE
    local: str | None = None
    if forward:
        # ``"users.id"`` is what the column references; ``"<own table>.user_id"`` is the
        # column itself, unless a column references it (a self-referencing table).
        if table is not None and (table != info.table or _referencing(info, fk)):
            local = _by_reference(info, target, fk, what)
    elif cardinality is Cardinality.ONE_TO_ONE:
        # The other model's column, as documented; this model's own column (by name,
        # or by the key it references) makes the relation point the other way.
        if table is None:
            forward = target.column(bare) is None and info.column(bare) is not None
        elif table == info.table != target.table:
            forward = True
        elif table != target.table or _referencing(info, fk):
            local = _by_reference(info, target, fk, what)
            forward = True
    if forward:
        if local is None:
            local = _column_name(info, fk, what)
        return RelationLink(rel, target, local, _referenced(info, local, target), False)
    remote = _column_name(target, fk, what)
    many = cardinality is Cardinality.ONE_TO_MANY
    if many and not rel.many:
        raise TypeError(f"{what}: a ONE_TO_MANY relation must be annotated as list[...]")
    return RelationLink(rel, target, _referenced(target, remote, info), remote, many)


def _check_back_populates(
    info: ModelInfo, rel: RelationInfo, link: RelationLink, what: str
) -> None:
    name = rel.decl.back_populates
    if name is None:
        return
    other = link.target.relations.get(name)
    if other is None:
        raise TypeError(
            f"{what}: back_populates={name!r}, but {link.target.name} has no relation {name!r}; "
            f"declare it there or drop back_populates"
        )
    model = other.decl.model if other.decl.model is not None else other.target
    if isinstance(model, type) and model is not info.model:
        raise TypeError(
            f"{what}: back_populates={name!r} names {link.target.name}.{name}, "
            f"a relation to {getattr(model, '__name__', model)}, not {info.name}"
        )


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


def _loader_relation(
    info: ModelInfo, loader: RelatedLoader, target: ModelInfo, what: str
) -> RelationLink | None:
    """The owner's relation ``loader`` goes over; None for Loom's column form
    (``via`` names the foreign-key column of ``loader.model``)."""
    loader_name = type(loader).__name__
    via = loader.via
    if via is None:
        found = [
            link
            for link in (_relation_link(info, rel) for rel in info.relations.values())
            if link.target.model is target.model
        ]
        if len(found) == 1:
            return found[0]
        if not found:
            raise TypeError(
                f"{what}: {loader_name}(model={target.name}) goes over {info.name}'s relation "
                f"to {target.name}, and {info.name} declares none; declare one "
                f"(RelationField), or name the relation or {target.name}'s foreign-key "
                f"column: via='...'"
            )
        names = ", ".join(link.field.name for link in found)
        raise TypeError(
            f"{what}: {info.name} has several relations to {target.name} ({names}); "
            f"name the one to use: via={found[0].field.name!r}"
        )
    rel = info.relations.get(via) or next(
        (r for r in info.relations.values() if r.camel == via), None
    )
    if rel is not None:
        link = _relation_link(info, rel)
        if link.target.model is not target.model:
            raise TypeError(
                f"{what}: via={via!r} is {info.name}'s relation to {link.target.name}, "
                f"not to {target.name}"
            )
        return link
    if target.column(_split(via)[1]) is not None:
        return None
    raise TypeError(
        f"{what}: via={via!r} is neither a relation of {info.name} nor a column of "
        f"{target.name} (relations: {', '.join(info.relations) or 'none'})"
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
        if isinstance(loader, JoinFieldsLoader):
            names = (
                (loader.value_columns,)
                if isinstance(loader.value_columns, str)
                else loader.value_columns
            )
            for name in names:
                _column_name(target, name, what)
        rel = _loader_relation(info, loader, target, what)
        if rel is not None:
            return ProjectionLink(
                proj,
                loader,
                target,
                rel.local_column,
                rel.remote_column,
                many,
                rel.through,
                rel.field.name,
            )
        assert loader.via is not None
        remote = _column_name(target, loader.via, what)
        return ProjectionLink(proj, loader, target, _referenced(target, remote, info), remote, many)
    if not isinstance(loader, ProjectionLoader) and not any(
        callable(getattr(loader, name, None)) for name in ("load", "load_many", "load_from_object")
    ):
        raise TypeError(
            f"{what}: loader must be a ProjectionLoader (or, as in 0.2, have load_many "
            f"or load_from_object), got {loader!r}"
        )
    return ProjectionLink(proj, loader, None, None, None, many)


def _tables_of(value: Any, info: ModelInfo) -> str | None:
    """The table a ``depends_on`` entry names: a model or a table name. The name of a
    relation or projection of the model orders loading instead (as in 0.2)."""
    if isinstance(value, str):
        return None if value in info.relations or value in info.projections else value
    return getattr(value, "__tablename__", None)


def _ordered(info: ModelInfo, projections: list[ProjectionLink]) -> list[ProjectionLink]:
    """``projections`` with each after the projections its ``depends_on`` names."""
    by_name = {p.field.name: p for p in projections}
    done: dict[str, ProjectionLink] = {}

    def visit(link: ProjectionLink, path: tuple[str, ...]) -> None:
        name = link.field.name
        if name in done:
            return
        if name in path:
            cycle = " -> ".join((*path[path.index(name) :], name))
            raise TypeError(f"{info.name}.{name}: depends_on forms a cycle ({cycle})")
        for dep in link.field.decl.depends_on:
            if isinstance(dep, str) and dep in by_name:
                visit(by_name[dep], (*path, name))
        done[name] = link

    for link in projections:
        visit(link, ())
    return list(done.values())


def resolve_profile(info: ModelInfo, profile: str) -> ResolvedProfile:
    """What ``profile`` loads for ``info``'s model (cached). ``default`` is a profile
    like any other: it loads what is declared for it, usually nothing."""
    cache: dict[str, ResolvedProfile] = info.extras.setdefault("resolved_profiles", {})
    resolved = cache.get(profile)
    if resolved is not None:
        return resolved
    tables: list[str] = [info.table]

    def depend(name: str | None) -> None:
        if name and name not in tables:
            tables.append(name)

    relations: list[RelationLink] = []
    projections: list[ProjectionLink] = []
    for rel in info.relations.values():
        if profile in rel.decl.profiles:
            link = _relation_link(info, rel)
            relations.append(link)
            if link.through is not None:
                depend(link.through.table.table)
            depend(link.target.table)
            for dep in rel.decl.depends_on:
                depend(_tables_of(dep, info))
    for proj in info.projections.values():
        if profile in proj.decl.profiles:
            plink = _projection_link(info, proj)
            projections.append(plink)
            if plink.through is not None:
                depend(plink.through.table.table)
            if plink.target is not None:
                depend(plink.target.table)
            tables_fn = getattr(plink.loader, "tables", None)
            for table in tables_fn() if callable(tables_fn) else ():
                depend(table)
            for dep in proj.decl.depends_on:
                depend(_tables_of(dep, info))
    projections = _ordered(info, projections)
    resolved = ResolvedProfile(profile, tuple(relations), tuple(projections), tuple(tables))
    cache[profile] = resolved
    return resolved


def profile_tables(info: ModelInfo, profile: str) -> tuple[str, ...]:
    """The tables a read of ``info``'s model with ``profile`` depends on."""
    return resolve_profile(info, profile).tables


def validate_profiles(info: ModelInfo) -> None:
    """Resolve every relation and profile now, so a wrong declaration fails at start-up,
    not mid-request."""
    for rel in info.relations.values():
        _relation_link(info, rel)
    for profile in info.profiles():
        resolve_profile(info, profile)
