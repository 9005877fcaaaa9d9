"""What a committed write changed, for whoever keeps derived state (caches, search indexes)."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["MutationEvent"]


class MutationEvent(msgspec.Struct, frozen=True):
    """One committed write: ``op`` (``"create"``, ``"update"``, ``"delete"``) on the rows
    ``ids`` of ``entity``, the columns it changed and free-form invalidation ``tags``."""

    entity: str
    op: str
    ids: tuple[Any, ...]
    changed_fields: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        # Callers pass lists and sets; the event is frozen and hashable either way.
        if not isinstance(self.ids, tuple):
            msgspec.structs.force_setattr(self, "ids", tuple(self.ids))
        for name in ("changed_fields", "tags"):
            value = getattr(self, name)
            if not isinstance(value, frozenset):
                msgspec.structs.force_setattr(self, name, frozenset(value))
