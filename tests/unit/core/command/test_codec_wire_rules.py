"""Request bodies as the OpenAPI document describes them (issue 16): the codec side."""

from __future__ import annotations

from typing import Annotated

import msgspec
import pytest

from loom.core.command import Command, Internal, Patch, fields_set
from loom.core.command._codec import CommandCodec
from loom.core.errors import ValidationError
from loom.core.model import BaseModel, ColumnField, model_info


class CwItem(BaseModel):
    __tablename__ = "cw_items"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    code: str = ColumnField(length=5)
    qty: int = ColumnField()


class PatchItem(Command, frozen=True):
    code: Patch[str]
    qty: Patch[int]


class CreateItem(Command, frozen=True):
    code: str
    qty: int
    tags: list[int] = []


def _fails(codec: CommandCodec, raw: bytes) -> str:
    with pytest.raises(ValidationError) as caught:
        codec.decode_json(raw)
    return caught.value.errors[0].message


def test_no_body_is_an_empty_patch_but_a_required_body_stays_required() -> None:
    patch, create = CommandCodec(PatchItem), CommandCodec(CreateItem)
    assert (patch.body_required, create.body_required) == (False, True)
    empty = patch.decode_json(b"")
    assert (empty.code, empty.qty) == (None, None)
    assert _fails(create, b"") == "request body is required"


def test_a_json_null_body_is_not_an_object() -> None:
    assert _fails(CommandCodec(PatchItem), b"null") == "request body must be a JSON object"


def test_integral_floats_are_integers_and_fractions_are_not() -> None:
    codec = CommandCodec(CreateItem)
    item = codec.decode_json(b'{"code": "a", "qty": -3.0, "tags": [1.0, 2]}')
    assert (item.qty, item.tags) == (-3, [1, 2])
    assert type(item.qty) is int
    assert "float" in _fails(codec, b'{"code": "a", "qty": 3.5}')
    assert "float" in _fails(codec, b'{"code": "a", "qty": 1, "tags": [1.5]}')


def test_integers_beyond_int64_are_refused_also_inside_lists() -> None:
    codec = CommandCodec(CreateItem)
    assert _fails(codec, b'{"code": "a", "qty": 9223372036854775808}') == "integer out of range"
    body = b'{"code": "a", "qty": 1, "tags": [-9223372036854775809]}'
    assert _fails(codec, body) == "integer out of range"
    assert codec.decode_json(b'{"code": "a", "qty": 9223372036854775807}').qty == 2**63 - 1


def test_text_fields_written_to_a_column_get_its_length() -> None:
    codec = CommandCodec(PatchItem)
    codec.bind_columns(model_info(CwItem))
    assert codec.column_lengths == {"code": 5}
    assert codec.decode_json(b'{"code": "12345"}').code == "12345"
    assert _fails(codec, b'{"code": "123456"}') == "Expected str of length <= 5"


def test_text_with_nul_is_refused_anywhere_in_the_body() -> None:
    codec = CommandCodec(CreateItem)
    assert "NUL" in _fails(codec, b'{"code": "a\\u0000", "qty": 1}')
    # An escaped backslash followed by "u0000" is ordinary text.
    assert codec.decode_json(b'{"code": "\\\\u0000", "qty": 1}').code == "\\u0000"


def test_nul_in_an_unknown_key_is_ignored_like_the_key() -> None:
    body = b'{"code": "a", "qty": 1, "extra\\u0000": "x\\u0000"}'
    assert CommandCodec(CreateItem).decode_json(body).code == "a"


def test_both_spellings_of_one_field_are_refused() -> None:
    class Named(Command, frozen=True):
        full_name: str

    codec = CommandCodec(Named)
    assert codec.decode_json(b'{"full_name": "a"}').full_name == "a"
    assert "not both" in _fails(codec, b'{"fullName": "a", "full_name": "b"}')


class Part(msgspec.Struct):
    count: int


class Nested(Command, frozen=True):
    parts: list[Part]
    limit: Annotated[int, msgspec.Meta(ge=0)] = 0
    counts: dict[str, int] = {}


class KeywordOnly(Command, frozen=True):
    note: str = ""
    qty: int


class HiddenWithDefault(Command, frozen=True):
    qty: int
    owner_id: Internal[int] = 7


class HiddenNoDefault(Command, frozen=True):
    qty: int
    owner_id: Internal[int]


def test_an_int64_overflow_names_the_body_field_also_from_a_list_or_a_dict() -> None:
    codec = CommandCodec(Nested)
    cases = {
        b'{"parts": [], "limit": 9223372036854775808}': "limit",
        b'{"parts": [], "counts": {"a": -9223372036854775809}}': "counts",
        b'{"parts": [{"count": 9223372036854775808}]}': "parts",  # inside a nested struct
    }
    for raw, field in cases.items():
        with pytest.raises(ValidationError) as caught:
            codec.decode_json(raw)
        assert (caught.value.errors[0].field, caught.value.errors[0].message) == (
            field,
            "integer out of range",
        )
    # A bound the type declares itself still speaks for itself.
    assert _fails(codec, b'{"parts": [], "limit": -1}') == "Expected int >= 0"


def test_bounded_decoding_builds_the_command_type_itself() -> None:
    for codec, raw, expected in (
        (CommandCodec(CreateItem), b'{"code": "a", "qty": 2}', CreateItem(code="a", qty=2)),
        (CommandCodec(KeywordOnly), b'{"qty": 2}', KeywordOnly(qty=2)),
        (
            CommandCodec(Nested),
            b'{"parts": [{"count": 1}], "limit": 3}',
            Nested(parts=[Part(count=1)], limit=3),
        ),
    ):
        decoded = codec.decode_json(raw)
        assert type(decoded) is type(expected)
        assert decoded == expected


def test_bounded_decoding_keeps_hidden_fields_out_of_the_body() -> None:
    for command_type, owner in ((HiddenWithDefault, 7), (HiddenNoDefault, None)):
        codec = CommandCodec(command_type)
        cmd = codec.decode({"qty": 2, "ownerId": 99})
        assert (type(cmd), cmd.qty, cmd.owner_id) == (command_type, 2, owner)  # type: ignore[attr-defined]
        assert fields_set(cmd) == {"qty"}
        assert _fails(codec, b'{"qty": 9223372036854775808}') == "integer out of range"


def test_the_schema_type_of_a_bound_codec_shows_the_column_length() -> None:
    codec = CommandCodec(PatchItem)
    codec.bind_columns(model_info(CwItem))
    schema = msgspec.json.schema(codec.json_schema_type())
    (definition,) = schema["$defs"].values()
    assert definition["properties"]["code"]["maxLength"] == 5
