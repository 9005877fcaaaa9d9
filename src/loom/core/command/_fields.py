"""0.2's command introspection: which fields a client sends, which the server fills."""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import msgspec

from loom.core.command._types import COMPUTED, INTERNAL, PATCH, field_role

__all__ = [
    "CommandAdapter",
    "CommandField",
    "get_calculated_fields",
    "get_command_fields",
    "get_input_fields",
    "get_internal_fields",
    "get_patch_fields",
    "is_patch_command",
]


@dataclasses.dataclass(frozen=True)
class CommandField:
    """How one command field is filled: by the client (patch or not), by a compute
    (``calculated``) or by the server (``internal``)."""

    calculated: bool = False
    internal: bool = False
    patch: bool = False
    default: Any = msgspec.UNSET


def _default(f: msgspec.structs.FieldInfo) -> Any:
    if f.default is not msgspec.NODEFAULT:
        return f.default
    if f.default_factory is not msgspec.NODEFAULT:
        return f.default_factory()
    return msgspec.UNSET


def get_command_fields(command_type: type) -> dict[str, CommandField]:
    """Every field of ``command_type`` by Python name, in declaration order."""
    out: dict[str, CommandField] = {}
    for f in msgspec.structs.fields(command_type):
        role = field_role(f.type)
        out[f.name] = CommandField(
            calculated=role is COMPUTED,
            internal=role is INTERNAL,
            patch=role is PATCH,
            default=_default(f),
        )
    return out


def get_input_fields(command_type: type) -> dict[str, CommandField]:
    """The fields a client may send (neither internal nor computed)."""
    return {
        name: f
        for name, f in get_command_fields(command_type).items()
        if not (f.internal or f.calculated)
    }


def get_calculated_fields(command_type: type) -> dict[str, CommandField]:
    return {n: f for n, f in get_command_fields(command_type).items() if f.calculated}


def get_internal_fields(command_type: type) -> dict[str, CommandField]:
    return {n: f for n, f in get_command_fields(command_type).items() if f.internal}


def get_patch_fields(command_type: type) -> dict[str, CommandField]:
    return {n: f for n, f in get_command_fields(command_type).items() if f.patch}


def is_patch_command(command_type: type) -> bool:
    """Whether the command is a partial update (declares at least one Patch field)."""
    return bool(get_patch_fields(command_type))


class CommandAdapter(Protocol):
    """What turns a payload into a command (Loom's is ``CommandCodec``)."""

    def compile_schema(self, command_type: type) -> Any: ...

    def parse(self, command_type: type, payload: Any) -> tuple[Any, frozenset[str]]: ...
