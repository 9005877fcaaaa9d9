"""configure_logging: one format for structlog and stdlib, trace id on every line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime

import pytest

from loom.core.observability import logging as obs_logging
from loom.core.observability.context import trace_scope
from loom.core.observability.logging import configure_logging, get_logger, reset_logging


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    reset_logging()


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_lines_carry_trace_id_level_logger_and_utc_timestamp() -> None:
    out = io.StringIO()
    configure_logging({"name": "shop", "level": "debug", "renderer": "json"}, stream=out)
    with trace_scope("req-1"):
        get_logger().info("created", user_id=3)
    get_logger("other").debug("outside")
    first, second = _lines(out)
    assert first["event"] == "created" and first["user_id"] == 3
    assert first["trace_id"] == "req-1"
    assert first["level"] == "info" and first["logger"] == "shop"
    stamp = str(first["timestamp"])
    assert stamp.endswith("Z")
    assert datetime.fromisoformat(stamp.replace("Z", "+00:00")).utcoffset().total_seconds() == 0
    assert second["logger"] == "other" and "trace_id" not in second


def test_stdlib_and_uvicorn_lines_share_the_format() -> None:
    uvicorn_handler = logging.StreamHandler(io.StringIO())
    logging.getLogger("uvicorn.error").addHandler(uvicorn_handler)
    out = io.StringIO()
    configure_logging({"renderer": "json"}, stream=out)
    assert uvicorn_handler not in logging.getLogger("uvicorn.error").handlers
    with trace_scope("req-2"):
        logging.getLogger("uvicorn.error").info("Started %s", "server")
    (line,) = _lines(out)
    assert line["event"] == "Started server"
    assert line["trace_id"] == "req-2"
    assert line["logger"] == "uvicorn.error" and "timestamp" in line


def test_level_filters_and_explicit_trace_id_wins() -> None:
    out = io.StringIO()
    configure_logging({"level": "WARNING", "renderer": "json"}, stream=out)
    log = get_logger()
    log.info("hidden")
    with trace_scope("ctx"):
        log.warning("shown", trace_id="explicit")
    (line,) = _lines(out)
    assert line["event"] == "shown" and line["trace_id"] == "explicit"


def test_configure_is_idempotent_and_replaces_its_own_handler() -> None:
    out = io.StringIO()
    configure_logging({"renderer": "json"}, stream=out)
    configure_logging({"renderer": "json"}, stream=out)
    ours = [h for h in logging.getLogger().handlers if isinstance(h, obs_logging._LoomHandler)]
    assert len(ours) == 1
    configure_logging({"renderer": "console"}, stream=out)
    ours = [h for h in logging.getLogger().handlers if isinstance(h, obs_logging._LoomHandler)]
    assert len(ours) == 1


def test_console_default_and_unknown_values_fall_back() -> None:
    out = io.StringIO()
    configure_logging({"renderer": "fancy", "format": "%(message)s", "level": "nope"}, stream=out)
    with trace_scope("req-3"):
        get_logger().info("hello")
    text = out.getvalue()
    assert "hello" in text and "req-3" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_known_format_value_selects_the_renderer() -> None:
    out = io.StringIO()
    configure_logging({"format": "json"}, stream=out)
    get_logger().info("x")
    assert _lines(out)[0]["event"] == "x"


def test_none_config_uses_defaults() -> None:
    out = io.StringIO()
    configure_logging(None, stream=out)
    get_logger().info("default")
    assert "default" in out.getvalue()
    assert logging.getLogger().level == logging.INFO
