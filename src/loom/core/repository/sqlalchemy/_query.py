"""QuerySpec -> SQLAlchemy expressions: filters, sort order and keyset predicates."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from loom.core.errors import ValidationError
from loom.core.model import ColumnInfo, ModelInfo
from loom.core.repository._coerce import coerce_filter_value, normalise_spec, resolve_column
from loom.core.repository._listing import SortColumn, sort_columns
from loom.core.repository.abc.query import (
    FilterGroup,
    FilterOp,
    SortSpec,
)

__all__ = [
    "SortKey",
    "build_where",
    "compile_filters",
    "filter_shape",
    "keyset_predicate",
    "resolve_sort",
]


# A filter's shape: everything about it that changes its SQL (column, operator, the
# number of values of an ``in``, NULL tests), but not the values themselves. Lists
# with the same shape share one statement built with bind parameters, compiled once.
_ONE = 1  # one bound value
_NULL = "null"  # ``= NULL`` / ``!= NULL`` asked for: IS [NOT] NULL, no value


def filter_shape(info: ModelInfo, group: FilterGroup | None) -> tuple[Any, list[Any]]:
    """``(shape, values)`` of a filter group: the shape is hashable and names the
    statement; ``values`` are the coerced values in the order :func:`build_where`
    binds them. Unknown fields, operators and values that do not fit raise the same
    422s as before any statement exists."""
    values: list[Any] = []
    return (_group_shape(info, group, values) if group is not None else None), values


def _group_shape(info: ModelInfo, group: FilterGroup, values: list[Any]) -> Any:
    specs = []
    for spec in group.filters:
        spec = normalise_spec(spec)
        col = resolve_column(info, spec.field, purpose="filter")
        value = coerce_filter_value(col, spec)
        op = spec.op
        if op is FilterOp.IS_NULL:
            arity: Any = bool(value)
        elif op is FilterOp.IN:
            arity = len(value)
            values.extend(value)
        elif value is None and op in (FilterOp.EQ, FilterOp.NE):
            arity = _NULL
        else:
            arity = _ONE
            values.append(value)
        specs.append((col.name, op, arity))
    subgroups = tuple(_group_shape(info, sub, values) for sub in group.groups)
    return ("OR" if group.logic.upper() == "OR" else "AND", tuple(specs), subgroups)


Bind = Callable[[int, "sa.Column[Any]"], Any]


def build_where(table: sa.Table, shape: Any, bind: Bind) -> sa.ColumnElement[bool] | None:
    """The WHERE clause of a filter shape; ``bind(i, column)`` gives the expression
    for the i-th value (a named parameter for a cached statement, a literal for a
    one-off one)."""
    if shape is None:
        return None
    counter = itertools.count()
    return _build_group(table, shape, lambda column: bind(next(counter), column))


def _build_group(
    table: sa.Table, shape: Any, take: Callable[[sa.Column[Any]], Any]
) -> sa.ColumnElement[bool] | None:
    logic, specs, subgroups = shape
    parts = [_condition(table.c[name], op, arity, take) for name, op, arity in specs]
    for sub in subgroups:
        compiled = _build_group(table, sub, take)
        if compiled is not None:
            parts.append(compiled)
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return sa.or_(*parts) if logic == "OR" else sa.and_(*parts)


def _condition(
    column: sa.Column[Any], op: FilterOp, arity: Any, take: Callable[[sa.Column[Any]], Any]
) -> sa.ColumnElement[bool]:
    if op is FilterOp.IS_NULL:
        return column.is_(None) if arity else column.is_not(None)
    if op is FilterOp.IN:
        return column.in_([take(column) for _ in range(arity)]) if arity else sa.false()
    if arity == _NULL:
        return column.is_(None) if op is FilterOp.EQ else column.is_not(None)
    value = take(column)
    if op is FilterOp.EQ:
        return column == value
    if op is FilterOp.NE:
        return column != value
    if op is FilterOp.GT:
        return column > value
    if op is FilterOp.GTE:
        return column >= value
    if op is FilterOp.LT:
        return column < value
    if op is FilterOp.LTE:
        return column <= value
    # ``%`` and ``_`` are wildcards and a backslash escapes them, on every backend
    # (PostgreSQL's default; SQLite needs the ESCAPE clause).
    if op is FilterOp.LIKE:
        return column.like(value, escape="\\")
    if op is FilterOp.ILIKE:
        return column.ilike(value, escape="\\")
    raise ValidationError.single(column.name, f"unsupported operator {op!r}")  # pragma: no cover


def compile_filters(
    info: ModelInfo, table: sa.Table, group: FilterGroup | None
) -> sa.ColumnElement[bool] | None:
    """The WHERE clause of ``group`` with its values inlined as bound literals."""
    shape, values = filter_shape(info, group)
    return build_where(table, shape, lambda i, column: sa.literal(values[i], column.type))


class SortKey:
    """One ORDER BY key; nullable columns sort NULLs last (ASC) or first (DESC)."""

    __slots__ = ("col", "column", "desc")

    def __init__(self, col: ColumnInfo, column: sa.ColumnElement[Any], desc: bool) -> None:
        self.col = col
        self.column = column
        self.desc = desc

    def order_by(self) -> list[sa.ColumnElement[Any]]:
        keys: list[sa.ColumnElement[Any]] = []
        if self.col.nullable:
            flag = sa.case((self.column.is_(None), 1), else_=0)
            keys.append(flag.desc() if self.desc else flag.asc())
        keys.append(self.column.desc() if self.desc else self.column.asc())
        return keys

    def signature(self) -> str:
        return SortColumn(self.col, self.desc).signature()


def resolve_sort(info: ModelInfo, table: sa.Table, sort: tuple[SortSpec, ...]) -> list[SortKey]:
    """The requested keys plus the primary key as a unique tie-breaker."""
    return [SortKey(k.col, table.c[k.col.name], k.desc) for k in sort_columns(info, sort)]


def keyset_predicate(keys: list[SortKey], values: list[Any]) -> sa.ColumnElement[bool]:
    """Rows strictly after ``values`` in the order ``keys`` define (lexicographic)."""
    # Expand nullable keys into (is-null flag, value) pairs so NULLs order totally.
    expanded: list[tuple[sa.ColumnElement[Any], bool, Any]] = []
    for key, value in zip(keys, values, strict=True):
        if key.col.nullable:
            flag = sa.case((key.column.is_(None), 1), else_=0)
            expanded.append((flag, key.desc, 1 if value is None else 0))
            expanded.append((key.column, key.desc, value))
        else:
            expanded.append((key.column, key.desc, value))
    ors: list[sa.ColumnElement[bool]] = []
    equal_so_far: list[sa.ColumnElement[bool]] = []
    for expr, desc, value in expanded:
        if value is None:
            # Inside a NULL group every row ties on this key: only equality moves on.
            equal_so_far.append(expr.is_(None))
            continue
        after = expr < value if desc else expr > value
        ors.append(sa.and_(*equal_so_far, after) if equal_so_far else after)
        equal_so_far.append(expr == value)
    if not ors:
        return sa.false()
    return sa.or_(*ors)
