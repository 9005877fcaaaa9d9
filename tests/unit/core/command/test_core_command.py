"""Commands: immutable payloads that remember which fields the client sent."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import pytest

from loom.core.command import Command, Computed, Internal, Patch, codec_for, fields_set
from loom.core.errors import ValidationError


class CreateAddress(Command, frozen=True):
    label: str
    zip_code: str
    city: str = "Paris"


class UpdateAddress(Command, frozen=True):
    label: Patch[str | None] = None
    zip_code: Patch[str | None] = None


class CreateAddressRecord(Command, frozen=True):
    user_id: int
    label: str
    zip_code: str
    city: str


class WithHidden(Command, frozen=True):
    name: str
    owner_id: Internal[int] = 0
    slug: Computed[str] = ""
    when: dt.datetime | None = None


def test_commands_are_frozen_and_camel_case() -> None:
    cmd = CreateAddress(label="home", zip_code="75001")
    with pytest.raises(AttributeError):
        cmd.label = "x"  # type: ignore[misc]
    # As in 0.2, fields may be passed positionally in declaration order.
    assert CreateAddress("home", "75001") == cmd
    assert msgspec.json.decode(msgspec.json.encode(cmd)) == {
        "label": "home",
        "zipCode": "75001",
        "city": "Paris",
    }


def test_dict_spreads_fields_by_python_name() -> None:
    cmd = CreateAddress(label="home", zip_code="75001")
    assert cmd.__dict__ == {"label": "home", "zip_code": "75001", "city": "Paris"}
    record = CreateAddressRecord(user_id=3, **cmd.__dict__)
    assert (record.user_id, record.zip_code, record.city) == (3, "75001", "Paris")


def test_dict_spread_of_a_decoded_command() -> None:
    cmd = codec_for(CreateAddress).decode({"label": "a", "zipCode": "1"})
    assert CreateAddressRecord(user_id=1, **cmd.__dict__).label == "a"


@pytest.mark.parametrize(
    "body",
    [{"label": "l", "zip_code": "z"}, {"label": "l", "zipCode": "z"}],
    ids=["snake", "camel"],
)
def test_both_key_casings_decode(body: dict[str, Any]) -> None:
    cmd = codec_for(CreateAddress).decode(body)
    assert (cmd.label, cmd.zip_code, cmd.city) == ("l", "z", "Paris")
    assert fields_set(cmd) == {"label", "zip_code"}


def test_fields_set_of_decoded_patch_tells_unsent_from_null() -> None:
    codec = codec_for(UpdateAddress)
    sent_null = codec.decode({"label": None})
    assert sent_null.label is None and fields_set(sent_null) == {"label"}
    empty = codec.decode({})
    assert fields_set(empty) == frozenset()
    both = codec.decode_json(b'{"label": "a", "zipCode": null}')
    assert fields_set(both) == {"label", "zip_code"}


def test_fields_set_of_constructed_commands_counts_non_none_fields() -> None:
    assert fields_set(UpdateAddress(label="x")) == {"label"}
    assert fields_set(UpdateAddress()) == frozenset()
    assert fields_set(CreateAddress(label="a", zip_code="b")) == {"label", "zip_code", "city"}


def test_unknown_keys_are_ignored() -> None:
    cmd = codec_for(CreateAddress).decode({"label": "l", "zipCode": "z", "admin": True})
    assert fields_set(cmd) == {"label", "zip_code"}


def test_internal_and_computed_fields_are_not_read_from_input() -> None:
    codec = codec_for(WithHidden)
    cmd = codec.decode({"name": "n", "ownerId": 99, "owner_id": 98, "slug": "hack"})
    assert isinstance(cmd, WithHidden)
    assert (cmd.owner_id, cmd.slug) == (0, "")
    assert fields_set(cmd) == {"name"}
    schema = msgspec.json.schema(codec.json_schema_type())
    (definition,) = schema["$defs"].values()
    assert set(definition["properties"]) == {"name", "when"}


class HiddenWithoutDefault(Command, frozen=True):
    name: str
    owner_id: Internal[int]


def test_hidden_fields_take_their_defaults_whichever_way_the_body_is_keyed() -> None:
    for body in ({"name": "n", "when": None}, {"when": None, "name": "n"}, {"name": "n"}):
        cmd = codec_for(WithHidden).decode_json(msgspec.json.encode(body))
        assert (cmd.name, cmd.owner_id, cmd.slug) == ("n", 0, "")  # type: ignore[attr-defined]
        assert fields_set(cmd) == set(body)
    # Without a default, an internal field is None until the use case sets it.
    cmd = codec_for(HiddenWithoutDefault).decode({"name": "n"})
    assert cmd.owner_id is None  # type: ignore[attr-defined]
    assert fields_set(cmd) == {"name"}


def test_codec_is_cached_and_plain_commands_decode_to_their_own_type() -> None:
    assert codec_for(CreateAddress) is codec_for(CreateAddress)
    assert codec_for(CreateAddress).json_schema_type() is CreateAddress


def test_datetime_strings_are_parsed() -> None:
    cmd = codec_for(WithHidden).decode({"name": "n", "when": "2024-01-02T03:04:05Z"})
    assert cmd.when == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"zipCode": "z"}, "label"),
        ({"label": 5, "zipCode": "z"}, "label"),
        ({"label": "l", "zip_code": ["z"]}, "zipCode"),
    ],
)
def test_validation_errors_name_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        codec_for(CreateAddress).decode(body)
    assert err.value.errors[0].field == field
    assert err.value.status == 422 and err.value.code == "validation_error"


@pytest.mark.parametrize("raw", [b"{", b"not json", b'{"label": "a",}', b"\xff\xfe"])
def test_invalid_json_is_a_validation_error(raw: bytes) -> None:
    with pytest.raises(ValidationError) as err:
        codec_for(CreateAddress).decode_json(raw)
    assert "JSON" in err.value.detail


@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"42", b"true"])
def test_non_object_body_is_a_validation_error(raw: bytes) -> None:
    with pytest.raises(ValidationError) as err:
        codec_for(CreateAddress).decode_json(raw)
    assert "object" in err.value.detail


def test_empty_body_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="required"):
        codec_for(CreateAddress).decode_json(b"  ")
    # Issue 16: a command of optional fields only reads no body as an empty patch.
    assert fields_set(codec_for(UpdateAddress).decode_json(b"  ")) == frozenset()


def test_decoding_a_struct_reuses_its_fields() -> None:
    source = CreateAddress(label="a", zip_code="b")
    cmd = codec_for(CreateAddressRecord).decode(
        msgspec.structs.replace(CreateAddressRecord(user_id=1, **source.__dict__))
    )
    assert cmd.user_id == 1 and fields_set(cmd) == {"user_id", "label", "zip_code", "city"}
