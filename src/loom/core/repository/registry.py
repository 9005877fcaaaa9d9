"""Which repository class serves which model, and under which contracts.

``@repository_for`` (in the SQLAlchemy adapter) records custom repositories here;
the application container reads it when it builds the repositories at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["RepositoryRegistration", "register_repository", "registered_repositories"]


@dataclass(frozen=True, slots=True)
class RepositoryRegistration:
    model: type
    repository: type
    contract: Any | None


_REGISTRY: dict[type, RepositoryRegistration] = {}


def register_repository(model: type, repository: type, contract: Any | None = None) -> None:
    existing = _REGISTRY.get(model)
    if existing is not None and existing.repository.__qualname__ != repository.__qualname__:
        raise TypeError(
            f"{model.__name__} already has repository {existing.repository.__qualname__}; "
            f"cannot also register {repository.__qualname__}"
        )
    _REGISTRY[model] = RepositoryRegistration(model, repository, contract)


def registered_repositories() -> dict[type, RepositoryRegistration]:
    return dict(_REGISTRY)
