"""Entry point: ``uvicorn --factory benchmarks.apps.loom_app.main:create_app``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CONFIG = Path(__file__).resolve().parent / "config" / "bench.yaml"
DEFAULTS = CONFIG.with_name("bench-defaults.yaml")
"""The same application with no pool settings (``BENCH_POOL=default``)."""


def create_app() -> Any:
    from benchmarks.settings import DEFAULT_POOLS
    from loom.rest.fastapi.auto import create_app as loom_create_app

    return loom_create_app(str(DEFAULTS if DEFAULT_POOLS else CONFIG))


def available() -> str | None:
    """None when Loom's REST bootstrap imports, else the reason it does not."""
    try:
        import loom.rest.fastapi.auto  # noqa: F401
    except ImportError as exc:
        return f"loom.rest.fastapi.auto does not import yet ({exc})"
    return None
