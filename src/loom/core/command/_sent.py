"""Which fields a client sent: stored on each decoded command.

Its own module, below both the command class and the codec: the codec records what
it decoded here and ``Command.from_payload`` decodes through the codec, so neither of
the two has to import the other to reach this bookkeeping (no import cycle).
"""

from __future__ import annotations

import msgspec

from loom.core._struct import LoomStructMeta

__all__ = ["FieldsSetStorage", "fields_set", "set_fields_set"]


class FieldsSetStorage(
    msgspec.Struct, metaclass=LoomStructMeta, kw_only=True, rename="camel", dict=True, frozen=True
):
    """Gives every command a private per-instance dict (for the sent-fields set).

    ``Command`` overrides ``__dict__`` (field name -> value, for spreading a command
    into another), so the real instance dict is reached through this class's slot.
    """


_real_dict = FieldsSetStorage.__dict__["__dict__"]
_FIELDS_SET = "_loom_fields_set"


def set_fields_set(cmd: msgspec.Struct, names: frozenset[str]) -> None:
    """Record the Python names of the fields sent (a no-op for non-commands)."""
    if isinstance(cmd, FieldsSetStorage):
        _real_dict.__get__(cmd)[_FIELDS_SET] = names


def fields_set(cmd: msgspec.Struct) -> frozenset[str]:
    """The Python names of the fields the client actually sent.

    For a command built in code (not decoded), every field whose value is not
    ``None`` counts as sent.
    """
    if isinstance(cmd, FieldsSetStorage):
        stored = _real_dict.__get__(cmd).get(_FIELDS_SET)
        if stored is not None:
            return stored
    return frozenset(
        name
        for name in cmd.__struct_fields__
        if getattr(cmd, name) is not None and getattr(cmd, name) is not msgspec.UNSET
    )
