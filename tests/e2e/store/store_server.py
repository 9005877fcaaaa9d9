"""The store example served by uvicorn in a subprocess, on a fresh database.

Run from ``examples/store`` exactly as a user would (``uvicorn app.main:app`` with
``DATABASE_URL`` set), on a free port; :func:`running_store` yields its base URL.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from tests.uvicorn_server import serve_uvicorn

STORE = Path(__file__).resolve().parents[3] / "examples" / "store"


@contextlib.contextmanager
def running_store(database_url: str, workdir: Path) -> Iterator[str]:
    """Start the store on ``database_url``; yield ``http://127.0.0.1:<port>``."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        "LOOM_SECRET_KEY": secrets.token_hex(16),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CELERY_BROKER_URL", None)
    with serve_uvicorn(
        ["app.main:app", "--app-dir", "src"], cwd=STORE, env=env, workdir=workdir, name="store"
    ) as base_url:
        yield base_url
