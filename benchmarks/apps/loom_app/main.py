"""Entry point: ``uvicorn --factory benchmarks.apps.loom_app.main:create_app``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CONFIG = Path(__file__).resolve().parent / "config" / "bench.yaml"


def create_app() -> Any:
    from loom.rest.fastapi.auto import create_app as loom_create_app

    return loom_create_app(str(CONFIG))


def available() -> str | None:
    """None when Loom's REST bootstrap imports, else the reason it does not."""
    try:
        import loom.rest.fastapi.auto  # noqa: F401
    except ImportError as exc:
        return f"loom.rest.fastapi.auto does not import yet ({exc})"
    return None
