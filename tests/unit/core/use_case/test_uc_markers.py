"""Parameter markers: how ``execute`` gets its arguments."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from uc_support import UcAuthor, UcBook, memory_runtime

from loom.core.command import Command, Patch, fields_set
from loom.core.errors import NotFound, ValidationError
from loom.core.repository.abc.query import FilterGroup, FilterOp, FilterSpec, QuerySpec
from loom.core.use_case import Exists, Input, LoadById, OnMissing
from loom.core.use_case.use_case import UseCase


class EchoParams(UseCase[UcBook, dict]):
    async def execute(
        self, book_id: int, day: dt.date, token: uuid.UUID, label: str, ratio: float = 1.0
    ) -> dict:
        return {"book_id": book_id, "day": day, "token": token, "label": label, "ratio": ratio}


async def test_path_params_are_converted_to_their_annotations() -> None:
    runtime = memory_runtime()
    token = uuid.uuid4()
    out = await runtime.execute(
        EchoParams,
        params={"book_id": "42", "day": "2024-05-06", "token": str(token), "label": 7},
    )
    assert out == {
        "book_id": 42,
        "day": dt.date(2024, 5, 6),
        "token": token,
        "label": "7",
        "ratio": 1.0,
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("book_id", "abc"),
        ("book_id", "1.5"),
        ("book_id", str(2**70)),
        ("day", "yesterday"),
        ("token", "not-a-uuid"),
        ("ratio", "lots"),
    ],
)
async def test_bad_path_param_is_a_422_naming_the_param(name: str, value: str) -> None:
    runtime = memory_runtime()
    params: dict[str, Any] = {
        "book_id": "1",
        "day": "2024-01-01",
        "token": str(uuid.uuid4()),
        "label": "x",
    }
    params[name] = value
    with pytest.raises(ValidationError) as info:
        await runtime.execute(EchoParams, params=params)
    assert info.value.status == 422
    assert [e.field for e in info.value.errors] == [name]


async def test_missing_required_param_is_a_422() -> None:
    runtime = memory_runtime()
    with pytest.raises(ValidationError) as info:
        await runtime.execute(EchoParams, params={"day": "2024-01-01"})
    assert info.value.errors[0].field == "book_id"


class RenameAuthor(Command, frozen=True):
    full_name: str
    nick_name: Patch[str] = None


class EchoInput(UseCase[UcAuthor, dict]):
    async def execute(self, cmd: RenameAuthor = Input()) -> dict:
        return {"full_name": cmd.full_name, "nick": cmd.nick_name, "sent": fields_set(cmd)}


@pytest.mark.parametrize(
    "payload",
    [
        {"full_name": "Ada", "nick_name": "A"},
        {"fullName": "Ada", "nickName": "A"},
        {"full_name": "Ada", "nickName": "A"},
        b'{"fullName": "Ada", "nick_name": "A"}',
    ],
)
async def test_input_accepts_python_and_camel_case_keys(payload: Any) -> None:
    out = await memory_runtime().execute(EchoInput, payload=payload)
    assert out == {"full_name": "Ada", "nick": "A", "sent": {"full_name", "nick_name"}}


async def test_input_records_which_fields_were_sent() -> None:
    out = await memory_runtime().execute(EchoInput, payload={"fullName": "Ada"})
    assert out["sent"] == {"full_name"}
    assert out["nick"] is None


async def test_input_missing_field_and_wrong_type_are_422_naming_the_field() -> None:
    runtime = memory_runtime()
    with pytest.raises(ValidationError) as missing:
        await runtime.execute(EchoInput, payload={"nickName": "A"})
    assert [e.field for e in missing.value.errors] == ["fullName"]
    with pytest.raises(ValidationError) as wrong:
        await runtime.execute(EchoInput, payload={"fullName": 3})
    assert [e.field for e in wrong.value.errors] == ["fullName"]


class EchoQuery(UseCase[UcBook, Any]):
    async def execute(self, query: QuerySpec, profile: str = "default") -> Any:
        return query, profile


async def test_query_spec_is_injected_and_defaults_to_an_empty_query() -> None:
    runtime = memory_runtime()
    spec = QuerySpec(limit=3)
    assert await runtime.execute(EchoQuery, query=spec, profile="full") == (spec, "full")
    query, profile = await runtime.execute(EchoQuery)
    assert query == QuerySpec()
    assert profile == "default"


class EchoProfile(UseCase[UcBook, str]):
    async def execute(self, profile: str = "compact") -> str:
        return profile


async def test_profile_takes_the_requested_one_or_the_declared_default() -> None:
    runtime = memory_runtime()
    assert await runtime.execute(EchoProfile) == "compact"
    assert await runtime.execute(EchoProfile, profile="wide") == "wide"


async def _author(runtime: Any, name: str = "Ann", email: str = "ann@example.com") -> Any:
    return await runtime.repo_for(UcAuthor).create({"name": name, "email": email})


class ExistsFromParam(UseCase[UcBook, Any]):
    async def execute(
        self,
        author_id: int,
        raise_: bool = Exists(UcAuthor, from_param="author_id", on_missing=OnMissing.RAISE),
    ) -> Any:
        return raise_


class ExistsModes(UseCase[UcBook, Any]):
    async def execute(
        self,
        author_id: int,
        default: bool = Exists(UcAuthor, from_param="author_id"),
        as_false: bool = Exists(
            UcAuthor, from_param="author_id", on_missing=OnMissing.RETURN_FALSE
        ),
        as_none: bool | None = Exists(
            UcAuthor, from_param="author_id", on_missing=OnMissing.RETURN_NONE
        ),
    ) -> Any:
        return default, as_false, as_none


async def test_exists_from_param_each_on_missing() -> None:
    runtime = memory_runtime()
    author = await _author(runtime)
    assert await runtime.execute(ExistsFromParam, params={"author_id": str(author.id)}) is True
    assert await runtime.execute(ExistsModes, params={"author_id": author.id}) == (
        True,
        True,
        True,
    )
    # RETURN_NONE behaves like RETURN_FALSE, as in 0.2.
    assert await runtime.execute(ExistsModes, params={"author_id": 999}) == (False, False, False)
    with pytest.raises(NotFound) as info:
        await runtime.execute(ExistsFromParam, params={"author_id": 999})
    assert info.value.status == 404
    assert "UcAuthor" in info.value.detail


class BookByAuthorEmail(Command, frozen=True):
    title: str
    author_email: str


class CreateBookForEmail(UseCase[UcBook, Any]):
    ran: list[str] = []

    async def execute(
        self,
        cmd: BookByAuthorEmail = Input(),
        known: bool = Exists(UcAuthor, from_command="author_email", against="email"),
        required: bool = Exists(
            UcAuthor,
            from_command="author_email",
            against="email",
            on_missing=OnMissing.RAISE,
        ),
    ) -> Any:
        self.ran.append(cmd.title)
        return known, required


async def test_exists_from_command_against_another_column() -> None:
    runtime = memory_runtime()
    await _author(runtime, email="bo@example.com")
    payload = {"title": "T", "authorEmail": "bo@example.com"}
    assert await runtime.execute(CreateBookForEmail, payload=payload) == (True, True)


async def test_exists_raise_stops_before_execute_runs() -> None:
    runtime = memory_runtime()
    CreateBookForEmail.ran.clear()
    with pytest.raises(NotFound):
        await runtime.execute(
            CreateBookForEmail, payload={"title": "never", "author_email": "nobody@example.com"}
        )
    assert CreateBookForEmail.ran == []


class GetBookTitle(UseCase[UcBook, str]):
    async def execute(self, book_id: int, book: UcBook = LoadById(UcBook, by="book_id")) -> str:
        return f"{book.title} ({book.pages})"


class MaybeBook(UseCase[UcBook, Any]):
    async def execute(
        self,
        book_id: int,
        book: UcBook | None = LoadById(UcBook, by="book_id", on_missing=OnMissing.RETURN_NONE),
    ) -> Any:
        return book


async def test_load_by_id_loads_the_entity_or_404s() -> None:
    runtime = memory_runtime()
    author = await _author(runtime)
    book = await runtime.repo_for(UcBook).create(
        {"author_id": author.id, "title": "Dune", "pages": 412}
    )
    assert await runtime.execute(GetBookTitle, params={"book_id": str(book.id)}) == "Dune (412)"
    with pytest.raises(NotFound) as info:
        await runtime.execute(GetBookTitle, params={"book_id": 12345})
    assert info.value.status == 404
    assert "12345" in info.value.detail
    assert await runtime.execute(MaybeBook, params={"book_id": 12345}) is None


class BookByCommandId(Command, frozen=True):
    book_id: int


class LoadFromCommand(UseCase[UcBook, str]):
    async def execute(
        self, cmd: BookByCommandId = Input(), book: UcBook = LoadById(UcBook, by="book_id")
    ) -> str:
        return book.title


async def test_load_by_id_can_take_the_id_from_the_command() -> None:
    runtime = memory_runtime()
    author = await _author(runtime)
    book = await runtime.repo_for(UcBook).create({"author_id": author.id, "title": "Emma"})
    assert await runtime.execute(LoadFromCommand, payload={"bookId": book.id}) == "Emma"
    with pytest.raises(NotFound):
        await runtime.execute(LoadFromCommand, payload={"bookId": 777})


async def test_query_spec_from_a_use_case_filters_in_memory() -> None:
    """The injected spec reaches the repository untouched."""

    class ListBooks(UseCase[UcBook, Any]):
        async def execute(self, query: QuerySpec) -> Any:
            return await self.main_repo.list_with_query(query)

    runtime = memory_runtime()
    author = await _author(runtime)
    repo = runtime.repo_for(UcBook)
    for i in range(3):
        await repo.create({"author_id": author.id, "title": f"b{i}", "pages": i * 100})
    spec = QuerySpec(
        filters=FilterGroup(filters=(FilterSpec(field="pages", op=FilterOp.GTE, value=100),))
    )
    page = await runtime.execute(ListBooks, query=spec)
    assert [b.title for b in page.items] == ["b1", "b2"]
    assert page.total_count == 2
