"""Write structs: what a create or a partial update may carry, validated up front."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import pytest

from loom.core.command import Command, Patch, codec_for
from loom.core.errors import ValidationError
from loom.core.model import BaseModel, ColumnField, TimestampedModel, model_info
from loom.core.model._write import create_struct, patch_struct, prepare_create, prepare_patch


class UwPost(TimestampedModel):
    __tablename__ = "uw_posts"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    title: str = ColumnField(length=10)
    body: str | None = None
    views: int = ColumnField(default=0)
    tags: list[str] = ColumnField(default_factory=list)


class UwCode(BaseModel):
    __tablename__ = "uw_codes"
    code: str = ColumnField(primary_key=True, length=4)
    label: str = ColumnField(length=20)


INFO = model_info(UwPost)


class PatchPost(Command, frozen=True):
    title: Patch[str] = None
    body: Patch[str | None] = None  # Patch[str] would refuse the explicit null below


def test_create_struct_has_only_writable_fields_and_their_defaults() -> None:
    fields = {f.name: f for f in msgspec.structs.fields(create_struct(INFO))}
    assert list(fields) == ["title", "body", "views", "tags"]
    assert fields["views"].default == 0 and fields["body"].default is None
    assert fields["title"].required
    schema = msgspec.json.schema(create_struct(INFO))
    props = schema["$defs"]["CreateUwPost"]["properties"]
    assert props["title"]["maxLength"] == 10
    assert "createdAt" not in props and "id" not in props


def test_natural_primary_key_is_writable_on_create_but_not_on_patch() -> None:
    info = model_info(UwCode)
    assert [f.name for f in msgspec.structs.fields(create_struct(info))] == ["code", "label"]
    assert [f.name for f in msgspec.structs.fields(patch_struct(info))] == ["label"]


def test_prepare_create_sets_timestamps_and_defaults() -> None:
    before = dt.datetime.now(dt.UTC)
    values = prepare_create(INFO, {"title": "hi"})
    assert values["title"] == "hi" and values["views"] == 0 and values["tags"] == []
    assert values["body"] is None
    assert values["created_at"] == values["updated_at"] >= before
    assert values["created_at"].tzinfo is not None
    assert "id" not in values


def test_mass_assignment_of_key_and_timestamps_is_ignored_on_create() -> None:
    forged = "2000-01-01T00:00:00Z"
    values = prepare_create(
        INFO, {"id": 7, "title": "t", "createdAt": forged, "updated_at": forged, "admin": True}
    )
    assert "id" not in values and "admin" not in values
    assert values["created_at"].year > 2000


def test_mass_assignment_is_ignored_on_patch() -> None:
    values = prepare_patch(INFO, {"id": 7, "createdAt": "2000-01-01T00:00:00Z", "views": 2})
    assert set(values) == {"views", "updated_at"}


def test_prepare_patch_keeps_only_sent_fields_including_explicit_null() -> None:
    assert set(prepare_patch(INFO, {"body": None})) == {"body", "updated_at"}
    assert prepare_patch(INFO, {}) == {}
    assert prepare_patch(INFO, {"unknown": 1}) == {}


def test_prepare_patch_from_a_decoded_command_uses_fields_set() -> None:
    cmd = codec_for(PatchPost).decode({"body": None})
    values = prepare_patch(INFO, cmd)
    assert values["body"] is None and "title" not in values


def test_prepare_patch_from_a_constructed_command_skips_none_fields() -> None:
    values = prepare_patch(INFO, PatchPost(title="new"))
    assert values["title"] == "new" and "body" not in values


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": "x" * 11}, "title"),
        ({"title": 5}, "title"),
        ({"title": None}, "title"),
        ({"title": "ok", "views": 2**63}, "views"),
        ({"title": "ok", "views": "many"}, "views"),
        ({"title": "ok", "tags": "not-a-list"}, "tags"),
        ({}, "title"),
    ],
)
def test_create_validation_names_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        prepare_create(INFO, data)
    assert err.value.errors[0].field == field
    assert err.value.status == 422


def test_patch_validation_names_the_field() -> None:
    with pytest.raises(ValidationError) as err:
        prepare_patch(INFO, {"title": "x" * 11})
    assert err.value.errors[0].field == "title"
    with pytest.raises(ValidationError):
        prepare_patch(INFO, {"title": None})


def test_max_length_counts_characters_not_bytes() -> None:
    assert prepare_create(INFO, {"title": "ü" * 10})["title"] == "ü" * 10


def test_lax_conversion_of_string_numbers_and_dates() -> None:
    values = prepare_create(INFO, {"title": "t", "views": "12"})
    assert values["views"] == 12


def test_non_mapping_input_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        prepare_create(INFO, [("title", "t")])
    with pytest.raises(ValidationError):
        prepare_patch(INFO, "title=t")


def test_structs_are_cached_per_model() -> None:
    assert create_struct(INFO) is create_struct(INFO)
    assert patch_struct(INFO) is patch_struct(INFO)
