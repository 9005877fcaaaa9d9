"""Structured logging for the ``logger`` config section.

structlog renders Loom's own log calls, and the stdlib root handler uses the same
renderer through :class:`structlog.stdlib.ProcessorFormatter`, so uvicorn, Celery and
library lines come out in one format (console for development, JSON in production)
with the same ISO-8601 UTC timestamp and the current trace id.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, MutableMapping
from typing import IO, Any

import structlog

from loom.core.observability.context import current_trace_id

__all__ = ["add_trace_id", "configure_logging", "get_logger", "reset_logging"]

_RENDERERS = {
    "console": "console",
    "dev": "console",
    "pretty": "console",
    "text": "console",
    "json": "json",
    "logfmt": "keyvalue",
    "keyvalue": "keyvalue",
    "kv": "keyvalue",
}

# Loggers that install handlers of their own (uvicorn's dictConfig runs before the
# app is imported): their handlers are dropped so their records reach the root
# handler and share the format instead of appearing twice in another shape.
_ROUTED_LOGGERS = (
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "celery",
    "celery.app.trace",
    "celery.task",
    "celery.worker",
)


class _LoomHandler(logging.StreamHandler):
    """Marks the root handler Loom installed so reconfiguring replaces only it."""


class _State:
    """What the last :func:`configure_logging` call applied (for idempotence)."""

    __slots__ = ("key", "name", "prior_level")

    def __init__(self) -> None:
        self.key: tuple[Any, ...] | None = None
        self.name = "loom"
        self.prior_level: int | None = None


_state = _State()


def add_trace_id(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: put the contextvar trace id on every line that has none."""
    if "trace_id" not in event_dict:
        trace_id = current_trace_id()
        if trace_id is not None:
            event_dict["trace_id"] = trace_id
    return event_dict


def _level(value: Any) -> int:
    """Accept ``"info"``, ``"INFO"``, ``20`` or ``"20"``; anything else means INFO."""
    if isinstance(value, bool):
        return logging.INFO
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        resolved = logging.getLevelName(text.upper())
        if isinstance(resolved, int):
            return resolved
    return logging.INFO


def _renderer_kind(cfg: Mapping[str, Any]) -> str:
    """``renderer`` wins; a known ``format`` value is honoured; unknown values fall back."""
    for key in ("renderer", "format"):
        value = cfg.get(key)
        if isinstance(value, str) and value.strip().lower() in _RENDERERS:
            return _RENDERERS[value.strip().lower()]
    return "console"


def _make_renderer(kind: str, stream: IO[str]) -> Any:
    if kind == "json":
        return structlog.processors.JSONRenderer()
    if kind == "keyvalue":
        return structlog.processors.KeyValueRenderer(
            key_order=["timestamp", "level", "event", "logger", "trace_id"], drop_missing=True
        )
    colors = bool(getattr(stream, "isatty", lambda: False)())
    # Plain tracebacks: rich's default shows local variables, which would print
    # request bodies and credentials into the log.
    return structlog.dev.ConsoleRenderer(
        colors=colors, exception_formatter=structlog.dev.plain_traceback
    )


def configure_logging(
    cfg: Mapping[str, Any] | None = None, *, stream: IO[str] | None = None
) -> None:
    """Configure structlog and the stdlib root logger from the ``logger`` section.

    Keys: ``name`` (default ``"loom"``, the logger :func:`get_logger` returns without a
    name), ``level`` (default INFO), ``renderer`` (``console`` default, ``json``,
    ``logfmt``). Unknown keys are ignored. Calling it again with the same settings is
    a no-op, so the REST app, the worker and the tests may all call it; different
    settings replace the previous configuration. ``stream`` (default stderr) exists
    for tests that read the rendered lines.
    """
    cfg = cfg if isinstance(cfg, Mapping) else {}
    name = str(cfg.get("name") or "loom")
    level = _level(cfg.get("level", logging.INFO))
    kind = _renderer_kind(cfg)
    out = stream if stream is not None else sys.stderr
    key = (name, level, kind, id(out))
    if key == _state.key:
        return
    _state.name = name

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        add_trace_id,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    final: list[Any] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if kind != "console":
        # The console renderer pretty-prints tracebacks itself; the others want text.
        final.append(structlog.processors.format_exc_info)
    final.append(_make_renderer(kind, out))

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: a cached logger keeps its processors, which would make a later
        # reconfiguration (or structlog.testing.capture_logs) silently miss it.
        cache_logger_on_first_use=False,
    )

    handler = _LoomHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=final)
    )
    root = logging.getLogger()
    if _state.prior_level is None:
        _state.prior_level = root.level
    for old in [h for h in root.handlers if isinstance(h, _LoomHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for routed in _ROUTED_LOGGERS:
        lg = logging.getLogger(routed)
        lg.handlers.clear()
        lg.propagate = True
    _state.key = key


def get_logger(name: str | None = None, **initial: Any) -> Any:
    """A structlog logger; without ``name``, the one named by ``logger.name``."""
    return structlog.stdlib.get_logger(name or _state.name, **initial)


def reset_logging() -> None:
    """Undo :func:`configure_logging`: drop Loom's root handler, restore the root level
    and structlog's defaults.

    For tests and embedding code that configure logging several times in one process.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _LoomHandler)]:
        root.removeHandler(old)
    if _state.prior_level is not None:
        root.setLevel(_state.prior_level)
        _state.prior_level = None
    structlog.reset_defaults()
    _state.key = None
    _state.name = "loom"
