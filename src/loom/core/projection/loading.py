"""Loading a read profile for a page of rows, whatever stores them.

For a page, each relation or projection of the profile costs one batched fetch of
the related rows (the keys of the whole page at once, never one per row), and the
rows that come back are distributed to their parents here. Rows with nothing
related get ``None`` (a single relation, or its ``default``), ``[]`` (a list), ``0``
(a count) or ``False`` (an existence test). Counts, existence tests and joined
columns over rows a relation of the same profile already loaded are derived from
them. A many-to-many relation reads its rows joined to the association table, still
one fetch per page.

A repository adapter subclasses :class:`ProfileLoader` and says how to fetch the
related rows (:meth:`ProfileLoader.related`); it may also answer counts, existence
tests and joined columns itself (the SQL adapter aggregates in the database).
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec

from loom.core.model._info import _strip_optional
from loom.core.naming import to_camel
from loom.core.projection import LinkKey, ProjectionLink, RelationLink, resolve_profile
from loom.core.projection.loaders import CountLoader, ExistsLoader, JoinFieldsLoader

__all__ = ["ProfileLoader", "join_converter", "page_keys"]


def page_keys(items: Sequence[Any], column: str) -> list[Any]:
    """The distinct non-null values of ``column`` over the page, in first-seen order."""
    seen: dict[Any, None] = {}
    for item in items:
        value = getattr(item, column)
        if value is not None:
            seen.setdefault(value, None)
    return list(seen)


def _element_type(link: ProjectionLink) -> Any:
    inner, _ = _strip_optional(link.field.annotation)
    if link.many:
        args = [a for a in typing.get_args(inner) if a is not Ellipsis]
        return args[0] if args else Any
    return inner


def join_converter(link: ProjectionLink) -> tuple[list[str], Callable[[tuple[Any, ...]], Any]]:
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


def _joined_value(link: ProjectionLink) -> Callable[[Any], Any]:
    """``related entity -> its joined columns`` as the projection's element."""
    names, convert = join_converter(link)
    return lambda entity: convert(tuple(getattr(entity, n) for n in names))


def _one_or_many(many: bool, default: Any, per_item: list[list[Any]]) -> list[Any]:
    """Each row's related values as its field value: the list (a copy, rows sharing
    a key must not share it) or the first value, ``default`` when there is none."""
    if many:
        return [list(values) for values in per_item]
    return [values[0] if values else default for values in per_item]


def _from_lists(link: ProjectionLink, lists: list[list[Any]]) -> list[Any] | None:
    """A built-in projection's values from each row's related rows (key order)."""
    loader = link.loader
    if isinstance(loader, CountLoader):
        return [len(rows) for rows in lists]
    if isinstance(loader, ExistsLoader):
        return [bool(rows) for rows in lists]
    if isinstance(loader, JoinFieldsLoader):
        value = _joined_value(link)
        per_item = [[value(e) for e in rows] for rows in lists]
        return _one_or_many(link.many, link.field.decl.default, per_item)
    return None


class ProfileLoader:
    """The ``profile_loader`` of a repository: stateless, one instance can serve
    every repository of an adapter; the repository passed to :meth:`load` supplies
    the connection (and so the active unit of work)."""

    async def related(self, repo: Any, target: Any, column: str, keys: list[Any]) -> list[Any]:
        """The entities of ``target`` (a ``ModelInfo``) whose ``column`` is one of
        ``keys``, in primary-key order."""
        raise NotImplementedError(f"{type(self).__name__} must implement related()")

    async def through(
        self, repo: Any, link: RelationLink | ProjectionLink, keys: list[Any]
    ) -> dict[Any, list[Any]]:
        """Per owner key, the target entities a many-to-many ``link`` joins to it over
        its association table, in the target's primary-key order. This default reads
        the association rows, then their targets; an adapter may join in one query."""
        hop = link.through
        assert hop is not None and link.target is not None and link.remote_column is not None
        pairs = await self.related(repo, hop.table, hop.local, keys)
        wanted = page_keys(pairs, hop.remote)
        targets = (
            await self.related(repo, link.target, link.remote_column, wanted) if wanted else []
        )
        by_ref = {getattr(t, link.remote_column): t for t in targets}
        order = {id(t): i for i, t in enumerate(targets)}
        groups: dict[Any, list[Any]] = {}
        for pair in pairs:
            target = by_ref.get(getattr(pair, hop.remote))
            if target is not None:
                groups.setdefault(getattr(pair, hop.local), []).append(target)
        for rows in groups.values():
            rows.sort(key=lambda t: order[id(t)])
        return groups

    async def load(
        self,
        repo: Any,
        items: list[Any],
        profile: str,
        preloaded: dict[str, list[Any]] | None = None,
    ) -> list[Any]:
        """``items`` with the profile's relations and projections set (new structs).
        ``preloaded``: values the caller already has, by field name (the SQL adapter
        reads a single row's counts in the row's own SELECT)."""
        resolved = resolve_profile(repo.info, profile)
        if not items or not resolved.loads:
            return items
        loaded: dict[str, list[Any]] = dict(preloaded) if preloaded else {}
        # Each relation's rows per item, to derive projections over the same rows.
        children: dict[LinkKey, list[list[Any]]] = {}
        for rel in resolved.relations:
            if rel.field.name in loaded:
                continue
            per_item = await self._relation_rows(repo, rel, items)
            children[rel.key] = per_item
            loaded[rel.field.name] = _one_or_many(rel.many, rel.field.decl.default, per_item)
        replace = msgspec.structs.replace
        for proj in resolved.projections:
            if proj.field.name in loaded:
                continue
            derived = _derive(proj, children) if children else None
            if derived is None:
                source = items
                needs = [
                    d for d in proj.field.decl.depends_on if isinstance(d, str) and d in loaded
                ]
                if needs and proj.target is None:
                    # A custom loader sees the fields it depends on, loaded before it.
                    source = [
                        replace(item, **{n: loaded[n][i] for n in needs})
                        for i, item in enumerate(items)
                    ]
                derived = await self._projection(repo, proj, source)
            loaded[proj.field.name] = derived
        return [
            replace(item, **{name: values[i] for name, values in loaded.items()})
            for i, item in enumerate(items)
        ]

    async def _relation_rows(
        self, repo: Any, link: RelationLink, items: list[Any]
    ) -> list[list[Any]]:
        """Each item's related entities (a list, also for a single relation)."""
        keys = page_keys(items, link.local_column)
        if not keys:
            groups: dict[Any, list[Any]] = {}
        elif link.through is not None:
            groups = await self.through(repo, link, keys)
        else:
            groups = await self._grouped(repo, link.target, link.remote_column, keys)
        local = link.local_column
        return [groups.get(getattr(item, local), []) for item in items]

    async def _projection(self, repo: Any, link: ProjectionLink, items: list[Any]) -> list[Any]:
        loader = link.loader
        default = link.field.decl.default
        if link.target is None or not isinstance(
            loader, (CountLoader, ExistsLoader, JoinFieldsLoader)
        ):
            if callable(getattr(loader, "load", None)):
                values = list(await loader.load(repo, items, link.field))
            else:
                values = await _duck_typed(repo, loader, items, link)
            if len(values) != len(items):
                raise ValueError(
                    f"{type(loader).__name__} returned {len(values)} values for {len(items)} rows"
                )
            return [default if v is None else v for v in values]
        assert link.local_column is not None and link.remote_column is not None
        keys = page_keys(items, link.local_column)
        local = link.local_column
        if isinstance(loader, CountLoader):
            found = await self.count(repo, link, keys) if keys else {}
            return [found.get(getattr(item, local), 0) for item in items]
        if isinstance(loader, ExistsLoader):
            present = await self.exists(repo, link, keys) if keys else set()
            return [getattr(item, local) in present for item in items]
        groups = await self.join(repo, link, keys) if keys else {}
        per_item = [groups.get(getattr(item, local), []) for item in items]
        return _one_or_many(link.many, default, per_item)

    async def _grouped(
        self, repo: Any, target: Any, column: str, keys: list[Any]
    ) -> dict[Any, list[Any]]:
        """The related entities by their ``column`` value, in primary-key order."""
        groups: dict[Any, list[Any]] = {}
        for entity in await self.related(repo, target, column, keys):
            groups.setdefault(getattr(entity, column), []).append(entity)
        return groups

    # -- built-in projections from the related rows (adapters may aggregate instead) --

    async def _link_groups(
        self, repo: Any, link: ProjectionLink, keys: list[Any]
    ) -> dict[Any, list[Any]]:
        if link.through is not None:
            return await self.through(repo, link, keys)
        assert link.remote_column is not None
        return await self._grouped(repo, link.target, link.remote_column, keys)

    async def count(self, repo: Any, link: ProjectionLink, keys: list[Any]) -> dict[Any, int]:
        """Related rows per key (keys without any may be absent)."""
        groups = await self._link_groups(repo, link, keys)
        return {key: len(rows) for key, rows in groups.items()}

    async def exists(self, repo: Any, link: ProjectionLink, keys: list[Any]) -> set[Any]:
        """The keys with at least one related row."""
        return set(await self._link_groups(repo, link, keys))

    async def join(self, repo: Any, link: ProjectionLink, keys: list[Any]) -> dict[Any, list[Any]]:
        """Per key, the joined columns of its related rows in primary-key order."""
        value = _joined_value(link)
        groups = await self._link_groups(repo, link, keys)
        return {key: [value(e) for e in rows] for key, rows in groups.items()}


async def _duck_typed(repo: Any, loader: Any, items: list[Any], link: ProjectionLink) -> list[Any]:
    """A loader written for 0.2, without :meth:`ProjectionLoader.load`:
    ``async load_many(session, ids)`` (a mapping ``id -> value``, or values in the
    order of ``ids``) where the repository has a SQLAlchemy session to give, else
    ``load_from_object(obj, ctx)`` per row, ``ctx`` a dict with the ``repository``,
    the ``field`` name and the page's ``items``."""
    many = getattr(loader, "load_many", None)
    manager = getattr(repo, "session_manager", None)
    one = getattr(loader, "load_from_object", None)
    if callable(many) and (manager is not None or not callable(one)):
        if manager is None:
            raise TypeError(
                f"{type(loader).__name__}.load_many needs a SQLAlchemy session, which "
                f"{type(repo).__name__} does not have; give the loader load_from_object"
            )
        pk = repo.info.pk.name
        ids = [getattr(item, pk) for item in items]
        async with manager.session() as session:
            found = await many(session, ids)
        if isinstance(found, Mapping):
            return [found.get(key) for key in ids]
        return list(found)
    assert callable(one)
    ctx = {"repository": repo, "field": link.field.name, "items": items}
    return [one(item, ctx) for item in items]


def _derive(link: ProjectionLink, children: dict[LinkKey, list[list[Any]]]) -> Any:
    """A built-in projection computed from rows a relation of the page already loaded."""
    key = link.key
    lists = children.get(key) if key is not None else None
    if lists is None:
        return None
    # The relation's rows are in the target's key order, as a join's are.
    return _from_lists(link, lists)
