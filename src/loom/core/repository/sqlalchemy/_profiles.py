"""Loading read profiles on SQLAlchemy Core: one batched query per relation per page.

For a page of rows, each relation or projection of the requested profile costs
exactly one statement, whatever the page size (no N+1): the keys of the whole page go
into one ``IN`` list, and the rows that come back are distributed to their parents in
Python. Rows with nothing related get ``None`` (a single relation), ``[]`` (a list),
``0`` (a count) or ``False`` (an existence test). Statements are built once per model
and profile: on PostgreSQL the keys are one array parameter (``= ANY($1)``), so the
statement is the same for any page and runs on the asyncpg connection like the
repository's own reads; elsewhere an expanding ``IN`` parameter.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from loom.core.model._info import _strip_optional
from loom.core.naming import to_camel
from loom.core.projection import ProjectionLink, RelationLink, profile_plan
from loom.core.projection.loaders import CountLoader, ExistsLoader, JoinFieldsLoader
from loom.core.repository.sqlalchemy._statements import Prepared

__all__ = ["SQLProfileLoader", "default_profile_loader"]

_KEYS = "_loom_keys"


def _target_plan(info: Any) -> Any:
    # Imported here: the repository module imports this one.
    from loom.core.repository.sqlalchemy._repository import _plan_for

    return _plan_for(info)


def _keys(items: Sequence[Any], column: str) -> list[Any]:
    """The distinct non-null values of ``column`` over the page, in first-seen order."""
    seen: dict[Any, None] = {}
    for item in items:
        value = getattr(item, column)
        if value is not None:
            seen.setdefault(value, None)
    return list(seen)


def _in_keys(column: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(_KEYS, type_=postgresql.ARRAY(column.type)))
    return column.in_(sa.bindparam(_KEYS, expanding=True))


def _element_type(link: ProjectionLink) -> Any:
    inner, _ = _strip_optional(link.field.annotation)
    if link.many:
        args = [a for a in typing.get_args(inner) if a is not Ellipsis]
        return args[0] if args else Any
    return inner


class SQLProfileLoader:
    """The ``profile_loader`` of :class:`RepositorySQLAlchemy`.

    Stateless apart from the statements it compiles, so one instance serves every
    repository; the repository passed to :meth:`load` supplies the connection (and so
    the active unit of work) and error translation.
    """

    def __init__(self) -> None:
        self._statements: dict[tuple[str, str, str], Prepared] = {}

    async def load(self, repo: Any, items: list[Any], profile: str) -> list[Any]:
        """``items`` with the profile's relations and projections set (new structs)."""
        plan = profile_plan(repo.info, profile)
        if not items or not (plan.relations or plan.projections):
            return items
        loaded: dict[str, list[Any]] = {}
        # Lists already loaded by a one-to-many relation, by (table, remote, local):
        # a count, existence test or joined columns over the same rows is derived from
        # them instead of costing another statement.
        children: dict[tuple[str, str, str], list[list[Any]]] = {}
        for rel in plan.relations:
            values = await self._relation(repo, rel, items)
            loaded[rel.field.name] = values
            if rel.many:
                children[(rel.target.table, rel.remote_column, rel.local_column)] = values
        for proj in plan.projections:
            derived = _derive(proj, children) if children else None
            if derived is None:
                derived = await self._projection(repo, proj, items)
            loaded[proj.field.name] = derived
        replace = msgspec.structs.replace
        return [
            replace(item, **{name: values[i] for name, values in loaded.items()})
            for i, item in enumerate(items)
        ]

    # -- statements -------------------------------------------------------------------

    async def _rows(
        self, repo: Any, target: Any, name: str, build: Callable[[str], Any], keys: list[Any]
    ) -> Any:
        """The rows of the statement ``build(dialect)`` for the page's ``keys``, built
        once per model, name and dialect."""
        dialect = repo.database.dialect
        key = (repo.info.table, name, dialect)
        prepared = self._statements.get(key)
        if prepared is None:
            prepared = self._statements[key] = Prepared(build(dialect))
        return await repo._fetch(prepared, {_KEYS: keys}, plain=target.simple_types)

    # -- relations --------------------------------------------------------------------

    async def _relation(self, repo: Any, link: RelationLink, items: list[Any]) -> list[Any]:
        keys = _keys(items, link.local_column)
        empty: Any = [] if link.many else None
        if not keys:
            return [[] if link.many else None for _ in items]
        target = _target_plan(link.target)
        remote = link.remote_column

        def build(dialect: str) -> Any:
            col = target.table.c[remote]
            return target.select.where(_in_keys(col, dialect)).order_by(target.pk)

        rows = await self._rows(repo, target, f"rel:{link.field.name}", build, keys)
        make = target.make
        grouped: dict[Any, Any] = {}
        for row in rows:
            entity = make(row)
            value = getattr(entity, remote)
            if link.many:
                grouped.setdefault(value, []).append(entity)
            else:
                grouped.setdefault(value, entity)
        local = link.local_column
        if link.many:
            return [list(grouped.get(getattr(item, local), empty)) for item in items]
        return [grouped.get(getattr(item, local)) for item in items]

    # -- projections ------------------------------------------------------------------

    async def _projection(self, repo: Any, link: ProjectionLink, items: list[Any]) -> list[Any]:
        loader = link.loader
        default = link.field.decl.default
        if link.target is None:
            values = list(await loader.load(repo, items, link.field))
            if len(values) != len(items):
                raise ValueError(
                    f"{type(loader).__name__} returned {len(values)} values for {len(items)} rows"
                )
            return [default if v is None else v for v in values]
        assert link.local_column is not None and link.remote_column is not None
        keys = _keys(items, link.local_column)
        local = link.local_column
        if isinstance(loader, CountLoader):
            found = await self._count(repo, link, keys) if keys else {}
            return [found.get(getattr(item, local), 0) for item in items]
        if isinstance(loader, ExistsLoader):
            present = await self._exists(repo, link, keys) if keys else set()
            return [getattr(item, local) in present for item in items]
        if isinstance(loader, JoinFieldsLoader):
            groups = await self._join(repo, link, keys) if keys else {}
            if link.many:
                return [list(groups.get(getattr(item, local), ())) for item in items]
            firsts = [groups.get(getattr(item, local)) for item in items]
            return [g[0] if g else default for g in firsts]
        values = list(await loader.load(repo, items, link.field))
        return [default if v is None else v for v in values]

    async def _count(self, repo: Any, link: ProjectionLink, keys: list[Any]) -> dict[Any, int]:
        target = _target_plan(link.target)

        def build(dialect: str) -> Any:
            col = target.table.c[link.remote_column]
            return sa.select(col, sa.func.count()).where(_in_keys(col, dialect)).group_by(col)

        rows = await self._rows(repo, target, f"count:{link.field.name}", build, keys)
        return {row[0]: int(row[1]) for row in rows}

    async def _exists(self, repo: Any, link: ProjectionLink, keys: list[Any]) -> set[Any]:
        target = _target_plan(link.target)

        def build(dialect: str) -> Any:
            col = target.table.c[link.remote_column]
            return sa.select(col).where(_in_keys(col, dialect)).distinct()

        rows = await self._rows(repo, target, f"exists:{link.field.name}", build, keys)
        return {row[0] for row in rows}

    async def _join(self, repo: Any, link: ProjectionLink, keys: list[Any]) -> dict[Any, list[Any]]:
        target = _target_plan(link.target)
        names, convert = _join_converter(link)

        def build(dialect: str) -> Any:
            col = target.table.c[link.remote_column]
            return (
                sa.select(col, *(target.table.c[n] for n in names))
                .where(_in_keys(col, dialect))
                .order_by(col, target.pk)
            )

        rows = await self._rows(repo, target, f"join:{link.field.name}", build, keys)
        groups: dict[Any, list[Any]] = {}
        for row in rows:
            groups.setdefault(row[0], []).append(convert(tuple(row[1:])))
        return groups


def _join_converter(link: ProjectionLink) -> tuple[list[str], Any]:
    """The target columns a ``JoinFieldsLoader`` reads and ``values -> field value``."""
    loader: JoinFieldsLoader = link.loader
    assert link.target is not None
    columns = loader.value_columns
    single = isinstance(columns, str)
    wanted: tuple[str, ...] = (columns,) if isinstance(columns, str) else columns
    names = [link.target.by_wire_name[n] for n in wanted]
    element = _element_type(link)
    as_struct = isinstance(element, type) and issubclass(element, msgspec.Struct)
    if as_struct:
        encoded = {f.name: f.encode_name for f in msgspec.structs.fields(element)}
        wire = [encoded.get(n, n) for n in names]
    else:
        wire = [to_camel(n) for n in names]

    def convert(values: tuple[Any, ...]) -> Any:
        if single:
            return values[0]
        value: Any = dict(zip(wire, values, strict=True))
        return msgspec.convert(value, element) if as_struct else value

    return names, convert


def _derive(link: ProjectionLink, children: dict[tuple[str, str, str], list[list[Any]]]) -> Any:
    """A built-in projection computed from rows a relation of the page already loaded."""
    if link.target is None or link.remote_column is None or link.local_column is None:
        return None
    lists = children.get((link.target.table, link.remote_column, link.local_column))
    if lists is None:
        return None
    loader = link.loader
    if isinstance(loader, CountLoader):
        return [len(rows) for rows in lists]
    if isinstance(loader, ExistsLoader):
        return [bool(rows) for rows in lists]
    if isinstance(loader, JoinFieldsLoader):
        names, convert = _join_converter(link)
        # The relation's rows are ordered by the target's key, as the join query's are.
        values = [[convert(tuple(getattr(e, n) for n in names)) for e in rows] for rows in lists]
        if link.many:
            return values
        default = link.field.decl.default
        return [v[0] if v else default for v in values]
    return None


_DEFAULT = SQLProfileLoader()


def default_profile_loader() -> SQLProfileLoader:
    """The loader every SQLAlchemy repository uses unless given another one."""
    return _DEFAULT
