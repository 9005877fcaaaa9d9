"""Projection loaders: how a :class:`~loom.core.model.ProjectionField` gets its value.

A loader is a declaration, not a query. It names the other model and how its rows
link to this row: ``via`` names a relation of this model (``via="items"``), or, left
out, means this model's one relation to ``model``. Repository adapters turn each
built-in loader into one batched query per page (``GROUP BY`` for a count, ``DISTINCT``
for an existence test, one ``IN`` select for joined columns; for a single row a count
or an existence test rides in the row's own SELECT), so the core stays free of any
database library::

    class Order(TimestampedModel):
        items: list[OrderItem] = RelationField(
            foreign_key="order_id", cardinality=Cardinality.ONE_TO_MANY, profiles=("full",)
        )
        items_count: int = ProjectionField(loader=CountLoader(OrderItem))

Loom also accepts ``via`` naming the foreign-key column of ``model`` that points at
this row (``CountLoader(OrderItem, via="order_id")``), with no relation declared: a
name is read as a relation of the owning model first, then as a column of ``model``.

For anything else, subclass :class:`ProjectionLoader` and implement :meth:`load`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "CountLoader",
    "ExistsLoader",
    "JoinFieldsLoader",
    "ProjectionLoader",
    "RelatedLoader",
]


class ProjectionLoader:
    """Base of every loader.

    A custom loader implements :meth:`load`, computing the values of one projection for
    a whole page at once (so it can batch), and lists the tables it reads in
    :meth:`tables` so cached reads are invalidated when those tables change.
    """

    empty: Any = None
    """The value for a row that has no related data."""

    def tables(self) -> tuple[str, ...]:
        """Tables whose writes change this projection's values (besides its own model)."""
        return ()

    async def load(self, repository: Any, items: Sequence[Any], field: Any) -> Sequence[Any]:
        """One value per item, in order. ``field`` is the projection's ``ProjectionInfo``."""
        raise NotImplementedError(f"{type(self).__name__} must implement load()")


class RelatedLoader(ProjectionLoader):
    """A loader over the rows of ``model`` linked to this row: through the owner's
    relation ``via`` (by default its one relation to ``model``), or, Loom's column
    form, the rows whose ``via`` column points at this row."""

    __slots__ = ("_model", "via")

    def __init__(self, model: type | str, via: str | None = None) -> None:
        if via is not None and (not isinstance(via, str) or not via):
            raise ValueError(
                f"{type(self).__name__}: via must name a relation of the owning model "
                f"(or a column of {model!r}), or be left out"
            )
        self._model = model
        self.via = via

    @property
    def model(self) -> type:
        """The other model; ``model=`` may name it (class or table name) when it is
        declared later in the module than the model using the loader."""
        if isinstance(self._model, str):
            self._model = _resolve_model(self._model, type(self).__name__)
        return self._model

    def tables(self) -> tuple[str, ...]:
        table = getattr(self.model, "__tablename__", None)
        return (table,) if table else ()

    async def load(self, repository: Any, items: Sequence[Any], field: Any) -> Sequence[Any]:
        # Built-in loaders are compiled by the repository adapter, never called directly.
        raise NotImplementedError(
            f"{type(self).__name__} is loaded by the repository adapter; "
            f"{type(repository).__name__} does not support it"
        )

    def __repr__(self) -> str:
        model = self._model if isinstance(self._model, str) else self._model.__name__
        return f"{type(self).__name__}(model={model}, via={self.via!r})"


def _resolve_model(name: str, owner: str) -> type:
    from loom.core.model import all_models, model_by_table

    found = model_by_table(name)
    if found is None:
        matches = [m for m in all_models() if m.__name__ == name or m.__qualname__ == name]
        if len(matches) == 1:
            found = matches[0]
    if found is None:
        raise TypeError(f"{owner}: no model (class or table) named {name!r}")
    return found


class CountLoader(RelatedLoader):
    """How many related rows of ``model`` this row has (``0`` when none)."""

    empty = 0


class ExistsLoader(RelatedLoader):
    """Whether this row has at least one related row of ``model``."""

    empty = False


class JoinFieldsLoader(RelatedLoader):
    """Columns of the related rows of ``model``, ordered by their key.

    ``value_columns="name"`` gives a list of values; a sequence of names gives a list
    of objects keyed by the columns' camelCase names (or converted to the projection's
    element type when that is a struct). A projection annotated with a single type
    rather than a list gets the first row's value, or its ``default`` when there is none.
    """

    __slots__ = ("value_columns",)

    empty: Any = ()

    def __init__(
        self, *, model: type | str, value_columns: str | Sequence[str], via: str | None = None
    ) -> None:
        super().__init__(model, via)
        if isinstance(value_columns, str):
            self.value_columns: str | tuple[str, ...] = value_columns
        else:
            self.value_columns = tuple(value_columns)
            if not self.value_columns:
                raise ValueError("JoinFieldsLoader: value_columns must name at least one column")

    def __repr__(self) -> str:
        base = super().__repr__()[:-1]
        return f"{base}, value_columns={self.value_columns!r})"
