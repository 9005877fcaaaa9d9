"""The FastAPI adapter: ``create_app("config/api.yaml")`` builds the app from config;
``build_fastapi_app(runtime, defaults=)`` from an already built runtime.

This package is the FastAPI shell only (the app class, Swagger UI, ``create_app``);
what serves a request (the dispatcher, Loom's router, idempotency, observability)
imports no FastAPI and lives in ``loom.rest.asgi``.

The names are resolved on first use: the adapter's own modules import one another
through this package, and ``create_app`` pulls in the whole bootstrap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loom.rest.fastapi.app import LoomFastAPI, build_fastapi_app
    from loom.rest.fastapi.auto import create_app
    from loom.rest.model import RestApiDefaults

__all__ = ["LoomFastAPI", "RestApiDefaults", "build_fastapi_app", "create_app"]

_WHERE = {
    "create_app": "loom.rest.fastapi.auto",
    "build_fastapi_app": "loom.rest.fastapi.app",
    "LoomFastAPI": "loom.rest.fastapi.app",
    "RestApiDefaults": "loom.rest.model",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
