"""Commands: immutable, validated request payloads.

Example::

    class UpdateAddress(Command, frozen=True):
        label: Patch[str]

``fields_set(cmd)`` tells which fields the client sent, so a use case can tell
"not sent" from "sent as null" (``Patch[str | None]``; ``Patch[str]`` refuses null).
"""

from loom.core.command._codec import CommandCodec, codec_for
from loom.core.command._command import Command, fields_set
from loom.core.command._fields import (
    CommandAdapter,
    CommandField,
    get_calculated_fields,
    get_command_fields,
    get_input_fields,
    get_internal_fields,
    get_patch_fields,
    is_patch_command,
)
from loom.core.command._types import Computed, Internal, Patch, field_role, patch_allows_null

__all__ = [
    "Command",
    "CommandAdapter",
    "CommandCodec",
    "CommandField",
    "Computed",
    "Internal",
    "Patch",
    "codec_for",
    "field_role",
    "fields_set",
    "get_calculated_fields",
    "get_command_fields",
    "get_input_fields",
    "get_internal_fields",
    "get_patch_fields",
    "is_patch_command",
    "patch_allows_null",
]
