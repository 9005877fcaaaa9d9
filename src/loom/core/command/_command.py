"""``Command``: the immutable request payload of a use case or job."""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

from loom.core._struct import LoomStructMeta

__all__ = ["Command", "fields_set", "set_fields_set"]


class _CommandStorage(
    msgspec.Struct, metaclass=LoomStructMeta, kw_only=True, rename="camel", dict=True
):
    """Gives every command a private per-instance dict (for the sent-fields set)."""


_real_dict = _CommandStorage.__dict__["__dict__"]
_FIELDS_SET = "_loom_fields_set"


class Command(_CommandStorage, kw_only=True, rename="camel"):
    """Base of request payloads: frozen, keyword-only, camelCase on the wire.

    ``cmd.__dict__`` maps Python field names to values so a command can be spread
    into another (``Record(user_id=1, **cmd.__dict__)``).
    """

    __loom_command__: ClassVar[bool] = True

    @property
    def __dict__(self) -> dict[str, Any]:  # type: ignore[override]
        return {name: getattr(self, name) for name in self.__struct_fields__}


def set_fields_set(cmd: msgspec.Struct, names: frozenset[str]) -> None:
    if isinstance(cmd, Command):
        _real_dict.__get__(cmd)[_FIELDS_SET] = names


def fields_set(cmd: msgspec.Struct) -> frozenset[str]:
    """The Python names of the fields the client actually sent.

    For a command built in code (not decoded), every field whose value is not
    ``None`` counts as sent.
    """
    if isinstance(cmd, Command):
        stored = _real_dict.__get__(cmd).get(_FIELDS_SET)
        if stored is not None:
            return stored
    return frozenset(
        name
        for name in cmd.__struct_fields__
        if getattr(cmd, name) is not None and getattr(cmd, name) is not msgspec.UNSET
    )
