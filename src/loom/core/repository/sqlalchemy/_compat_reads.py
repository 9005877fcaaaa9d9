"""The reads of the 0.2 repository API on ``RepositorySQLAlchemy``: ``get_by``,
``list_paginated``, ``exists``, plus ``session_manager``, ``entity_name`` and
``allowed_filter_fields``.

Each read reuses a statement built once per shape (the filter's column, operator and
NULL test), from the same cache as the list queries, so a lookup binds its values and
runs; on asyncpg it runs on the driver connection like the other reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from loom.core.errors import ValidationError
from loom.core.repository._listing import MISSING, coerce_id
from loom.core.repository.abc.query import (
    FilterGroup,
    FilterOp,
    FilterParams,
    FilterSpec,
    PageParams,
    PageResult,
    QuerySpec,
)
from loom.core.repository.sqlalchemy._query import filter_shape
from loom.core.repository.sqlalchemy._statements import LIMIT, OFFSET, filter_params

if TYPE_CHECKING:
    from loom.core.repository.sqlalchemy._session import SessionManager

__all__ = ["CompatReads"]


class CompatReads:
    """Mixed into ``RepositorySQLAlchemy`` (which provides ``_sql``, ``_fetch``,
    ``info``, ``database`` and ``list_with_query``)."""

    allowed_filter_fields: ClassVar[frozenset[str] | tuple[str, ...] | set[str]] = ()
    """The fields ``list_paginated`` / ``list_with_query`` may filter on (Python or
    camelCase names; the first part of a dotted path); empty allows every field."""

    _sql: Any
    _fetch: Any
    info: Any
    database: Any
    _session_manager: Any = None

    @property
    def entity_name(self) -> str:
        """The model's class name (``"Product"``), as errors and cache keys name it."""
        return str(self.info.name)

    @property
    def session_manager(self) -> SessionManager:
        """A :class:`SessionManager` on this repository's database (0.2's handle for
        custom SQL: ``self.session_manager.session()``)."""
        found = self._session_manager
        if found is None or found.database is not self.database:
            from loom.core.repository.sqlalchemy._session import SessionManager

            found = self._session_manager = SessionManager.for_database(self.database)
        return found

    # -- reads ------------------------------------------------------------------------

    async def get_by(self, field: str, value: Any, profile: str = "default") -> Any:
        """The first row (in primary-key order) whose ``field`` equals ``value``, or None.

        ``field`` may be a dotted relation path (``"category.slug"``)."""
        shape, values = filter_shape(
            self.info, FilterGroup((FilterSpec(field, FilterOp.EQ, value),))
        )
        sql = self._sql
        params = filter_params(values)
        params[LIMIT] = 1
        params[OFFSET] = 0
        rows = await self._fetch(sql.shapes.page(shape, sql.sort_keys(())), params)
        if not rows:
            self._check_profile(profile)
            return None
        return (await self._with_profile([sql.make(rows[0])], profile))[0]

    async def exists(self, obj_id: Any) -> bool:
        """Whether a row has this primary key."""
        key = coerce_id(self.info, obj_id)
        if key is MISSING:
            return False
        prepared = self._sql.shapes.exists_pk()
        return bool(await self._fetch(prepared, {"_loom_pk": key}))

    async def exists_by(self, field: str, value: Any) -> bool:
        """Whether some row's ``field`` equals ``value`` (a dotted path: some related row)."""
        shape, values = filter_shape(
            self.info, FilterGroup((FilterSpec(field, FilterOp.EQ, value),))
        )
        prepared = self._sql.shapes.exists(shape)
        return bool(await self._fetch(prepared, filter_params(values)))

    async def list_paginated(
        self,
        page_params: PageParams,
        filter_params: FilterParams | Mapping[str, Any] | None = None,
        profile: str = "default",
    ) -> PageResult[Any]:
        """One offset page in primary-key order, filtered by equality on every
        ``filter_params`` field."""
        page = page_params if page_params is not None else PageParams()
        if isinstance(filter_params, Mapping):
            filter_params = FilterParams(filters=dict(filter_params))
        group = filter_params.group() if filter_params is not None else None
        query = QuerySpec(group, (), limit=page.limit, page=page.page)
        return await self.list_with_query(query, profile)  # type: ignore[attr-defined]

    # -- helpers ----------------------------------------------------------------------

    def _check_allowed_filters(self, group: FilterGroup | None) -> None:
        """A 422 for a filter on a field outside ``allowed_filter_fields`` (when set)."""
        allowed = self.allowed_filter_fields
        if not allowed or group is None:
            return
        names = self.info.extras.get("allowed_filter_names")
        if names is None or names[0] is not allowed:
            expanded: set[str] = set()
            for name in allowed:
                expanded.add(name)
                col = self.info.column(name)
                if col is not None:
                    expanded.update((col.name, col.camel))
            names = self.info.extras["allowed_filter_names"] = (allowed, frozenset(expanded))
        pending = [group]
        while pending:
            current = pending.pop()
            for spec in current.filters:
                head = spec.field.partition(".")[0]
                if head not in names[1]:
                    raise ValidationError.single(
                        spec.field,
                        f"filtering {self.info.name} on {spec.field!r} is not allowed; "
                        f"allowed: {', '.join(sorted(allowed))}",
                    )
            pending.extend(current.groups)

    # Provided by RepositorySQLAlchemy.
    def _check_profile(self, profile: str) -> None:
        raise NotImplementedError

    async def _with_profile(self, items: list[Any], profile: str) -> list[Any]:
        raise NotImplementedError
