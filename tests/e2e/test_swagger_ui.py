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
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def store_server(tmp_path: Path) -> Iterator[str]:
    """The store served by ``loom run`` on a free port; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'store.db'}",
        "LOG_LEVEL": "WARNING",
    }
    cmd = [sys.executable, "-m", "loom.cli", "run", "config/api.yaml", "--port", str(port)]
    proc = subprocess.Popen(
        cmd, cwd=STORE, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"loom run exited with {proc.returncode}: {proc.stdout.read()}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("loom run did not start serving within 30 s")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
