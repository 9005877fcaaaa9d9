"""Loom routes are served before the middleware stack, and still look observed and
wrapped exactly as through it: the request id, metrics, access log, idempotency, and
the user's own middleware."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from rest_support import CONFIG

from loom.rest.fastapi.auto import create_app

_ID = re.compile(r"[0-9a-f]{32}")


def _app(tmp_path: Path) -> Any:
    path = tmp_path / "api.yaml"
    path.write_text(CONFIG.format(url=f"sqlite+aiosqlite:///{tmp_path / 'direct.db'}"))
    return create_app(path)


def _count(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_loom_route_carries_the_request_id_and_is_counted_by_template(tmp_path: Path) -> None:
    app = _app(tmp_path)
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        created = client.post("/categories", json={"name": "tea"})
        assert created.status_code == 201
        assert _ID.fullmatch(created.headers["x-request-id"])
        fetched = client.get(
            f"/categories/{created.json()['id']}", headers={"x-request-id": "abc-1"}
        )
        assert fetched.headers["x-request-id"] == "abc-1"
        missing = client.get("/categories/999999")
        assert missing.status_code == 404
        assert missing.json()["trace_id"] == missing.headers["x-request-id"]
        refused = client.delete("/categories")
        assert refused.status_code == 405 and _ID.fullmatch(refused.headers["x-request-id"])
        metrics = client.get("/metrics").text
    assert app._direct is not None  # the route above was served before the stack
    by_id = 'loom_http_requests_total{method="GET",route="/categories/{id}",status="%s"}'
    assert _count(metrics, by_id % "200") == 1
    assert _count(metrics, by_id % "404") == 1
    assert _count(metrics, 'loom_http_requests_total{method="POST",route="/categories/"') == 1


def test_a_replayed_idempotent_request_gets_its_own_request_id(tmp_path: Path) -> None:
    app = _app(tmp_path)
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        headers = {"Idempotency-Key": "8b0c2a5e-3c43-4c5e-9d7e-0b5cf1f0a001"}
        first = client.post("/categories", json={"name": "coffee"}, headers=headers)
        again = client.post("/categories", json={"name": "coffee"}, headers=headers)
        listed = client.get("/categories").json()
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    assert [c["name"] for c in listed["items"]] == ["coffee"]


def test_the_routes_loom_adds_beside_fastapis_are_labelled_by_template(tmp_path: Path) -> None:
    app = _app(tmp_path)
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        assert client.get("/health/live").status_code == 200
        assert client.get("/docs").status_code == 200
        assert client.get("/jobs/0f0e0d0c0b0a09080706050403020100").status_code == 404
        assert client.get("/no/such/path").status_code == 404
        metrics = client.get("/metrics").text
    line = 'loom_http_requests_total{method="GET",route="%s",status="%s"}'
    assert _count(metrics, line % ("/health/live", "200")) == 1
    assert _count(metrics, line % ("/docs", "200")) == 1
    assert _count(metrics, line % ("/jobs/{job_id}", "404")) == 1
    assert _count(metrics, line % ("unmatched", "404")) == 1  # only the unknown path
