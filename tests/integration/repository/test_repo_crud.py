"""CRUD through the repository protocol, on SQLite, PostgreSQL and in memory."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import pytest
from repo_support import ItrUser, user_data

from conftest import RepoFactory
from loom.core.command import Command, Patch
from loom.core.errors import Conflict, ValidationError
from loom.core.repository.abc import RepoFor
from loom.core.repository.abc.query import FilterGroup, FilterOp, FilterSpec


class CreateUserCmd(Command, frozen=True):
    full_name: str
    email: str
    age: int | None = None


class PatchUserCmd(Command, frozen=True):
    full_name: Patch[str] = None
    age: Patch[int] = None


@pytest.fixture
def users(repo_factory: RepoFactory) -> Any:
    return repo_factory(ItrUser)


async def test_repository_satisfies_the_protocol(users: Any) -> None:
    assert isinstance(users, RepoFor)


async def test_create_returns_the_stored_entity_with_db_assigned_fields(users: Any) -> None:
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    user = await users.create(user_data(1, age=30))
    assert isinstance(user, ItrUser)
    assert isinstance(user.id, int) and user.id > 0
    assert (user.full_name, user.email, user.age) == ("user 001", "u001@example.com", 30)
    assert user.score == 0.0 and user.active is True and user.born_on is None
    assert user.created_at.tzinfo is not None and user.created_at >= before
    assert user.updated_at == user.created_at
    assert await users.get_by_id(user.id) == user


async def test_create_accepts_snake_and_camel_keys_structs_and_commands(users: Any) -> None:
    a = await users.create({"full_name": "snake", "email": "s@x.io"})
    b = await users.create({"fullName": "camel", "email": "c@x.io"})
    c = await users.create(CreateUserCmd(full_name="cmd", email="cmd@x.io", age=7))
    d = await users.create(msgspec.to_builtins(CreateUserCmd(full_name="tb", email="tb@x.io")))
    assert [u.full_name for u in (a, b, c, d)] == ["snake", "camel", "cmd", "tb"]
    assert c.age == 7
    assert len({a.id, b.id, c.id, d.id}) == 4


async def test_create_ignores_primary_key_and_timestamps_from_the_client(users: Any) -> None:
    forged = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    user = await users.create(
        user_data(1, id=999, createdAt=forged.isoformat(), updated_at=forged, unknown="x")
    )
    assert user.id != 999
    assert user.created_at > forged and user.updated_at > forged
    assert await users.get_by_id(999) is None


async def test_create_from_a_model_instance_ignores_its_unset_fields(users: Any) -> None:
    template = ItrUser(full_name="from model", email="model@x.io")
    user = await users.create(template)
    assert user.full_name == "from model" and isinstance(user.id, int)


async def test_create_validates_types_required_fields_and_length(users: Any) -> None:
    with pytest.raises(ValidationError) as missing:
        await users.create({"fullName": "no email"})
    assert missing.value.errors[0].field == "email"
    with pytest.raises(ValidationError) as wrong:
        await users.create(user_data(1, age="old"))
    assert wrong.value.errors[0].field == "age"
    with pytest.raises(ValidationError) as long:
        await users.create(user_data(1, fullName="x" * 41))
    assert long.value.errors[0].field == "fullName"
    with pytest.raises(ValidationError) as huge:
        await users.create(user_data(1, age=2**70))
    assert huge.value.errors[0].field == "age"
    with pytest.raises(ValidationError):
        await users.create(["not", "a", "mapping"])
    assert await users.count() == 0


async def test_exactly_max_length_is_accepted(users: Any) -> None:
    user = await users.create(user_data(1, fullName="é" * 40))
    assert (await users.get_by_id(user.id)).full_name == "é" * 40


async def test_unique_violation_is_a_conflict_naming_the_column(users: Any) -> None:
    await users.create(user_data(1))
    with pytest.raises(Conflict) as err:
        await users.create(user_data(2, email="u001@example.com"))
    assert err.value.fields == ("email",)
    assert err.value.status == 409
    assert "INSERT" not in err.value.detail and "constraint" not in err.value.detail.lower()
    assert await users.count() == 1


async def test_update_changing_a_unique_column_to_a_taken_value_conflicts(users: Any) -> None:
    await users.create(user_data(1))
    second = await users.create(user_data(2))
    with pytest.raises(Conflict) as err:
        await users.update(second.id, {"email": "u001@example.com"})
    assert err.value.fields == ("email",)
    # Re-saving its own value is not a conflict.
    assert (await users.update(second.id, {"email": second.email})).email == second.email


async def test_get_by_id_missing_and_unusable_ids_return_none(users: Any) -> None:
    user = await users.create(user_data(1))
    assert await users.get_by_id(user.id + 1000) is None
    assert await users.get_by_id(2**70) is None
    assert await users.get_by_id(-(2**70)) is None
    assert await users.get_by_id("not-a-number") is None
    assert await users.get_by_id(str(user.id)) == user


async def test_update_changes_only_the_sent_fields(users: Any) -> None:
    user = await users.create(user_data(1, age=30, score=1.5))
    updated = await users.update(user.id, {"age": 31})
    assert updated is not None
    assert updated.age == 31
    assert (updated.full_name, updated.email, updated.score) == (
        user.full_name,
        user.email,
        1.5,
    )
    assert updated.created_at == user.created_at
    assert updated.updated_at >= user.updated_at
    assert await users.get_by_id(user.id) == updated


async def test_update_with_a_patch_command_sends_only_fields_set(users: Any) -> None:
    user = await users.create(user_data(1, age=30))
    # Constructed in code: a None field counts as not sent.
    updated = await users.update(user.id, PatchUserCmd(full_name="renamed"))
    assert (updated.full_name, updated.age) == ("renamed", 30)


async def test_update_can_set_a_nullable_column_to_null(users: Any) -> None:
    user = await users.create(user_data(1, age=30))
    updated = await users.update(user.id, {"age": None})
    assert updated.age is None


async def test_update_rejects_null_for_a_required_column(users: Any) -> None:
    user = await users.create(user_data(1))
    with pytest.raises(ValidationError) as err:
        await users.update(user.id, {"fullName": None})
    assert err.value.errors[0].field == "fullName"


async def test_update_ignores_primary_key_and_timestamps(users: Any) -> None:
    user = await users.create(user_data(1))
    forged = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    updated = await users.update(user.id, {"id": 999, "createdAt": forged, "age": 5})
    assert updated.id == user.id and updated.created_at == user.created_at
    assert await users.get_by_id(999) is None


async def test_update_with_nothing_to_change_returns_the_entity(users: Any) -> None:
    user = await users.create(user_data(1))
    assert await users.update(user.id, {}) == user
    assert await users.update(user.id, {"id": 5}) == user


async def test_update_missing_row_returns_none(users: Any) -> None:
    assert await users.update(12345, {"age": 1}) is None
    assert await users.update(2**70, {"age": 1}) is None


async def test_update_validates_before_touching_the_row(users: Any) -> None:
    user = await users.create(user_data(1, age=3))
    with pytest.raises(ValidationError):
        await users.update(user.id, {"age": "three"})
    assert (await users.get_by_id(user.id)).age == 3


async def test_delete_returns_whether_a_row_was_deleted(users: Any) -> None:
    user = await users.create(user_data(1))
    assert await users.delete(user.id) is True
    assert await users.delete(user.id) is False
    assert await users.delete(2**70) is False
    assert await users.get_by_id(user.id) is None


async def test_count_exists_by_and_list_by(users: Any) -> None:
    made = [await users.create(user_data(n, age=n % 3)) for n in range(1, 8)]
    assert await users.count() == 7
    zero_age = FilterGroup(filters=(FilterSpec(field="age", op=FilterOp.EQ, value=0),))
    assert await users.count(zero_age) == 2
    assert await users.exists_by("email", "u003@example.com") is True
    assert await users.exists_by("email", "nobody@example.com") is False
    assert await users.exists_by("fullName", "user 004") is True
    listed = await users.list_by("id", [made[4].id, made[1].id, 10**6])
    assert [u.id for u in listed] == [made[1].id, made[4].id]
    assert await users.list_by("age", []) == []
    assert [u.id for u in await users.list_by("age", ["2"])] == [made[1].id, made[4].id]


async def test_unknown_fields_in_lookups_are_validation_errors(users: Any) -> None:
    with pytest.raises(ValidationError):
        await users.exists_by("password", "x")
    with pytest.raises(ValidationError):
        await users.list_by("password", ["x"])
    with pytest.raises(ValidationError):
        await users.list_by("id", [2**70])


async def test_unknown_profile_is_a_validation_error(users: Any) -> None:
    user = await users.create(user_data(1))
    with pytest.raises(ValidationError) as err:
        await users.get_by_id(user.id, profile="nope")
    assert err.value.errors[0].field == "profile"


async def test_dates_and_floats_round_trip(users: Any) -> None:
    user = await users.create(user_data(1, bornOn="1990-05-17", score=0.1))
    loaded = await users.get_by_id(user.id)
    assert loaded.born_on == dt.date(1990, 5, 17)
    assert loaded.score == pytest.approx(0.1)
