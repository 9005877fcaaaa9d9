"""The legacy shop with a real Celery worker on Redis and PostgreSQL, unchanged.

The API and the worker are started as the app's users start them (uvicorn and
``celery -A app.worker_main:celery_app worker``) with ``CELERY_BROKER_URL`` set; the
client creates resources at their trailing-slash URLs without following redirects,
dispatches jobs and waits for the callbacks the worker runs.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.compat.shop_server import CELERY, Worker, running_shop
from tests.conftest import (
    own_pg_database,
    pg_available,
    pg_problem,
    require_service,
)

BROKER_DB = 12  # a Redis DB of its own on the shared server

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
def stack(redis_url: str, tmp_path: Path) -> Iterator[str]:
    import redis

    require_service(pg_available(), pg_problem() or "")
    require_service(CELERY.exists(), f"the celery command is missing at {CELERY}")
    broker = redis_url.rsplit("/", 1)[0] + f"/{BROKER_DB}"
    redis.Redis.from_url(broker).flushdb()
    worker: Worker | None = None
    with own_pg_database("loom_shop") as url:
        try:
            with running_shop(url, tmp_path, broker_url=broker) as base_url:
                worker = Worker(url, broker, tmp_path / "worker.log")
                worker.wait_ready()
                yield base_url
        finally:
            if worker is not None:
                worker.stop()


def _wait_for(
    client: httpx.Client, url: str, predicate: Any, timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = client.get(url).json()
        if predicate(body):
            return body
        time.sleep(0.2)
    raise AssertionError(f"condition never met; last body: {body}")


def test_celery_job_flow_at_trailing_slash_urls(stack: str) -> None:
    with httpx.Client(base_url=stack, follow_redirects=False, timeout=10) as client:
        r = client.post(
            "/products/",
            json={
                "sku": f"C-{secrets.token_hex(3)}",
                "name": "Chair",
                "category": "home",
                "priceCents": 4500,
                "stock": 0,
            },
        )
        assert r.status_code == 201, r.text
        product = r.json()
        url = f"/products/{product['id']}"

        ok = client.post(f"{url}/jobs/restock-email", json={"recipientEmail": "a@b.c"})
        assert ok.status_code == 202, ok.text
        assert ok.json()["queue"] == "notifications"
        _wait_for(client, url, lambda b: b["category"] == "home-restock-notified")

        failed = client.post(
            f"{url}/jobs/restock-email", json={"recipientEmail": "a@b.c", "forceFail": True}
        )
        assert failed.status_code == 202, failed.text
        body = _wait_for(client, url, lambda b: b["note"] is not None)
        assert body["note"] == "restock email failed: RuntimeError"

        flow = client.post(f"{url}/workflows/restock", json={"recipientEmail": "x@y.z"})
        assert flow.status_code == 202, flow.text
        assert flow.json()["summary"].endswith("(Chair) is out of stock.")
