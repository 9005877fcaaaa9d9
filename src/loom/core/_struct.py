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
        # Frozen by default. Type checkers learn it from the bases: each is declared
        # frozen=True and decorated with dataclass_transform(frozen_default=True), so
        # both ``class X(Command)`` and ``class X(Command, frozen=True)`` type-check.
        kwargs.setdefault("frozen", True)
        return super().__new__(mcls, name, bases, namespace, **kwargs)
