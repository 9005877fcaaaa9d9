"""QuerySpec -> SQLAlchemy expressions: filters, sort order and keyset predicates."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from loom.core.errors import ValidationError
from loom.core.model import ColumnInfo, ModelInfo
from loom.core.repository._coerce import coerce_filter_value, normalise_spec, resolve_column
from loom.core.repository._listing import SortColumn, sort_columns
from loom.core.repository.abc.query import (
    FilterGroup,
    FilterOp,
    FilterSpec,
    SortSpec,
)

__all__ = ["SortKey", "compile_filters", "keyset_predicate", "resolve_sort"]


def _compile_spec(info: ModelInfo, table: sa.Table, spec: FilterSpec) -> sa.ColumnElement[bool]:
    spec = normalise_spec(spec)
    col = resolve_column(info, spec.field, purpose="filter")
    column = table.c[col.name]
    value = coerce_filter_value(col, spec)
    op = spec.op
    if op is FilterOp.EQ:
        return column.is_(None) if value is None else column == value
    if op is FilterOp.NE:
        return column.is_not(None) if value is None else column != value
    if op is FilterOp.GT:
        return column > value
    if op is FilterOp.GTE:
        return column >= value
    if op is FilterOp.LT:
        return column < value
    if op is FilterOp.LTE:
        return column <= value
    if op is FilterOp.IN:
        return column.in_(value) if value else sa.false()
    # ``%`` and ``_`` are wildcards and a backslash escapes them, on every backend
    # (PostgreSQL's default; SQLite needs the ESCAPE clause).
    if op is FilterOp.LIKE:
        return column.like(value, escape="\\")
    if op is FilterOp.ILIKE:
        return column.ilike(value, escape="\\")
    if op is FilterOp.IS_NULL:
        return column.is_(None) if value else column.is_not(None)
    raise ValidationError.single(spec.field, f"unsupported operator {op!r}")


def compile_filters(
    info: ModelInfo, table: sa.Table, group: FilterGroup | None
) -> sa.ColumnElement[bool] | None:
    if group is None:
        return None
    parts: list[sa.ColumnElement[bool]] = [_compile_spec(info, table, f) for f in group.filters]
    for sub in group.groups:
        compiled = compile_filters(info, table, sub)
        if compiled is not None:
            parts.append(compiled)
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return sa.or_(*parts) if group.logic.upper() == "OR" else sa.and_(*parts)


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
