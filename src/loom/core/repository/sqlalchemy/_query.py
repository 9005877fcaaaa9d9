"""QuerySpec -> SQLAlchemy expressions: filters, sort order and keyset predicates."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from loom.core.errors import ValidationError
from loom.core.model import ColumnInfo, ModelInfo
from loom.core.repository._coerce import (
    FilterPath,
    coerce_filter_value,
    normalise_spec,
    relation_exists,
    resolve_path,
)
from loom.core.repository._listing import SortColumn, sort_columns
from loom.core.repository.abc.query import (
    FilterGroup,
    FilterOp,
    FilterSpec,
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
    specs: list[Any] = []
    for spec in group.filters:
        spec = normalise_spec(spec)
        col = info.column(spec.field)
        if col is None:
            path = resolve_path(info, spec.field, purpose="filter")
            if path.links:
                specs.append(_relation_shape(path, spec, values))
                continue
            col = path.column
            assert col is not None
        value = coerce_filter_value(col, spec)
        op = spec.op
        if op in (FilterOp.EXISTS, FilterOp.NOT_EXISTS):
            op = FilterOp.IS_NULL  # on a column: NOT NULL / NULL (``value`` says which)
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


# A condition through relations: ``(_REL, steps, negated, inner)``. ``steps`` are
# ``(table, local column, remote column)`` per relation walked; ``inner`` is the group
# shape the last related row must match (None: any row). Table names, not objects,
# keep the shape hashable; the statement builder looks the tables up.
_REL = "__relation__"


def _steps(link: Any) -> tuple[tuple[str, str, str], ...]:
    """The ``(table, local, remote)`` steps of one relation: a many-to-many relation
    walks its association table, then the target."""
    hop = link.through
    if hop is None:
        return ((link.target.table, link.local_column, link.remote_column),)
    return (
        (hop.table.table, link.local_column, hop.local),
        (link.target.table, hop.remote, link.remote_column),
    )


def _relation_shape(path: FilterPath, spec: FilterSpec, values: list[Any]) -> Any:
    steps = tuple(step for link in path.links for step in _steps(link))
    negated = False
    inner: Any = None
    if path.column is not None:
        # ``category.name op value``: some related row matches.
        leaf = FilterSpec(path.column.name, spec.op, spec.value)
        inner = _group_shape(path.target, FilterGroup((leaf,)), values)
    else:
        sub, negated = relation_exists(spec)
        if sub is not None:
            inner = _group_shape(path.target, sub, values)
    return (_REL, steps, negated, inner)


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
    parts = [
        _related(table, spec, take)
        if spec[0] == _REL
        else _condition(table.c[spec[0]], spec[1], spec[2], take)
        for spec in specs
    ]
    for sub in subgroups:
        compiled = _build_group(table, sub, take)
        if compiled is not None:
            parts.append(compiled)
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return sa.or_(*parts) if logic == "OR" else sa.and_(*parts)


def _related(table: Any, spec: Any, take: Callable[[sa.Column[Any]], Any]) -> Any:
    """``EXISTS (SELECT 1 FROM related WHERE related.remote = outer.local AND ...)``,
    nested once per relation walked. Every related table is aliased, so a path back to
    the same table (``parent.parent.name``) correlates to the right row."""
    _, steps, negated, inner = spec
    owner: Any = table.element if isinstance(table, sa.Alias) else table
    tables = owner.metadata.tables
    aliases = [tables[name].alias() for name, _, _ in steps]
    condition: Any = None
    if inner is not None:
        condition = _build_group(aliases[-1], inner, take)
    for i in range(len(steps) - 1, -1, -1):
        _, local, remote = steps[i]
        outer = table if i == 0 else aliases[i - 1]
        join = aliases[i].c[remote] == outer.c[local]
        where = join if condition is None else sa.and_(join, condition)
        condition = sa.exists().where(where)
    return ~condition if negated else condition


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
