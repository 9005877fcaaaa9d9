"""Commands: immutable, validated request payloads.

Example::

    class UpdateAddress(Command, frozen=True):
        label: Patch[str] = None

``fields_set(cmd)`` tells which fields the client sent, so a use case can tell
"not sent" from "sent as null".
"""

from loom.core.command._codec import CommandCodec, codec_for
from loom.core.command._command import Command, fields_set
from loom.core.command._types import Computed, Internal, Patch, field_role

__all__ = [
    "Command",
    "CommandCodec",
    "Computed",
    "Internal",
    "Patch",
    "codec_for",
    "field_role",
    "fields_set",
]
