"""0.2 signature pins and behaviour of ``loom.core.command``."""

from __future__ import annotations

import inspect

import msgspec
import pytest

from loom.core.command import (
    Command,
    CommandAdapter,
    CommandField,
    Computed,
    Internal,
    Patch,
    get_calculated_fields,
    get_command_fields,
    get_input_fields,
    get_internal_fields,
    get_patch_fields,
    is_patch_command,
)
from loom.core.errors import ValidationError


class UpdateStock(Command, frozen=True):
    quantity: Patch[int]
    note: Patch[str | None]
    owner_id: Internal[int]
    slug: Computed[str]


class CreateItem(Command, frozen=True):
    name: str
    quantity: int = 1


def test_signatures() -> None:
    params = inspect.signature(CommandField).parameters
    assert [(n, p.default) for n, p in params.items()] == [
        ("calculated", False),
        ("internal", False),
        ("patch", False),
        ("default", msgspec.UNSET),
    ]
    assert list(inspect.signature(Command.from_payload).parameters) == ["payload"]
    assert {"compile_schema", "parse"} <= set(dir(CommandAdapter))


def test_from_payload_returns_the_command_and_the_python_names_sent() -> None:
    cmd, sent = CreateItem.from_payload({"name": "pen", "unknownKey": 1})
    assert cmd == CreateItem(name="pen") and sent == frozenset({"name"})
    cmd, sent = UpdateStock.from_payload({"quantity": 3, "note": None})
    assert (cmd.quantity, cmd.note, sent) == (3, None, frozenset({"quantity", "note"}))
    cmd, sent = UpdateStock.from_payload({"ownerId": 9})  # internal: not from the body
    assert cmd.owner_id is None and sent == frozenset()


def test_patch_fields_without_default_are_optional() -> None:
    empty = UpdateStock()
    assert (empty.quantity, empty.note, empty.owner_id, empty.slug) == (None, None, None, None)


def test_patch_of_a_non_nullable_type_refuses_null() -> None:
    with pytest.raises(ValidationError) as info:
        UpdateStock.from_payload({"quantity": None})
    assert info.value.status == 422
    assert [e.field for e in info.value.errors] == ["quantity"]
    # Patch[T | None] accepts it: "sent, as null".
    cmd, sent = UpdateStock.from_payload({"note": None})
    assert cmd.note is None and "note" in sent


def test_positional_construction() -> None:
    assert CreateItem("pen", 2) == CreateItem(name="pen", quantity=2)


def test_field_helpers() -> None:
    fields = get_command_fields(UpdateStock)
    assert list(fields) == ["quantity", "note", "owner_id", "slug"]
    assert fields["quantity"] == CommandField(patch=True, default=None)
    assert set(get_patch_fields(UpdateStock)) == {"quantity", "note"}
    assert set(get_internal_fields(UpdateStock)) == {"owner_id"}
    assert set(get_calculated_fields(UpdateStock)) == {"slug"}
    assert set(get_input_fields(UpdateStock)) == {"quantity", "note"}
    assert get_command_fields(CreateItem)["quantity"].default == 1
    assert get_command_fields(CreateItem)["name"].default is msgspec.UNSET
    assert is_patch_command(UpdateStock) and not is_patch_command(CreateItem)


def test_the_request_schema_shows_which_patch_fields_accept_null() -> None:
    from loom.core.command import codec_for

    schema = msgspec.json.schema(codec_for(UpdateStock).json_schema_type())
    (definition,) = schema["$defs"].values()
    props = definition["properties"]
    assert props["quantity"] == {"type": "integer"}
    assert {"type": "null"} in props["note"]["anyOf"]
    assert set(props) == {"quantity", "note"} and not definition.get("required")
