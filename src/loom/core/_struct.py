"""The struct metaclass shared by models, commands and responses.

msgspec does not carry ``kw_only`` (or ``rename``) over to subclasses' own fields, so
``class Cmd(Command, frozen=True)`` would otherwise accept positional arguments and
speak snake_case. This metaclass makes Loom's conventions (keyword-only, camelCase,
frozen) the default for every subclass; a class may still pass its own options.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["LoomStructMeta"]


class LoomStructMeta(msgspec.StructMeta):
    def __new__(
        mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any
    ) -> LoomStructMeta:
        kwargs.setdefault("kw_only", True)
        kwargs.setdefault("rename", "camel")
        # Frozen by default, but not declared frozen in the base classes' statements:
        # type checkers would then reject every user subclass that omits frozen=True.
        kwargs.setdefault("frozen", True)
        return super().__new__(mcls, name, bases, namespace, **kwargs)
