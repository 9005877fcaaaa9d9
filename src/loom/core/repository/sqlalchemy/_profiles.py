"""Loading read profiles on SQLAlchemy Core: one batched query per relation per page.

:class:`~loom.core.projection.loading.ProfileLoader` distributes the rows; this adapter
fetches them (the related model's ``rows_by`` statement, as ``list_by`` reads; a
many-to-many relation joins the association table in the same statement), and
answers counts, existence tests and joined columns with aggregate queries instead of
fetching whole rows. The statements live with the related model's other read
statements (``_statements.Shapes``): on PostgreSQL the page's keys are one array
parameter (``= ANY($1)``), so a statement is the same for any page and runs on the
asyncpg connection like the repository's own reads.

A single row's counts and existence tests need no statement of their own: they ride
in the row's SELECT as scalar subqueries (:func:`single_row_read`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import sqlalchemy as sa

from loom.core.model import ModelInfo
from loom.core.projection import (
    LinkKey,
    ProjectionLink,
    RelationLink,
    ResolvedProfile,
    resolve_profile,
)
from loom.core.projection.loaders import CountLoader, ExistsLoader
from loom.core.projection.loading import ProfileLoader, join_converter
from loom.core.repository.sqlalchemy._model_sql import ModelSQL, model_sql
from loom.core.repository.sqlalchemy._statements import KEYS, Hop, Prepared, Shapes
from loom.core.repository.sqlalchemy._table import table_for

__all__ = ["ProfileRead", "SQLProfileLoader", "default_profile_loader", "single_row_read"]


_Pick = Callable[[Shapes, str, str, Hop | None], Prepared]
_HOPS: dict[LinkKey, Hop] = {}


def _hop(link: RelationLink | ProjectionLink) -> Hop | None:
    """The association table of a many-to-many ``link`` as a statement needs it."""
    through = link.through
    if through is None:
        return None
    key = link.key
    assert key is not None and link.remote_column is not None
    found = _HOPS.get(key)
    if found is None:
        table = table_for(through.table.model)
        plain = model_sql(through.table).simple_types
        found = Hop(table, through.local, through.remote, link.remote_column, plain)
        _HOPS[key] = found
    return found


class SQLProfileLoader(ProfileLoader):
    """The ``profile_loader`` of :class:`RepositorySQLAlchemy`: stateless, one
    instance serves every repository; the repository passed to ``load`` supplies the
    connection (and so the active unit of work) and error translation."""

    async def related(self, repo: Any, target: Any, column: str, keys: list[Any]) -> list[Any]:
        return await repo._rows_by(model_sql(target), column, keys)

    async def through(
        self, repo: Any, link: RelationLink | ProjectionLink, keys: list[Any]
    ) -> dict[Any, list[Any]]:
        hop = _hop(link)
        assert hop is not None and link.through is not None and link.target is not None
        target = model_sql(link.target)
        prepared = target.shapes.rows_through(hop, repo.database.dialect)
        rows = await repo._fetch(prepared, {KEYS: keys})
        make = target.make
        owner = len(target.names)  # the owner's key follows the target's columns
        groups: dict[Any, list[Any]] = {}
        for row in rows:
            groups.setdefault(row[owner], []).append(make(row))
        return groups

    async def _aggregate(
        self, repo: Any, link: ProjectionLink, keys: list[Any], pick: _Pick
    ) -> Any:
        """The rows of the related model's statement ``pick(shapes, column, dialect,
        hop)`` over ``link``'s column, for the page's keys."""
        assert link.target is not None and link.remote_column is not None
        target = model_sql(link.target)
        hop = _hop(link)
        prepared = pick(target.shapes, link.remote_column, repo.database.dialect, hop)
        return await repo._fetch(prepared, {KEYS: keys})

    async def count(self, repo: Any, link: ProjectionLink, keys: list[Any]) -> dict[Any, int]:
        rows = await self._aggregate(
            repo,
            link,
            keys,
            lambda shapes, column, dialect, hop: shapes.grouped(
                column, dialect, count=True, hop=hop
            ),
        )
        return {row[0]: int(row[1]) for row in rows}

    async def exists(self, repo: Any, link: ProjectionLink, keys: list[Any]) -> set[Any]:
        rows = await self._aggregate(
            repo,
            link,
            keys,
            lambda shapes, column, dialect, hop: shapes.grouped(column, dialect, hop=hop),
        )
        return {row[0] for row in rows}

    async def join(self, repo: Any, link: ProjectionLink, keys: list[Any]) -> dict[Any, list[Any]]:
        names, convert = join_converter(link)
        rows = await self._aggregate(
            repo,
            link,
            keys,
            lambda shapes, column, dialect, hop: shapes.joined(column, tuple(names), dialect, hop),
        )
        groups: dict[Any, list[Any]] = {}
        for row in rows:
            groups.setdefault(row[0], []).append(convert(tuple(row[1:])))
        return groups


_DEFAULT = SQLProfileLoader()


def default_profile_loader() -> SQLProfileLoader:
    """The loader every SQLAlchemy repository uses unless given another one."""
    return _DEFAULT


class ProfileRead(NamedTuple):
    """How a repository reads a model with one profile, resolved once per profile."""

    resolved: ResolvedProfile
    loads: bool
    """The profile loads anything besides the row."""
    get: Prepared | None
    """The row by primary key with the profile's counts and existence tests as
    extra columns; None when the profile has none (the plain get serves)."""
    scalars: tuple[tuple[str, bool], ...]
    """Per extra column: the projection's name and whether it is an existence test."""
    only_scalars: bool
    """The extra columns are everything the profile loads."""


def _subquery(owner: sa.Table, link: ProjectionLink, exists: bool) -> Any:
    """``link``'s count or existence test for the enclosing row of ``owner``."""
    assert link.target is not None and link.remote_column is not None
    assert link.local_column is not None
    # Aliased: the related table may be the owner's own (a self-reference).
    target = table_for(link.target.model).alias()
    if link.through is None:
        source: Any = target
        where = target.c[link.remote_column] == owner.c[link.local_column]
    else:
        pairs = table_for(link.through.table.model).alias()
        source = pairs.join(target, target.c[link.remote_column] == pairs.c[link.through.remote])
        where = pairs.c[link.through.local] == owner.c[link.local_column]
    if exists:
        return sa.select(sa.literal_column("1")).select_from(source).where(where).exists()
    return sa.select(sa.func.count()).select_from(source).where(where).scalar_subquery()


def single_row_read(info: ModelInfo, profile: str, sql: ModelSQL) -> ProfileRead:
    """The :class:`ProfileRead` of ``profile``. The profile's counts and existence
    tests (those no relation of the profile loads the rows of anyway) are added to the
    model's row SELECT by primary key as scalar subqueries, so a single row costs no
    extra round trip for them."""
    owner = sql.table
    resolved = resolve_profile(info, profile)
    extra: list[Any] = []
    scalars: list[tuple[str, bool]] = []
    for link in resolved.projections:
        loader = link.loader
        if not isinstance(loader, (CountLoader, ExistsLoader)) or link.target is None:
            continue
        if resolved.derivable(link):
            continue
        exists = isinstance(loader, ExistsLoader)
        extra.append(_subquery(owner, link, exists).label(f"_loom_p{len(extra)}"))
        scalars.append((link.field.name, exists))
    if not extra:
        return ProfileRead(resolved, resolved.loads, None, (), False)
    only = len(scalars) == len(resolved.projections) and not resolved.relations
    get = Prepared(sql.get.statement.add_columns(*extra), plain=sql.simple_types)
    return ProfileRead(resolved, True, get, tuple(scalars), only)
