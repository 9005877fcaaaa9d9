"""Names shared by the invoker and the auto-CRUD use cases."""

from __future__ import annotations

import enum

__all__ = ["CrudOp"]


class CrudOp(enum.StrEnum):
    """The auto-CRUD operations; the second half of a key like ``"product:get"``."""

    CREATE = "create"
    GET = "get"
    LIST = "list"
    UPDATE = "update"
    DELETE = "delete"
