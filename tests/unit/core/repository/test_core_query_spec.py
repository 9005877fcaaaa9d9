"""Query specs and cursor tokens, without any database."""

from __future__ import annotations

import base64
import datetime as dt

import msgspec
import pytest

from loom.core.errors import ValidationError
from loom.core.model import BaseModel, ColumnField, model_info
from loom.core.repository._coerce import coerce_filter_value
from loom.core.repository._listing import coerce_id, sort_columns
from loom.core.repository.abc.query import (
    DEFAULT_LIMIT,
    FilterGroup,
    FilterOp,
    FilterSpec,
    PaginationMode,
    QuerySpec,
    SortDirection,
    SortSpec,
)
from loom.core.repository.cursor import CursorCodec, query_signature


class UqThing(BaseModel):
    __tablename__ = "uq_things"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=20)
    size: int | None = None


INFO = model_info(UqThing)


@pytest.mark.parametrize("given", ["asc", "ASC", "Asc", SortDirection.ASC])
def test_sort_direction_ascending_normalised(given: str) -> None:
    assert SortSpec(field="x", direction=given).direction is SortDirection.ASC  # type: ignore[arg-type]


@pytest.mark.parametrize("given", ["desc", "DESC", "dEsC"])
def test_sort_direction_descending_normalised(given: str) -> None:
    assert SortSpec(field="x", direction=given).direction is SortDirection.DESC  # type: ignore[arg-type]


def test_sort_default_direction_and_invalid_direction() -> None:
    assert SortSpec(field="x").direction is SortDirection.ASC
    with pytest.raises(ValueError):
        SortSpec(field="x", direction="sideways")  # type: ignore[arg-type]


def test_query_spec_defaults() -> None:
    q = QuerySpec()
    assert q.filters is None and q.sort == () and q.cursor is None
    assert q.pagination is PaginationMode.OFFSET
    assert (q.limit, q.page) == (DEFAULT_LIMIT, 1) == (50, 1)


def test_query_spec_normalises_pagination_and_sort_list() -> None:
    q = QuerySpec(pagination="cursor", sort=[SortSpec(field="a")])  # type: ignore[arg-type]
    assert q.pagination is PaginationMode.CURSOR
    assert isinstance(q.sort, tuple)
    with pytest.raises(ValueError):
        QuerySpec(pagination="sideways")  # type: ignore[arg-type]


def test_filter_group_logic_validated_and_empty() -> None:
    assert FilterGroup().empty
    assert FilterGroup(groups=(FilterGroup(),)).empty
    assert not FilterGroup(filters=(FilterSpec(field="a", value=1),)).empty
    assert FilterGroup(logic="or").logic == "or"
    with pytest.raises(ValueError):
        FilterGroup(logic="XOR")


def test_query_spec_converts_from_builtins() -> None:
    q = msgspec.convert(
        {"sort": [{"field": "a", "direction": "DESC"}], "pagination": "cursor", "limit": 5},
        QuerySpec,
    )
    assert q.sort[0].direction is SortDirection.DESC and q.limit == 5


def test_sort_columns_append_the_primary_key_with_the_last_direction() -> None:
    keys = sort_columns(INFO, (SortSpec(field="size", direction="DESC"),))
    assert [(k.col.name, k.desc) for k in keys] == [("size", True), ("id", True)]
    assert [k.col.name for k in sort_columns(INFO, ())] == ["id"]
    keys = sort_columns(INFO, (SortSpec(field="id"), SortSpec(field="name")))
    assert [k.col.name for k in keys] == ["id"]
    with pytest.raises(ValidationError) as err:
        sort_columns(INFO, (SortSpec(field="colour"),))
    assert err.value.errors[0].field == "colour"


def test_coerce_id() -> None:
    missing = coerce_id(INFO, 2**70)
    assert coerce_id(INFO, "12") == 12
    assert coerce_id(INFO, "x") is missing
    assert coerce_id(INFO, -(2**64)) is missing


def test_filter_values_are_coerced_to_the_column_type() -> None:
    size = INFO.columns["size"]
    assert coerce_filter_value(size, FilterSpec(field="size", op=FilterOp.GT, value="4")) == 4
    assert coerce_filter_value(size, FilterSpec(field="size", op=FilterOp.IN, value="1,2")) == [
        1,
        2,
    ]
    with pytest.raises(ValidationError, match="at most 1000"):
        coerce_filter_value(size, FilterSpec(field="size", op=FilterOp.IN, value=list(range(1001))))


# -- cursor tokens -----------------------------------------------------------------------

CODEC = CursorCodec("s3cret")
SIG = query_signature("things", ["size:a", "id:a"], None)


def test_cursor_round_trip() -> None:
    values = [None, 3, "x", 1.5, True, "2024-01-01T00:00:00Z"]
    token = CODEC.encode(SIG, values)
    assert isinstance(token, str) and "=" not in token
    assert CODEC.decode(token, SIG) == values


def test_cursor_token_is_url_safe() -> None:
    token = CODEC.encode(SIG, ["?&/+ ü" * 5])
    assert all(c.isalnum() or c in "-_" for c in token)


def flip(token: str, index: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[index] ^= 0x20
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


@pytest.mark.parametrize("index", [0, 5, -1, -17])
def test_tampered_cursor_is_rejected(index: int) -> None:
    token = CODEC.encode(SIG, [3, 4])
    with pytest.raises(ValidationError) as err:
        CODEC.decode(flip(token, index), SIG)
    assert err.value.errors[0].field == "after"


@pytest.mark.parametrize("token", ["", "x", "!!!", "a" * 5000, "AAAA", "e30"])
def test_malformed_cursor_is_rejected(token: str) -> None:
    with pytest.raises(ValidationError):
        CODEC.decode(token, SIG)


def test_cursor_signed_with_another_secret_is_rejected() -> None:
    token = CursorCodec("other").encode(SIG, [1])
    with pytest.raises(ValidationError, match="invalid"):
        CODEC.decode(token, SIG)


def test_cursor_for_another_query_is_rejected() -> None:
    token = CODEC.encode(SIG, [1, 2])
    other = query_signature("things", ["size:d", "id:d"], None)
    with pytest.raises(ValidationError, match="does not belong"):
        CODEC.decode(token, other)


def test_query_signature_depends_on_every_part() -> None:
    base = query_signature("t", ["a:a"], None)
    assert base == query_signature("t", ["a:a"], None)
    assert base != query_signature("u", ["a:a"], None)
    assert base != query_signature("t", ["a:d"], None)
    group = FilterGroup(filters=(FilterSpec(field="a", value=dt.date(2024, 1, 1)),))
    assert base != query_signature("t", ["a:a"], group)
