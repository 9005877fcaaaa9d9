"""Decoding request payloads into commands, remembering which fields were sent.

One :class:`CommandCodec` is built per command type at start-up; decoding is then a
JSON parse, a key normalisation (snake_case and camelCase both accepted) and one
``msgspec.convert`` into the client-visible part of the command.
"""

from __future__ import annotations

import collections.abc
import copy
import inspect
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
# How the command is built from the struct the convert made (CommandCodec._build).
_NOTHING, _POSITIONAL, _KEYWORDS, _WITH_HIDDEN = 0, 1, 2, 3
_MAX_KEY_SETS = 512


class CommandCodec:
    """Decodes dicts or JSON bytes into ``command_type`` and records ``fields_set``."""

    __slots__ = (
        "_bounded",
        "_build",
        "_direct",
        "_int_fields",
        "_not_null",
        "_positional",
        "_schema_type",
        "_sent",
        "_target",
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
                [_spec(f, f.type) for f in visible],
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
        # The input type with its bounds stated as msgspec constraints (every integer
        # within int64, as the columns store them; column lengths once bound), so the
        # one ``msgspec.convert`` checks them in C instead of a Python pass over every
        # body; ``json_schema_type`` documents the lengths from the same annotation.
        # None when there is nothing to bound (the command is converted into directly).
        self._bounded: type[msgspec.Struct] | None = None
        # Fields whose integers sit inside nested structs (deriving bounded copies of a
        # user's nested structs is not worth it): checked in Python after the convert.
        self._int_fields: tuple[str, ...] = ()
        # The command takes its fields positionally, in the bounded type's order. With
        # bounds the convert makes a bounded struct and the command is built from it;
        # measured (timeit, a 6-field command, 5 ints/str/float sent in wire names):
        # convert into the bounded type + ``command(*astuple(obj))`` ~400 ns, against
        # ~600-720 ns for converting straight into the command plus the Python int64
        # pass it replaces, ~560 ns for converting twice (bounded, then command) and
        # ~600-790 ns for ``command(**asdict(obj))``: positional when the command allows
        # it, keywords only otherwise. Without bounds the command is converted into
        # directly, as before. Whole ``decode``: 1365 -> 1016 ns (1539 -> 1066 ns with a
        # column length), a command without ints unchanged (885 -> 881 ns).
        params = list(inspect.signature(command_type).parameters.values())
        self._positional = (
            not self.hidden
            and [p.name for p in params] == [f.name for f in fields]
            and all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params)
        )
        self._target: type[msgspec.Struct] = command_type
        self._build = _NOTHING
        self._derive_bounded()

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
        target = self._target
        try:
            obj = msgspec.convert(normalised, target)
        except msgspec.ValidationError as exc:
            # JSON Schema counts 3.0 as an integer: retried with such values made ints
            # (a failure path only; 3.5 still fails).
            normalised, obj = _convert_integral_floats(normalised, target, exc)
        if self._int_fields:
            self._check_int_range(normalised)
        build = self._build
        if build:  # the convert made a bounded or input struct: the command from it
            if build == _POSITIONAL:
                obj = self.command_type(*msgspec.structs.astuple(obj))
            else:
                values = msgspec.structs.asdict(obj)
                if build == _WITH_HIDDEN:
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
        Called at start-up for each route and by the OpenAPI document; idempotent
        (the shortest length wins), and the bounded type is rebuilt only on a change."""
        before = dict(self.column_lengths)
        for f in msgspec.structs.fields(self.input_type):
            col = info.column(f.name)
            length = getattr(getattr(col, "decl", None), "length", None)
            if col is None or col.python_type is not str or not length:
                continue
            if not _is_plain_str(f.type):
                continue
            known = self.column_lengths.get(f.encode_name)
            self.column_lengths[f.encode_name] = length if known is None else min(known, length)
        if self.column_lengths != before:
            self._derive_bounded()

    def _derive_bounded(self) -> None:
        """(Re)build the bounded input type from the input type and the column lengths."""
        fields: list[Any] = []
        changed = False
        nested_ints: list[str] = []
        for f in msgspec.structs.fields(self.input_type):
            annotation, complete = _bounded(f.type, set())
            length = self.column_lengths.get(f.encode_name)
            if length is not None:
                annotation = _with_max_length(annotation, length)
            if not complete:
                nested_ints.append(f.encode_name)
            changed = changed or annotation is not f.type
            fields.append(_spec(f, annotation))
        self._int_fields = tuple(nested_ints)
        self._schema_type = None
        self._bounded = self._like_input(self.input_type.__name__, fields) if changed else None
        # Decided here, not per body: what the convert targets and how the command is
        # then built (nothing to build when the convert made the command itself).
        if self._bounded is not None:
            self._target = self._bounded
        else:
            self._target = self.command_type if self._direct else self.input_type
        if not self._direct:
            self._build = _WITH_HIDDEN  # hidden fields without a struct default
        elif self._bounded is None:
            self._build = _NOTHING
        else:
            self._build = _POSITIONAL if self._positional else _KEYWORDS

    def _nul_in_fields(self, data: Any) -> bool:
        if not isinstance(data, dict):
            return False
        key_map = self.key_map
        return any(isinstance(k, str) and k in key_map and _has_nul(v) for k, v in data.items())

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
        """The type whose schema describes what a client may send: a ``Patch[T]``
        that refuses null is shown as an optional ``T``, a text field bound to a column
        (:meth:`bind_columns`) has that column's ``maxLength``, from the same
        annotation the decoder checks. Integers are not bounded here: the OpenAPI
        document bounds every integer it shows to int64 (results and parameters too)."""
        if not self._not_null and not self.column_lengths:
            return self.input_type
        if self._schema_type is None:
            refused = {wire for wire, _ in self._not_null}
            fields: list[Any] = []
            for f in msgspec.structs.fields(self.input_type):
                annotation = f.type
                length = self.column_lengths.get(f.encode_name)
                if length is not None:
                    annotation = _with_max_length(annotation, length)
                if f.encode_name in refused:
                    fields.append((f.name, _without_none(annotation), msgspec.UNSET))
                else:
                    fields.append(_spec(f, annotation))
            # The component's name as before this type: the input type's, or the
            # command's when a Patch refuses null (as that rewrite has always named it).
            name = self.command_type.__name__ if self._not_null else self.input_type.__name__
            self._schema_type = self._like_input(name, fields)
        return self._schema_type

    def _like_input(self, name: str, fields: list[Any]) -> type[msgspec.Struct]:
        """A struct with the input type's wire names and ``fields``."""
        return msgspec.defstruct(
            name,
            fields,
            kw_only=True,
            rename={f.name: f.encode_name for f in msgspec.structs.fields(self.input_type)},
            module=self.command_type.__module__,
        )


def _spec(f: msgspec.structs.FieldInfo, annotation: Any) -> tuple[Any, ...]:
    """``f`` as a ``defstruct`` field typed ``annotation``, keeping its default."""
    if f.default is not msgspec.NODEFAULT:
        return (f.name, annotation, f.default)
    if f.default_factory is not msgspec.NODEFAULT:
        return (f.name, annotation, msgspec.field(default_factory=f.default_factory))
    return (f.name, annotation)


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


# As loom.core.model._write's (which imports the command package: not importable here).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_INT64 = msgspec.Meta(ge=INT64_MIN, le=INT64_MAX)
_CONTAINERS = (
    list,
    tuple,
    set,
    frozenset,
    dict,
    collections.abc.Sequence,
    collections.abc.MutableSequence,
    collections.abc.Set,
    collections.abc.MutableSet,
    collections.abc.Mapping,
    collections.abc.MutableMapping,
)
_OUT_OF_INT64 = re.compile(
    rf"Expected `int` (?:>= {INT64_MIN}|<= {INT64_MAX}) - at `\$\.([^.\[`]+)"
)


def _bounded(annotation: Any, seen: set[Any]) -> tuple[Any, bool]:
    """``annotation`` with every ``int`` in it bounded to int64 (a bound the type
    already declares is kept), and whether that covers all of its ints: those inside a
    nested struct are left to the Python check (the struct is the user's own type)."""
    if annotation is int:
        return Annotated[int, _INT64], True
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        inner, *extras = typing.get_args(annotation)
        if inner is int:
            declared = {
                name
                for meta in extras
                if isinstance(meta, msgspec.Meta)
                for name in ("ge", "gt", "le", "lt")
                if getattr(meta, name) is not None
            }
            low = None if declared & {"ge", "gt"} else INT64_MIN
            high = None if declared & {"le", "lt"} else INT64_MAX
            if low is None and high is None:
                return annotation, True
            return Annotated[int, *extras, msgspec.Meta(ge=low, le=high)], True
        new, complete = _bounded(inner, seen)
        return (annotation if new is inner else Annotated[new, *extras]), complete
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        if annotation in seen:
            return annotation, True
        seen.add(annotation)
        # Complete only if none of its fields would need a bound.
        return annotation, all(
            _bounded(f.type, seen) == (f.type, True) for f in msgspec.structs.fields(annotation)
        )
    args = typing.get_args(annotation)
    results = [(a, True) if a is Ellipsis else _bounded(a, seen) for a in args]
    complete = all(ok for _, ok in results)
    if all(new is old for (new, _), old in zip(results, args, strict=True)):
        return annotation, complete
    news = tuple(new for new, _ in results)
    if origin in (typing.Union, types.UnionType):
        return typing.Union[news], complete  # noqa: UP007
    if origin in _CONTAINERS:
        return origin[news], complete
    # Another generic holding an int (a user's own): left as it is, checked in Python.
    return annotation, False


def _with_max_length(annotation: Any, length: int) -> Any:
    """The plain ``str`` in ``annotation`` (``str``, ``str | None``, ``Patch[str]``)
    given ``max_length`` (the column's length)."""
    if annotation is str:
        return Annotated[str, msgspec.Meta(max_length=length)]
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        return Annotated[_with_max_length(args[0], length), *args[1:]]
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_with_max_length(a, length) for a in args)]  # noqa: UP007
    return annotation


def _ints_in_range(value: Any) -> bool:
    if type(value) is int:
        return INT64_MIN <= value <= INT64_MAX
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
    raise _as_422(exc) from None


def _as_422(exc: msgspec.ValidationError) -> ValidationError:
    """The 422 for a failed convert: an int beyond int64 says so, naming the body's
    field (also for an item of a list), as the Python check did before msgspec did it."""
    out_of_range = _OUT_OF_INT64.match(str(exc))
    if out_of_range is not None:
        return ValidationError.single(out_of_range[1], "integer out of range")
    return from_msgspec(exc)


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
