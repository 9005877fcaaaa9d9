"""Every route answers at its declared path and with/without the trailing slash,
directly: clients that do not follow redirects (httpx, curl, generated clients) must
not see a 307, and a POST body must not be lost."""

from __future__ import annotations

import json
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
from fastapi.testclient import TestClient
from rest_support import CONFIG, seed

from loom.rest.fastapi.auto import create_app
from loom.rest.routes import CompiledRoute

REST_TESTS = Path(__file__).resolve().parent
_PARAM = re.compile(r"{[^}]+}")


def _write_config(directory: Path) -> Path:
    path = directory / "api.yaml"
    path.write_text(CONFIG.format(url=f"sqlite+aiosqlite:///{directory / 'slash.db'}"))
    return path


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(_write_config(tmp_path_factory.mktemp("slash")))
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as c:
        seed(c)
        yield c


def _toggled(path: str) -> str:
    return path[:-1] if path.endswith("/") and path != "/" else path + "/"


def test_a_post_to_the_collection_with_a_slash_creates(client: TestClient) -> None:
    body = {"sku": "S-1", "name": "Slash", "priceCents": 10}
    created = client.post("/products/", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["sku"] == "S-1"
    again = client.post("/products", json={**body, "sku": "S-2"})
    assert again.status_code == 201 and again.json()["sku"] == "S-2"
    assert client.post("/categories/", json={"name": "slashed"}).status_code == 201


def test_both_forms_of_every_route_answer_the_same(client: TestClient) -> None:
    routes: list[CompiledRoute] = client.app.state.loom_routes  # type: ignore[attr-defined]
    product = client.get("/products/?limit=1").json()["items"][0]["id"]
    assert len(routes) >= 12
    for route in routes:
        # A missing id for deletes, so both forms see the same state.
        ident = "999999" if route.method == "DELETE" else str(product)
        url = _PARAM.sub(ident, route.path)
        statuses = []
        for form in (url, _toggled(url)):
            response = client.request(route.method, form, json={})
            where = f"{route.method} {form}"
            assert not 300 <= response.status_code < 400, where
            assert response.status_code != 405, where
            if response.status_code == 404:
                assert not response.json()["detail"].startswith("no route"), where
            statuses.append(response.status_code)
        assert statuses[0] == statuses[1], (route.method, url, statuses)


def test_get_patch_delete_by_id_with_a_trailing_slash(client: TestClient) -> None:
    made = client.post("/products/", json={"sku": "T-1", "name": "Tail", "priceCents": 3}).json()
    assert client.get(f"/products/{made['id']}/").json()["name"] == "Tail"
    patched = client.patch(f"/products/{made['id']}/", json={"name": "Tailed"})
    assert patched.status_code == 200 and patched.json()["name"] == "Tailed"
    assert client.delete(f"/products/{made['id']}/").json() is True
    assert client.get(f"/products/{made['id']}").status_code == 404


def test_405_and_404_are_unchanged_by_the_slash(client: TestClient) -> None:
    assert client.put("/products/").status_code == 405
    assert client.put("/products/").headers["allow"] == "GET, HEAD, POST"
    assert client.get("/products/1/nothing/").status_code == 404
    # Not a Loom route: the job status URL answers directly as well.
    assert client.get("/jobs/unknown-job/").status_code == 404


def test_openapi_lists_the_declared_path_once(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/products/"]) == {"get", "post"}
    assert "/products" not in paths
    assert "/products/{id}/" not in paths
    assert "/jobs/{job_id}/" not in paths


# -- over a real socket ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("slash_live")
    port = _free_port()
    env = {
        **os.environ,
        "LOOM_CONFIG": str(_write_config(directory)),
        "PYTHONPATH": os.pathsep.join([str(REST_TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, "-m", "uvicorn", "loom.cli._app:create", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    log = directory / "uvicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=directory, env=env, stdout=out, stderr=out)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                try:
                    if httpx.get(f"{url}/health/live", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=15)


def _curl(*args: str) -> tuple[int, str]:
    done = subprocess.run(
        ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    body, _, status = done.stdout.rpartition("\n")
    return int(status), body


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_posts_to_both_forms_over_uvicorn(live_url: str) -> None:
    for path, sku in (("/products/", "C-SLASH"), ("/products", "C-BARE")):
        payload = json.dumps({"sku": sku, "name": "curl", "priceCents": 1})
        status, body = _curl(
            "-X", "POST", "-H", "content-type: application/json", "-d", payload, live_url + path
        )
        assert status == 201, body
        assert json.loads(body)["sku"] == sku
    status, body = _curl(live_url + "/products/?sku__in=C-SLASH,C-BARE")
    assert status == 200
    assert sorted(p["sku"] for p in json.loads(body)["items"]) == ["C-BARE", "C-SLASH"]
    with httpx.Client(base_url=live_url, follow_redirects=False) as client:
        assert client.get("/products").status_code == 200
        assert client.get("/products/").status_code == 200
