"""Loading read profiles on SQLAlchemy Core: one batched query per relation per page.

:class:`~loom.core.projection.loading.ProfileLoader` distributes the rows; this adapter
fetches them (the related model's ``rows_by`` statement, as ``list_by`` reads), and
answers counts, existence tests and joined columns with aggregate queries instead of
fetching whole rows. The statements live with the related model's other read
statements (``_statements.Shapes``): on PostgreSQL the page's keys are one array
parameter (``= ANY($1)``), so a statement is the same for any page and runs on the
asyncpg connection like the repository's own reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loom.core.projection import ProjectionLink
from loom.core.projection.loading import ProfileLoader, join_converter
from loom.core.repository.sqlalchemy._statements import KEYS, Prepared, Shapes

__all__ = ["SQLProfileLoader", "default_profile_loader"]


_Pick = Callable[[Shapes, str, str], Prepared]


def _target_plan(info: Any) -> Any:
    # Imported here: the repository module imports this one.
    from loom.core.repository.sqlalchemy._repository import _plan_for

    return _plan_for(info)


class SQLProfileLoader(ProfileLoader):
    """The ``profile_loader`` of :class:`RepositorySQLAlchemy`: stateless, one
    instance serves every repository; the repository passed to ``load`` supplies the
    connection (and so the active unit of work) and error translation."""

    async def related(self, repo: Any, target: Any, column: str, keys: list[Any]) -> list[Any]:
        return await repo._rows_by(_target_plan(target), column, keys)

    async def _aggregate(
        self, repo: Any, link: ProjectionLink, keys: list[Any], pick: _Pick
    ) -> Any:
        """The rows of the related model's statement ``pick(shapes, column, dialect)``
        over ``link``'s column, for the page's keys."""
        target = _target_plan(link.target)
        assert link.remote_column is not None
        prepared = pick(target.shapes, link.remote_column, repo.database.dialect)
        return await repo._fetch(prepared, {KEYS: keys}, plain=target.simple_types)

    async def count(self, repo: Any, link: ProjectionLink, keys: list[Any]) -> dict[Any, int]:
        rows = await self._aggregate(
            repo,
            link,
            keys,
            lambda shapes, column, dialect: shapes.grouped(column, dialect, count=True),
        )
        return {row[0]: int(row[1]) for row in rows}

    async def exists(self, repo: Any, link: ProjectionLink, keys: list[Any]) -> set[Any]:
        rows = await self._aggregate(
            repo, link, keys, lambda shapes, column, dialect: shapes.grouped(column, dialect)
        )
        return {row[0] for row in rows}

    async def join(self, repo: Any, link: ProjectionLink, keys: list[Any]) -> dict[Any, list[Any]]:
        names, convert = join_converter(link)
        rows = await self._aggregate(
            repo,
            link,
            keys,
            lambda shapes, column, dialect: shapes.joined(column, tuple(names), dialect),
        )
        groups: dict[Any, list[Any]] = {}
        for row in rows:
            groups.setdefault(row[0], []).append(convert(tuple(row[1:])))
        return groups


_DEFAULT = SQLProfileLoader()


def default_profile_loader() -> SQLProfileLoader:
    """The loader every SQLAlchemy repository uses unless given another one."""
    return _DEFAULT
