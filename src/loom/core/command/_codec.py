"""Decoding request payloads into commands, remembering which fields were sent.

One :class:`CommandCodec` is built per command type at start-up; decoding is then a
JSON parse, a key normalisation (snake_case and camelCase both accepted) and one
``msgspec.convert`` into the client-visible part of the command.
"""

from __future__ import annotations

import typing
from typing import Annotated, Any

import msgspec

from loom.core.command._command import set_fields_set
from loom.core.command._types import COMPUTED, INTERNAL, PATCH, field_role, patch_allows_null
from loom.core.errors import FieldError, ValidationError
from loom.core.validation import from_msgspec

__all__ = ["CommandCodec", "codec_for"]

_json_decoder = msgspec.json.Decoder()
_MAX_KEY_SETS = 512


class CommandCodec:
    """Decodes dicts or JSON bytes into ``command_type`` and records ``fields_set``."""

    __slots__ = (
        "_direct",
        "_not_null",
        "_schema_type",
        "_sent",
        "_wire_keys",
        "command_type",
        "hidden",
        "hidden_defaults",
        "input_type",
        "key_map",
        "py_names",
    )

    def __init__(self, command_type: type[msgspec.Struct]) -> None:
        self.command_type = command_type
        fields = msgspec.structs.fields(command_type)
        self.hidden = tuple(f.name for f in fields if field_role(f.type) in (INTERNAL, COMPUTED))
        self.hidden_defaults: dict[str, Any] = {}
        for f in fields:
            if f.name in self.hidden:
                if f.default is not msgspec.NODEFAULT:
                    self.hidden_defaults[f.name] = f.default
                elif f.default_factory is not msgspec.NODEFAULT:
                    self.hidden_defaults[f.name] = f.default_factory
                else:
                    self.hidden_defaults[f.name] = None
        visible = [f for f in fields if f.name not in self.hidden]
        self.key_map: dict[str, str] = {}
        self.py_names: dict[str, str] = {}
        for f in visible:
            self.key_map[f.name] = f.encode_name
            self.key_map[f.encode_name] = f.encode_name
            self.py_names[f.encode_name] = f.name
        if self.hidden:
            self.input_type: type[msgspec.Struct] = msgspec.defstruct(
                f"{command_type.__name__}Input",
                [
                    (f.name, f.type)
                    if f.default is msgspec.NODEFAULT and f.default_factory is msgspec.NODEFAULT
                    else (
                        f.name,
                        f.type,
                        f.default
                        if f.default is not msgspec.NODEFAULT
                        else msgspec.field(default_factory=f.default_factory),
                    )
                    for f in visible
                ],
                kw_only=True,
                rename={f.name: f.encode_name for f in visible},
                module=command_type.__module__,
            )
        else:
            self.input_type = command_type
        self._wire_keys = frozenset(self.py_names)
        # Hidden fields all have struct defaults: a body already in wire names (the
        # common case) converts straight into the command, without a second struct.
        self._direct = all(
            f.default is not msgspec.NODEFAULT or f.default_factory is not msgspec.NODEFAULT
            for f in fields
            if f.name in self.hidden
        )
        self._sent: dict[tuple[str, ...], frozenset[str]] = {}
        # ``Patch[T]`` whose T refuses None: "a T, or not sent". msgspec would accept
        # the null (the field's type is ``T | None`` so that "not sent" can be None).
        self._not_null: tuple[tuple[str, str], ...] = tuple(
            (f.encode_name, _type_name(f.type))
            for f in visible
            if field_role(f.type) is PATCH and not patch_allows_null(f.type)
        )
        self._schema_type: type[msgspec.Struct] | None = None

    def decode_json(self, raw: bytes) -> msgspec.Struct:
        if not raw or raw.isspace():
            raise ValidationError.single(None, "request body is required")
        try:
            data = _json_decoder.decode(raw)
        except msgspec.DecodeError:
            raise ValidationError.single(None, "request body is not valid JSON") from None
        return self.decode(data)

    def decode(self, data: Any) -> msgspec.Struct:
        if isinstance(data, msgspec.Struct):
            data = msgspec.structs.asdict(data)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ValidationError.single(None, "request body must be a JSON object")
        if data.keys() <= self._wire_keys:
            normalised: dict[str, Any] = data  # already wire names, nothing hidden
        else:
            key_map = self.key_map
            normalised = {}
            for key, value in data.items():
                wire = key_map.get(key) if isinstance(key, str) else None
                if wire is not None:
                    normalised[wire] = value
        if self._not_null:
            self._refuse_nulls(normalised)
        direct = self._direct
        try:
            obj = msgspec.convert(normalised, self.command_type if direct else self.input_type)
        except msgspec.ValidationError as exc:
            raise from_msgspec(exc) from None
        if self.hidden and not direct:
            values = msgspec.structs.asdict(obj)
            for name, default in self.hidden_defaults.items():
                values[name] = default() if callable(default) else default
            obj = self.command_type(**values)
        set_fields_set(obj, self._fields_sent(normalised))
        return obj

    def _fields_sent(self, normalised: dict[str, Any]) -> frozenset[str]:
        key = tuple(normalised)
        sent = self._sent.get(key)
        if sent is None:
            py_names = self.py_names
            sent = frozenset(py_names[k] for k in key)
            if len(self._sent) < _MAX_KEY_SETS:  # bodies are client-chosen: bounded
                self._sent[key] = sent
        return sent

    def _refuse_nulls(self, normalised: dict[str, Any]) -> None:
        errors = [
            FieldError(wire, f"Expected {tname}, got null")
            for wire, tname in self._not_null
            if wire in normalised and normalised[wire] is None
        ]
        if errors:
            where = ", ".join(f"`{e.field}`" for e in errors)
            raise ValidationError(f"{where}: may be left out, but not null", errors=errors)

    def json_schema_type(self) -> type[msgspec.Struct]:
        """The type whose schema describes what a client may send (a ``Patch[T]``
        that refuses null is shown as an optional ``T``)."""
        if not self._not_null:
            return self.input_type
        if self._schema_type is None:
            refused = {wire for wire, _ in self._not_null}
            fields: list[Any] = []
            for f in msgspec.structs.fields(self.input_type):
                if f.encode_name in refused:
                    fields.append((f.name, _without_none(f.type), msgspec.UNSET))
                elif f.default is not msgspec.NODEFAULT:
                    fields.append((f.name, f.type, f.default))
                elif f.default_factory is not msgspec.NODEFAULT:
                    fields.append(
                        (f.name, f.type, msgspec.field(default_factory=f.default_factory))
                    )
                else:
                    fields.append((f.name, f.type))
            self._schema_type = msgspec.defstruct(
                self.command_type.__name__,
                fields,
                kw_only=True,
                rename={f.name: f.encode_name for f in msgspec.structs.fields(self.input_type)},
                module=self.command_type.__module__,
            )
        return self._schema_type


def _without_none(annotation: Any) -> Any:
    """``Annotated[T | None, ...]`` -> ``T | UnsetType`` (for the schema only)."""
    inner = (
        typing.get_args(annotation)[0] if typing.get_origin(annotation) is Annotated else annotation
    )
    args = [a for a in typing.get_args(inner) if a is not type(None)] or [inner]
    result: Any = args[0]
    for extra in args[1:]:
        result = result | extra
    return result | msgspec.UnsetType


def _type_name(annotation: Any) -> str:
    inner = _without_none(annotation)
    names = [
        getattr(a, "__name__", str(a)) for a in typing.get_args(inner) if a is not msgspec.UnsetType
    ]
    return " | ".join(names) or "a value"


_CODECS: dict[type, CommandCodec] = {}


def codec_for(command_type: type[msgspec.Struct]) -> CommandCodec:
    codec = _CODECS.get(command_type)
    if codec is None:
        codec = _CODECS[command_type] = CommandCodec(command_type)
    return codec
