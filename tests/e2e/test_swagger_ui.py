"""Swagger UI at ``/docs`` rendered by a real headless Chromium.

The store is served by ``loom run`` (uvicorn, a real port); Chromium loads ``/docs``,
runs Swagger UI's JavaScript (served by the app itself: no CDN), and the rendered DOM
must show the API's title and one operation block for every operation of
``/openapi.json``. Skipped, with the reason, only where no Chromium is installed
(``.ci/run`` installs it).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.uvicorn_server import serve_http

ROOT = Path(__file__).resolve().parents[2]
STORE = ROOT / "examples" / "store"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def find_chromium() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


@pytest.fixture
def store_server(tmp_path: Path) -> Iterator[str]:
    """The store served by ``loom run`` on a free port; yields its base URL."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'store.db'}",
        "LOG_LEVEL": "WARNING",
    }

    def command(port: int) -> list[str]:
        return [sys.executable, "-m", "loom.cli", "run", "config/api.yaml", "--port", str(port)]

    with serve_http(
        command, cwd=STORE, env=env, workdir=tmp_path, name="loom-run", ready_path="/health/live"
    ) as base:
        yield base


def render(browser: str, url: str, profile: Path) -> str:
    """The DOM after the page's scripts ran (virtual time lets them finish)."""
    done = subprocess.run(
        [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--virtual-time-budget=20000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_swagger_ui_renders_every_store_operation(store_server: str, tmp_path: Path) -> None:
    browser = find_chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium); .ci/run installs it")
    spec = httpx.get(f"{store_server}/openapi.json", timeout=10).json()
    expected = {
        f"operations-{(op.get('tags') or ['default'])[0]}-{op['operationId']}"
        for item in spec["paths"].values()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert len(expected) >= 20

    dom = render(browser, f"{store_server}/docs", tmp_path / "chromium-profile")

    assert "Failed to load API definition" not in dom
    assert re.search(r'class="title">\s*Store API', dom), dom[:2000]
    rendered = {html.unescape(m) for m in re.findall(r'id="(operations-[^"]+)"', dom)}
    assert expected <= rendered, sorted(expected - rendered)
    for tag in ("Users", "UserAddresses", "Products", "Orders"):
        assert f'data-tag="{tag}"' in dom
    assert 'data-path="/products/low-stock"' in dom
