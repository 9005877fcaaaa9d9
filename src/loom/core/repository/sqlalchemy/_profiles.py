"""Loading read profiles on SQLAlchemy Core: one batched query per relation per page.

:class:`~loom.core.projection.loading.ProfileLoader` distributes the rows; this adapter
fetches them, and answers counts, existence tests and joined columns with aggregate
queries instead of fetching whole rows. Statements are built once per model, profile
field and dialect: on PostgreSQL the page's keys are one array parameter
(``= ANY($1)``), so the statement is the same for any page and runs on the asyncpg
connection like the repository's own reads; elsewhere an expanding ``IN`` parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from loom.core.projection import ProjectionLink
from loom.core.projection.loading import ProfileLoader, join_converter
from loom.core.repository.sqlalchemy._statements import Prepared

__all__ = ["SQLProfileLoader", "default_profile_loader"]

_KEYS = "_loom_keys"


def _target_plan(info: Any) -> Any:
    # Imported here: the repository module imports this one.
    from loom.core.repository.sqlalchemy._repository import _plan_for

    return _plan_for(info)


def _in_keys(column: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(_KEYS, type_=postgresql.ARRAY(column.type)))
    return column.in_(sa.bindparam(_KEYS, expanding=True))


class SQLProfileLoader(ProfileLoader):
    """The ``profile_loader`` of :class:`RepositorySQLAlchemy`.

    Stateless apart from the statements it compiles, so one instance serves every
    repository; the repository passed to ``load`` supplies the connection (and so
    the active unit of work) and error translation.
    """

    def __init__(self) -> None:
        self._statements: dict[tuple[str, str, str], Prepared] = {}

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

    async def related(self, repo: Any, target: Any, column: str, keys: list[Any]) -> list[Any]:
        plan = _target_plan(target)

        def build(dialect: str) -> Any:
            return plan.select.where(_in_keys(plan.table.c[column], dialect)).order_by(plan.pk)

        rows = await self._rows(repo, plan, f"rows:{target.table}.{column}", build, keys)
        make = plan.make
        return [make(row) for row in rows]

    async def count(self, repo: Any, link: ProjectionLink, keys: list[Any]) -> dict[Any, int]:
        target = _target_plan(link.target)

        def build(dialect: str) -> Any:
            col = target.table.c[link.remote_column]
            return sa.select(col, sa.func.count()).where(_in_keys(col, dialect)).group_by(col)

        rows = await self._rows(repo, target, f"count:{link.field.name}", build, keys)
        return {row[0]: int(row[1]) for row in rows}

    async def exists(self, repo: Any, link: ProjectionLink, keys: list[Any]) -> set[Any]:
        target = _target_plan(link.target)

        def build(dialect: str) -> Any:
            col = target.table.c[link.remote_column]
            return sa.select(col).where(_in_keys(col, dialect)).distinct()

        rows = await self._rows(repo, target, f"exists:{link.field.name}", build, keys)
        return {row[0] for row in rows}

    async def join(self, repo: Any, link: ProjectionLink, keys: list[Any]) -> dict[Any, list[Any]]:
        target = _target_plan(link.target)
        names, convert = join_converter(link)

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


_DEFAULT = SQLProfileLoader()


def default_profile_loader() -> SQLProfileLoader:
    """The loader every SQLAlchemy repository uses unless given another one."""
    return _DEFAULT
