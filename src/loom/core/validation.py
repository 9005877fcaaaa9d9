"""Turning msgspec's validation messages into :class:`ValidationError` with field names."""

from __future__ import annotations

import re

import msgspec

from loom.core.errors import FieldError, ValidationError

__all__ = ["from_msgspec"]

_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_MISSING = re.compile(r"missing required field `(?P<field>[^`]+)`")


def _path_to_field(path: str) -> str | None:
    path = path.lstrip(".")
    if not path:
        return None
    return re.sub(r"\[(\d+)\]", r".\1", path).strip(".") or None


def from_msgspec(
    exc: msgspec.ValidationError | msgspec.DecodeError, prefix: str = ""
) -> ValidationError:
    """A 422 naming the failing field (as sent on the wire, camelCase)."""
    text = str(exc)
    if isinstance(exc, msgspec.DecodeError) and not isinstance(exc, msgspec.ValidationError):
        return ValidationError.single(None, "request body is not valid JSON")
    m = _AT.match(text)
    message = m.group("msg") if m else text
    path = (m.group("path") if m else None) or ""
    field = _path_to_field(path)
    missing = _MISSING.search(message)
    if missing:
        name = missing.group("field")
        field = f"{field}.{name}" if field else name
        message = "field required"
    if prefix and field:
        field = f"{prefix}.{field}"
    elif prefix:
        field = prefix
    message = message.replace("`", "")
    return ValidationError(
        f"`{field}`: {message}" if field else message, errors=[FieldError(field, message)]
    )
