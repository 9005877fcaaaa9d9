"""``build_repository_harness``: seed a real database through the repositories.

::

    harness = build_repository_harness(
        session_manager=sm,  # a SessionManager or a loom Database
        models={"users": User, "orders": Order},
        load_order=("users", "orders"),
    )
    await harness.load({"orders": [Order(...)], "users": [User(...)]})
    assert await harness.orders.repository.count() == 1

Rows go in through each model's repository (so they are validated, defaulted and
written exactly as the application writes them), parents before children when
``load_order`` says so. Tables must exist (``create_all`` or migrations).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

__all__ = [
    "RepositoryIntegrationHarness",
    "RepositorySlot",
    "ScenarioDict",
    "build_repository_harness",
]

ScenarioDict = dict[str, list[msgspec.Struct]]
"""Rows to create, by the names given in ``models`` (structs or dicts)."""


class RepositorySlot:
    """One named model of the harness: ``.model`` and its ``.repository``."""

    __slots__ = ("model", "name", "repository")

    def __init__(self, name: str, model: type, repository: Any) -> None:
        self.name = name
        self.model = model
        self.repository = repository

    def __repr__(self) -> str:
        return f"RepositorySlot({self.name!r}, {self.model.__name__})"


class RepositoryIntegrationHarness:
    """The repositories of a scenario's models, reachable as ``harness.<name>``."""

    def __init__(
        self,
        session_manager: Any,
        slots: Mapping[str, RepositorySlot],
        load_order: Sequence[str] = (),
    ) -> None:
        self.session_manager = session_manager
        self.slots: dict[str, RepositorySlot] = dict(slots)
        unknown = [name for name in load_order if name not in self.slots]
        if unknown:
            raise ValueError(
                f"build_repository_harness: load_order names {unknown}, which are not in "
                f"models (known: {sorted(self.slots)})"
            )
        self.load_order: tuple[str, ...] = tuple(load_order)

    def __getattr__(self, name: str) -> RepositorySlot:
        slots = self.__dict__.get("slots") or {}
        try:
            return slots[name]
        except KeyError:
            raise AttributeError(
                f"repository harness has no model named {name!r} (known: {sorted(slots)})"
            ) from None

    def __getitem__(self, name: str) -> RepositorySlot:
        return self.slots[name]

    async def load(self, scenario: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
        """Create ``scenario``'s rows: the ``load_order`` names first, in that order, then
        the others as given. Returns the created entities by name (ids filled in)."""
        unknown = [name for name in scenario if name not in self.slots]
        if unknown:
            raise KeyError(
                f"scenario names {unknown}, which are not in the harness's models "
                f"(known: {sorted(self.slots)})"
            )
        names = [n for n in self.load_order if n in scenario]
        names += [n for n in scenario if n not in names]
        created: dict[str, list[Any]] = {}
        for name in names:
            repository = self.slots[name].repository
            created[name] = [await repository.create(row) for row in scenario[name]]
        return created


def _database(session_manager: Any) -> Any:
    """The Loom ``Database`` behind a 0.2 ``SessionManager`` (or the Database itself)."""
    from loom.core.repository.sqlalchemy import Database

    if isinstance(session_manager, Database):
        return session_manager
    database = getattr(session_manager, "database", None)
    if isinstance(database, Database):
        return database
    return session_manager


def _build(factory: Any, session_manager: Any, model: type) -> Any:
    """A repository instance from a class (0.2: ``cls(session_manager, model)``)."""
    if not isinstance(factory, type):
        return factory  # already an instance
    try:
        return factory(session_manager, model)
    except TypeError:
        return factory(_database(session_manager), model)


def build_repository_harness(
    *,
    session_manager: Any,
    models: Mapping[str, type],
    repositories: Mapping[str, Any] | None = None,
    load_order: Sequence[str] = (),
) -> RepositoryIntegrationHarness:
    """A harness whose ``<name>.repository`` writes to ``session_manager``'s database.

    ``repositories`` gives a repository class (built with the session manager and the
    model) or instance for some names; the others get the model's registered
    repository (``@repository_for``) or a plain ``RepositorySQLAlchemy``.
    """
    from loom.core.repository.registry import registered_repositories
    from loom.core.repository.sqlalchemy import RepositorySQLAlchemy

    given = dict(repositories or {})
    unknown = [name for name in given if name not in models]
    if unknown:
        raise ValueError(
            f"build_repository_harness: repositories names {unknown}, which are not in models"
        )
    registry = registered_repositories()
    slots: dict[str, RepositorySlot] = {}
    for name, model in models.items():
        factory = given.get(name)
        if factory is None:
            registration = registry.get(model)
            factory = registration.repository if registration is not None else RepositorySQLAlchemy
        slots[name] = RepositorySlot(name, model, _build(factory, session_manager, model))
    return RepositoryIntegrationHarness(session_manager, slots, load_order)
