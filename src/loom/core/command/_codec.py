"""Decoding request payloads into commands, remembering which fields were sent.

One :class:`CommandCodec` is built per command type at start-up; decoding is then a
JSON parse, a key normalisation (snake_case and camelCase both accepted) and one
``msgspec.convert`` into the client-visible part of the command.
"""

from __future__ import annotations

import copy
import math
import re
import types
import typing
from typing import Annotated, Any

import msgspec

from loom.core.command._sent import set_fields_set
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
        "_int_fields",
        "_not_null",
        "_schema_type",
        "_sent",
        "_wire_keys",
        "body_required",
        "column_lengths",
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
        self.body_required: bool = any(f.required for f in msgspec.structs.fields(self.input_type))
        """Whether a request must carry a body: some field has no default. Without one,
        an empty body is the empty command (a patch changing nothing); the OpenAPI
        document's ``requestBody.required`` reads this same flag."""
        self.column_lengths: dict[str, int] = {}
        """Wire name -> the length of the model column a text field is written to
        (:meth:`bind_columns`): checked here and documented as ``maxLength``."""
        # Fields holding integers (also in lists or nested structs): the document bounds
        # every integer to int64, as the columns store them.
        self._int_fields: tuple[str, ...] = tuple(
            f.encode_name for f in visible if _mentions_int(f.type, set())
        )

    def decode_json(self, raw: bytes) -> msgspec.Struct:
        if not raw or raw.isspace():
            if self.body_required:
                raise ValidationError.single(None, "request body is required")
            return self.decode({})
        try:
            data = _json_decoder.decode(raw)
        except msgspec.DecodeError:
            raise ValidationError.single(None, "request body is not valid JSON") from None
        if data is None:  # the document says object; only a Python caller's None is {}
            raise ValidationError.single(None, "request body must be a JSON object")
        if b"\\u0000" in raw and self._nul_in_fields(data):
            # PostgreSQL text and jsonb cannot hold NUL: refused alike on every backend
            # (the document's strings say so with a pattern). Unknown keys are ignored.
            raise ValidationError.single(None, "text cannot contain NUL (\\u0000) characters")
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
                    if wire in normalised:
                        # Both spellings of one field: neither silently wins (the
                        # document says "one of the two").
                        raise ValidationError.single(
                            wire, f"send `{wire}` or `{self.py_names[wire]}`, not both"
                        )
                    normalised[wire] = value
        if self._not_null:
            self._refuse_nulls(normalised)
        direct = self._direct
        target = self.command_type if direct else self.input_type
        try:
            obj = msgspec.convert(normalised, target)
        except msgspec.ValidationError as exc:
            # JSON Schema counts 3.0 as an integer: retried with such values made ints
            # (a failure path only; 3.5 still fails).
            normalised, obj = _convert_integral_floats(normalised, target, exc)
        if self._int_fields:
            self._check_int_range(normalised)
        if self.column_lengths:
            self._check_lengths(normalised)
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

    def bind_columns(self, info: Any) -> None:
        """Give each plain text field named like a column of ``info`` (a ``ModelInfo``)
        that column's length: a use case that writes its command into the model then
        refuses an over-long value as the document says, before the repository does.
        Called at start-up for each route; idempotent (the shortest length wins)."""
        for f in msgspec.structs.fields(self.input_type):
            col = info.column(f.name)
            length = getattr(getattr(col, "decl", None), "length", None)
            if col is None or col.python_type is not str or not length:
                continue
            if not _is_plain_str(f.type):
                continue
            known = self.column_lengths.get(f.encode_name)
            self.column_lengths[f.encode_name] = length if known is None else min(known, length)

    def _nul_in_fields(self, data: Any) -> bool:
        if not isinstance(data, dict):
            return False
        key_map = self.key_map
        return any(isinstance(k, str) and k in key_map and _has_nul(v) for k, v in data.items())

    def _check_lengths(self, normalised: dict[str, Any]) -> None:
        for wire, length in self.column_lengths.items():
            value = normalised.get(wire)
            if type(value) is str and len(value) > length:
                raise ValidationError.single(wire, f"Expected str of length <= {length}")

    def _check_int_range(self, normalised: dict[str, Any]) -> None:
        for wire in self._int_fields:
            if not _ints_in_range(normalised.get(wire)):
                raise ValidationError.single(wire, "integer out of range")

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


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_FLOAT_FOR_INT = re.compile(r"Expected `[^`]*\bint\b[^`]*`, got `float` - at `\$(.*)`")
_PATH_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def _has_nul(value: Any) -> bool:
    if type(value) is str:
        return "\x00" in value
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


def _mentions_int(annotation: Any, seen: set[Any]) -> bool:
    """Whether a value of this type may hold an ``int`` (``list[int]``, a struct with one)."""
    if annotation is int:
        return True
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        if annotation in seen:
            return False
        seen.add(annotation)
        return any(_mentions_int(f.type, seen) for f in msgspec.structs.fields(annotation))
    return any(_mentions_int(arg, seen) for arg in typing.get_args(annotation))


def _ints_in_range(value: Any) -> bool:
    if type(value) is int:
        return _INT64_MIN <= value <= _INT64_MAX
    if isinstance(value, (list, tuple)):
        return all(_ints_in_range(v) for v in value)
    if isinstance(value, dict):
        return all(_ints_in_range(v) for v in value.values())
    return True


def _is_plain_str(annotation: Any) -> bool:
    """``str``, ``str | None``, ``Patch[str]``, without a length of its own."""
    if typing.get_origin(annotation) is Annotated:
        inner, *extras = typing.get_args(annotation)
        if any(isinstance(e, msgspec.Meta) for e in extras):
            return False
        return _is_plain_str(inner)
    if annotation is str:
        return True
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return False
    args = [
        a for a in typing.get_args(annotation) if a is not type(None) and a is not msgspec.UnsetType
    ]
    return len(args) == 1 and _is_plain_str(args[0])


def _convert_integral_floats(
    data: dict[str, Any], target: Any, exc: msgspec.ValidationError
) -> tuple[dict[str, Any], msgspec.Struct]:
    """Convert again with each float msgspec refused for an int field that has no
    fractional part (``-3.0``) made an int; any other error is raised as a 422."""
    copied = False
    for _ in range(256):
        match = _FLOAT_FOR_INT.match(str(exc))
        if match is None:
            break
        if not copied:
            data = copy.deepcopy(data)
            copied = True
        steps = [name if name else int(index) for name, index in _PATH_STEP.findall(match[1])]
        container: Any = data
        try:
            for step in steps[:-1]:
                container = container[step]
            value = container[steps[-1]]
        except (KeyError, IndexError, TypeError):
            break
        if not (type(value) is float and math.isfinite(value) and value.is_integer()):
            break
        container[steps[-1]] = int(value)
        try:
            return data, msgspec.convert(data, target)
        except msgspec.ValidationError as again:
            exc = again
    raise from_msgspec(exc) from None


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
