"""A model's SQL, built once: its table, CRUD statements, read shapes and row maker.

Every repository of a model (and the profile loader, when it reads the model as a
relation's target) shares one :class:`ModelSQL`, kept in the model's ``extras``.
"""

from __future__ import annotations

import datetime as _dt
import decimal
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from loom.core.model import ModelInfo
from loom.core.repository.abc.query import SortSpec
from loom.core.repository.sqlalchemy._query import resolve_sort
from loom.core.repository.sqlalchemy._statements import Prepared, Shapes, SortKeys
from loom.core.repository.sqlalchemy._table import table_for

if TYPE_CHECKING:
    from loom.core.repository.sqlalchemy._profiles import ProfileRead

__all__ = ["ModelSQL", "model_sql", "row_factory"]

# Types asyncpg returns exactly as the model wants them (datetimes come back UTC-aware).
_DRIVER_SAFE = frozenset({int, str, bool, float, _dt.datetime, _dt.date, decimal.Decimal})
# Shapes (and sort orders) kept per model: the number a client can ask for is unbounded.
MAX_SHAPES = 256


def row_factory(info: ModelInfo, names: Sequence[str]) -> Callable[[Sequence[Any]], Any]:
    """``row -> Model(a=row[0], b=row[1], ...)``, generated once per column list."""
    args = ", ".join(f"{name}=row[{i}]" for i, name in enumerate(names))
    source = f"def make(row):\n    return Model({args})\n"
    namespace: dict[str, Any] = {"Model": info.model}
    exec(compile(source, f"<loom row factory {info.name}>", "exec"), namespace)
    return namespace["make"]


class ModelSQL:
    """Everything about a model's SQL that does not change between calls."""

    def __init__(self, info: ModelInfo) -> None:
        self.info = info
        self.table = table = table_for(info.model)
        self.names = [c.name for c in info.columns.values()]
        self.columns = [table.c[n] for n in self.names]
        self.pk = pk = table.c[info.pk.name]
        self.make = row_factory(info, self.names)
        self.simple_types = plain = all(
            c.python_type in _DRIVER_SAFE for c in info.columns.values()
        )
        """No column needs SQLAlchemy's conversion of what the driver returns."""
        by_pk = pk == sa.bindparam("_loom_pk")
        self.select = sa.select(*self.columns)
        self.get = Prepared(self.select.where(by_pk), plain=plain)
        self.insert = Prepared(sa.insert(table).returning(*self.columns), plain=plain)
        self.update = Prepared(sa.update(table).where(by_pk).returning(*self.columns), plain=plain)
        self.delete = Prepared(sa.delete(table).where(by_pk), plain=True)
        self.count = sa.select(sa.func.count()).select_from(table)
        self.pk_type = info.pk.python_type
        self.shapes = Shapes(table, self.columns, self.count, pk, MAX_SHAPES, plain)
        self._sorts: dict[Any, SortKeys] = {}
        self.reads: dict[str, ProfileRead] = {}
        """Per profile name that was validated: how to read it (see _profiles.py)."""

    def sort_keys(self, sort: tuple[SortSpec, ...]) -> SortKeys:
        """The resolved sort order of a request (unknown fields raise their 422 first)."""
        found = self._sorts.get(sort)
        if found is None:
            found = SortKeys.of(resolve_sort(self.info, self.table, sort))
            if len(self._sorts) < MAX_SHAPES:
                self._sorts[sort] = found
        return found


def model_sql(info: ModelInfo) -> ModelSQL:
    """The model's :class:`ModelSQL`, built on first use."""
    found = info.extras.get("sa_sql")
    if found is None:
        found = info.extras["sa_sql"] = ModelSQL(info)
    return found
