"""Models as SQLAlchemy objects, under the names of the 0.2 API.

A thin layer over Loom's one shared ``MetaData`` (``loom.core.repository.sqlalchemy``):
``compile_all`` builds the tables of the given models and of everything they
reference (foreign keys, relations, projection loaders); ``get_metadata`` is that
``MetaData``, for ``create_all`` and Alembic::

    # alembic/env.py
    reset_registry()
    compile_all(*models)
    target_metadata = get_metadata()

Tables are built once per process and never dropped from the metadata: every
repository already holds them. ``reset_registry`` therefore forgets only the ORM
classes and Core helpers made here; compiling again returns the same tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, relationship

from loom.core.model import model_info
from loom.core.model._base import model_by_table
from loom.core.projection import _relation_link as relation_link
from loom.core.repository._listing import check_profile
from loom.core.repository.sqlalchemy._table import metadata, table_for

__all__ = [
    "CoreModel",
    "SABase",
    "compile_all",
    "compile_model",
    "get_compiled",
    "get_compiled_core",
    "get_metadata",
    "reset_registry",
]

M = TypeVar("M")


class SABase(DeclarativeBase):
    """Declarative base of the ORM classes ``get_compiled`` makes, on Loom's metadata
    (an application's own ORM classes may derive from it too)."""

    metadata = metadata


_orm: dict[type, type] = {}
_core: dict[type, CoreModel[Any]] = {}


def get_metadata() -> sa.MetaData:
    """The ``MetaData`` holding every model's table (``create_all``, Alembic)."""
    return metadata


def _referenced(model: type) -> list[type]:
    """The models ``model``'s relations, projection loaders and foreign keys name."""
    info = model_info(model)
    found: list[type] = []
    for rel in info.relations.values():
        target = rel.decl.model if rel.decl.model is not None else rel.target
        if isinstance(target, str):
            target = model_by_table(target)
        if isinstance(target, type):
            found.append(target)
    for proj in info.projections.values():
        try:
            target = getattr(proj.decl.loader, "model", None)
        except TypeError:  # a loader naming a model not declared yet
            target = None
        if isinstance(target, type):
            found.append(target)
    for col in info.columns.values():
        fk = col.decl.foreign_key
        if fk:
            target = model_by_table(fk.split(".", 1)[0])
            if target is not None:
                found.append(target)
    return found


def compile_model(cls: type[M]) -> sa.Table:
    """``cls``'s table in the shared metadata (built on first use)."""
    try:
        return table_for(cls)
    except TypeError as exc:
        raise TypeError(f"compile_model({getattr(cls, '__name__', cls)!r}): {exc}") from None


def compile_all(*models: type) -> list[sa.Table]:
    """The tables of ``models`` and of every model they reference, transitively."""
    seen: dict[type, sa.Table] = {}
    pending = list(models)
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen[model] = compile_model(model)
        pending.extend(m for m in _referenced(model) if m not in seen)
    return list(seen.values())


def get_compiled(cls: type) -> type:
    """An ORM class mapped onto ``cls``'s table (``select(get_compiled(User))``,
    ``session.add(...)``), with the model's relations as read-only ORM relationships
    (``selectinload(Order.items)``); made once per model."""
    found = _orm.get(cls)
    if found is None:
        table = compile_model(cls)
        found = type(cls.__name__, (SABase,), {"__table__": table, "__module__": cls.__module__})
        _orm[cls] = found
        _add_relationships(cls, found)
    return found


def _add_relationships(model: type, orm: type) -> None:
    """The model's relations on its ORM class. View-only: the repositories write the
    foreign keys, so the ORM never needs to reconcile two writers of one column."""
    info = model_info(model)
    for rel in info.relations.values():
        try:
            link = relation_link(info, rel)
        except TypeError:
            continue  # a relation the read profiles reject already fails at start-up
        target = get_compiled(link.target.model)
        local = table_for(model).c[link.local_column]
        remote = table_for(link.target.model).c[link.remote_column]
        through = getattr(link, "through", None)
        if through is not None:
            # Many-to-many: over the association table's two foreign keys.
            table = compile_model(through.table.model)
            near, far = table.c[through.local], table.c[through.remote]
            made = relationship(
                target,
                secondary=table,
                primaryjoin=local == near,
                secondaryjoin=remote == far,
                foreign_keys=[near, far],
                uselist=True,
                viewonly=True,
            )
        else:
            # The foreign side: the column that references the other table.
            foreign = remote if local.primary_key and not remote.primary_key else local
            made = relationship(
                target,
                primaryjoin=local == remote,
                foreign_keys=[foreign],
                remote_side=[remote],
                uselist=link.many,
                viewonly=True,
            )
        setattr(orm, rel.name, made)


class CoreModel(Generic[M]):
    """SQLAlchemy Core access to one model: its columns as attributes
    (``core.email == x``), a ``select`` of the model's columns and fetches that return
    model instances."""

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self.info = model_info(model)
        self.table = compile_model(model)
        self.columns: Mapping[str, sa.Column[Any]] = {
            name: self.table.c[name] for name in self.info.columns
        }
        self._names = list(self.info.columns)

    def __getattr__(self, name: str) -> sa.Column[Any]:
        columns = self.__dict__.get("columns")
        info = self.__dict__.get("info")
        col = info.column(name) if info is not None else None
        if columns is None or col is None:
            raise AttributeError(f"{type(self).__name__} has no column {name!r}")
        return columns[col.name]

    def select(self, profile: str = "default") -> sa.Select[Any]:
        """``SELECT`` of the model's columns (add ``.where(...)``, ``.order_by(...)``)."""
        check_profile(self.info, profile)
        return sa.select(*self.columns.values())

    def from_row(self, row: Any) -> M:
        mapping = row._mapping
        return self.model(**{n: mapping[n] for n in self._names if n in mapping})

    async def fetch_one(self, session: Any, statement: Any = None) -> M | None:
        """The first row of ``statement`` (default: :meth:`select`) as a model, or None;
        ``session`` is an ``AsyncSession`` or an ``AsyncConnection``."""
        result = await session.execute(statement if statement is not None else self.select())
        row = result.first()
        return self.from_row(row) if row is not None else None

    async def fetch_all(self, session: Any, statement: Any = None) -> Sequence[M]:
        """Every row of ``statement`` (default: :meth:`select`) as models."""
        result = await session.execute(statement if statement is not None else self.select())
        return [self.from_row(row) for row in result.all()]


def get_compiled_core(cls: type[M]) -> CoreModel[M]:
    found = _core.get(cls)
    if found is None:
        found = _core[cls] = CoreModel(cls)
    return found


def reset_registry() -> None:
    """Forget the ORM classes and Core helpers made here (the tables stay: Loom's
    repositories hold them, and compiling again gives the same ones)."""
    _core.clear()
    if _orm:
        _orm.clear()
        SABase.registry.dispose()
