"""The store's job routes over HTTP on the embedded backends (no broker needed).

In-process (the default): the dispatch answers 202 at once and the job, its
callback and the status resource follow. ``celery.task_always_eager``: the job and
its callback have run when the response arrives. Every check reads the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from omegaconf import OmegaConf

from loom.core.config.loader import load_config
from loom.rest.fastapi.auto import create_app

STORE = Path(__file__).resolve().parents[3] / "examples" / "store"


@asynccontextmanager
async def store_client(
    db_url: str, monkeypatch: pytest.MonkeyPatch, **overrides: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """The store API on ``db_url`` (lifespan run), and its runtime."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    base = {"jobs": {"retry_backoff": 0.01, "SendRestockEmailJob": {"retries": 1}}}
    cfg = OmegaConf.merge(load_config(STORE / "config" / "api.yaml"), base, overrides)
    app = create_app(cfg)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://store") as client:
            yield client, app.state.loom


async def new_product(client: httpx.AsyncClient, sku: str, stock: int = 0) -> int:
    body = {"sku": sku, "name": "Desk", "category": "office", "priceCents": 100, "stock": stock}
    response = await client.post("/products", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def category(runtime: Any, product_id: int) -> str:
    """Read straight from the products table."""
    from app.product.model import Product

    async with runtime.unit_of_work():
        product = await runtime.repo_for(Product).get_by_id(product_id)
    return str(product.category)


async def poll_job(client: httpx.AsyncClient, job_id: str, timeout: float = 20) -> dict[str, Any]:
    """GET /jobs/{id} until it is finished (20s at most)."""
    for _ in range(int(timeout / 0.05)):
        response = await client.get(f"/jobs/{job_id}")
        assert response.status_code == 200, response.text
        body = response.json()
        if body["state"] in ("succeeded", "failed"):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {body}")


async def test_restock_email_job_runs_and_its_callback_tags_the_product(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with store_client(db_url, monkeypatch) as (client, runtime):
        pid = await new_product(client, "E2E-1")
        response = await client.post(
            f"/products/{pid}/jobs/restock-email", json={"recipientEmail": "a@example.com"}
        )
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["queue"] == "notifications"
        status = await poll_job(client, body["jobId"])
        assert status["state"] == "succeeded" and status["result"] is True
        assert status["attempts"] == 1 and status["job"] == "SendRestockEmailJob"
        assert status["createdAt"] and status["startedAt"] and status["finishedAt"]
        assert await category(runtime, pid) == "office-restock-notified"
        record = await runtime.job_service.status(body["jobId"])
        assert record.state == "succeeded" and record.params == {"product_id": pid}


async def test_failing_restock_email_retries_then_tags_the_product_failed(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with store_client(db_url, monkeypatch) as (client, runtime):
        pid = await new_product(client, "E2E-2")
        response = await client.post(
            f"/products/{pid}/jobs/restock-email",
            json={"recipientEmail": "a@example.com", "forceFail": True},
        )
        assert response.status_code == 202
        status = await poll_job(client, response.json()["jobId"])
        assert (status["state"], status["attempts"], status["maxAttempts"]) == ("failed", 2, 2)
        assert status["errorType"] == "RuntimeError"
        assert status["error"] == "forced restock email failure"
        assert await category(runtime, pid) == "office-restock-failed"


async def test_workflow_chains_the_summary_and_dispatches_the_email(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with store_client(db_url, monkeypatch) as (client, runtime):
        pid = await new_product(client, "E2E-3", stock=4)
        summary = await client.get(f"/products/{pid}/jobs/summary")
        assert summary.status_code == 200
        assert summary.json() == {"summary": "E2E-3 (Desk) is in stock."}
        response = await client.post(
            f"/products/{pid}/workflows/restock", json={"recipientEmail": "a@example.com"}
        )
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["summary"] == "E2E-3 (Desk) is in stock."
        status = await poll_job(client, body["restockJobId"])
        # in stock: the job returns False and the callback leaves the product alone
        assert (status["state"], status["result"]) == ("succeeded", False)
        assert await category(runtime, pid) == "office"


async def test_erp_sync_batch_dispatches_one_job_per_product(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with store_client(db_url, monkeypatch) as (client, runtime):
        ids = [await new_product(client, f"E2E-ERP-{n}") for n in range(3)]
        empty = await client.post("/products/jobs/sync-erp", json={"productIds": []})
        assert empty.status_code == 422
        assert empty.json()["code"] == "rule_violations"
        response = await client.post("/products/jobs/sync-erp", json={"productIds": ids})
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["queue"] == "erp" and len(body["jobIds"]) == 3
        for job_id in body["jobIds"]:
            assert (await poll_job(client, job_id))["state"] == "succeeded"
        assert [await category(runtime, pid) for pid in ids] == ["office-erp-synced"] * 3


async def test_job_status_resource_404_and_openapi(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with store_client(db_url, monkeypatch) as (client, _runtime):
        missing = await client.get("/jobs/0123456789abcdef")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
        problem = missing.json()
        assert problem["code"] == "not_found" and problem["status"] == 404
        assert problem["trace_id"] == missing.headers["x-request-id"]
        assert (await client.get("/jobs/not a valid id!")).status_code == 404
        spec = (await client.get("/openapi.json")).json()
        operation = spec["paths"]["/jobs/{job_id}"]["get"]
        assert set(operation["responses"]) >= {"200", "404"}
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert set(schema["properties"]["state"]["enum"]) == {
            "pending",
            "running",
            "succeeded",
            "failed",
        }
        assert {"jobId", "queue", "attempts", "result", "error", "createdAt"} <= set(
            schema["properties"]
        )


async def test_eager_celery_runs_job_and_callback_before_the_response(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    eager = {"celery": {"task_always_eager": True}}
    async with store_client(db_url, monkeypatch, **eager) as (client, runtime):
        assert "eager" in repr(runtime.job_service.backend)
        pid = await new_product(client, "E2E-EAGER")
        response = await client.post(
            f"/products/{pid}/jobs/restock-email", json={"recipientEmail": "a@example.com"}
        )
        assert response.status_code == 202
        # no polling: eager mode finished the job and its callback already
        assert await category(runtime, pid) == "office-restock-notified"
        status = (await client.get(f"/jobs/{response.json()['jobId']}")).json()
        assert (status["state"], status["attempts"]) == ("succeeded", 1)
