"""Trace id contextvar: binding, validation and carrying it into jobs."""

from __future__ import annotations

import asyncio
import os

from loom.core.observability.context import (
    TRACE_ID_HEADER,
    bind_trace_id,
    capture_trace_headers,
    current_trace_id,
    is_valid_trace_id,
    new_trace_id,
    reset_trace_id,
    restore_trace_headers,
    trace_scope,
)


def test_bind_and_reset_restore_previous_value() -> None:
    assert current_trace_id() is None
    outer = bind_trace_id("outer")
    inner = bind_trace_id("inner")
    assert current_trace_id() == "inner"
    reset_trace_id(inner)
    assert current_trace_id() == "outer"
    reset_trace_id(outer)
    assert current_trace_id() is None


def test_new_trace_id_is_32_hex_and_unique() -> None:
    ids = {new_trace_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_forked_workers_do_not_repeat_each_others_ids() -> None:
    """Worker processes are forked from one parent: each must draw its own ids."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write_end, ",".join(new_trace_id() for _ in range(3)).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read_end, 4096).decode().split(",")
    parent = [new_trace_id() for _ in range(3)]
    assert len(child) == 3 and not set(child) & set(parent)


def test_validation_accepts_safe_ids_only() -> None:
    assert is_valid_trace_id("abc-DEF_1.2")
    assert is_valid_trace_id("a" * 128)
    assert not is_valid_trace_id("a" * 129)
    assert not is_valid_trace_id("")
    assert not is_valid_trace_id("bad id")
    assert not is_valid_trace_id("line\nbreak")
    assert not is_valid_trace_id(None)


def test_trace_scope_generates_for_missing_or_invalid_ids() -> None:
    with trace_scope("given-1") as tid:
        assert tid == "given-1" == current_trace_id()
    with trace_scope("not valid!") as tid:
        assert tid != "not valid!" and len(tid) == 32
    with trace_scope() as tid:
        assert current_trace_id() == tid
    assert current_trace_id() is None


async def test_trace_id_follows_into_tasks() -> None:
    async def read() -> str | None:
        await asyncio.sleep(0)
        return current_trace_id()

    with trace_scope("req-7"):
        assert await asyncio.create_task(read()) == "req-7"


def test_capture_and_restore_carry_the_id_into_a_job() -> None:
    with trace_scope("req-42"):
        headers = capture_trace_headers()
    assert headers == {TRACE_ID_HEADER: "req-42"}  # no traceparent while tracing is off
    assert current_trace_id() is None
    with restore_trace_headers(headers) as tid:
        assert tid == "req-42" == current_trace_id()
    assert current_trace_id() is None


def test_restore_without_headers_gives_a_fresh_id() -> None:
    assert capture_trace_headers() == {}
    with restore_trace_headers(None) as tid:
        assert len(tid) == 32 and current_trace_id() == tid
    with restore_trace_headers({TRACE_ID_HEADER: 12}) as tid:
        assert len(tid) == 32
