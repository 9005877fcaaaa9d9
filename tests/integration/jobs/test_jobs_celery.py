"""The store's jobs through a real Celery worker process on real Redis and PostgreSQL.

The API runs in this process (httpx over ASGI, lifespan started: it publishes and
runs the outbox relay); each worker is a ``celery worker --pool=solo`` subprocess.
Every assertion reads the database: the ``loom_jobs`` record and the product row.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from ij_support import Env, Worker, store_api
from tests.redis_server import RedisServer

from loom.core.job.store import JobRecord

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

WAIT = 45.0


async def new_product(client: httpx.AsyncClient, sku: str) -> int:
    body = {"sku": sku, "name": "Chair", "category": "office", "priceCents": 900, "stock": 0}
    response = await client.post("/products", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def category(runtime: Any, product_id: int) -> str:
    from app.product.model import Product

    async with runtime.unit_of_work():
        product = await runtime.repo_for(Product).get_by_id(product_id)
    return str(product.category)


async def record_when(
    runtime: Any, job_id: str, check: Callable[[JobRecord], bool], worker: Worker | None = None
) -> JobRecord:
    """Poll the job's row until ``check`` holds (the worker's log is shown on timeout)."""
    deadline = time.monotonic() + WAIT
    record = None
    while time.monotonic() < deadline:
        record = await runtime.job_service.status(job_id)
        if record is not None and check(record):
            return record
        await asyncio.sleep(0.1)
    log = worker.output()[-3000:] if worker is not None else ""
    raise AssertionError(f"job {job_id} never reached the expected state: {record}\n{log}")


def finished(record: JobRecord) -> bool:
    return record.finished


async def test_http_dispatch_runs_on_the_worker_and_the_callback_updates_the_product(
    celery_env: Env, worker_factory: Callable[..., Worker], monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = worker_factory(celery_env)
    async with store_api(celery_env, monkeypatch) as (client, runtime):
        assert "CeleryBackend" in repr(runtime.job_service.backend)
        pid = await new_product(client, "CEL-OK")
        response = await client.post(
            f"/products/{pid}/jobs/restock-email", json={"recipientEmail": "a@example.com"}
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["jobId"]
        record = await record_when(runtime, job_id, finished, worker)
        assert (record.state, record.attempts, record.enqueued) == ("succeeded", 1, True)
        assert record.result is True
        assert await category(runtime, pid) == "office-restock-notified"
        status = (await client.get(f"/jobs/{job_id}")).json()
        assert (status["state"], status["queue"], status["result"]) == (
            "succeeded",
            "notifications",
            True,
        )


async def test_failing_job_runs_the_failure_callback_after_the_configured_retries(
    celery_env: Env, worker_factory: Callable[..., Worker], monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = worker_factory(celery_env)
    async with store_api(celery_env, monkeypatch) as (client, runtime):
        pid = await new_product(client, "CEL-FAIL")
        response = await client.post(
            f"/products/{pid}/jobs/restock-email",
            json={"recipientEmail": "a@example.com", "forceFail": True},
        )
        job_id = response.json()["jobId"]
        record = await record_when(runtime, job_id, finished, worker)
        # retries: 2 in the test config -> three attempts, then the failure callback
        assert (record.state, record.attempts, record.max_attempts) == ("failed", 3, 3)
        assert (record.error_type, record.error) == (
            "RuntimeError",
            "forced restock email failure",
        )
        assert await category(runtime, pid) == "office-restock-failed"
        status = (await client.get(f"/jobs/{job_id}")).json()
        assert (status["state"], status["attempts"], status["errorType"]) == (
            "failed",
            3,
            "RuntimeError",
        )


async def test_rolled_back_use_case_publishes_nothing(
    celery_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    from app.product.jobs import SyncProductToErpJob

    async with store_api(celery_env, monkeypatch) as (client, runtime):
        pid = await new_product(client, "CEL-RB")
        with pytest.raises(RuntimeError, match="boom"):
            async with runtime.unit_of_work():
                handle = runtime.job_service.dispatch(
                    SyncProductToErpJob, params={"product_id": pid}
                )
                raise RuntimeError("boom")
        await asyncio.sleep(1.0)  # two relay rounds would have published a leftover
        assert await runtime.job_service.status(handle.job_id) is None
        assert redis.Redis.from_url(celery_env.broker_url).llen("erp") == 0
        assert (await client.get(f"/jobs/{handle.job_id}")).status_code == 404
        assert await category(runtime, pid) == "office"


async def test_dispatch_while_the_broker_is_down_is_delivered_after_it_restarts(
    celery_env: Env,
    private_redis: RedisServer,
    worker_factory: Callable[..., Worker],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with store_api(celery_env, monkeypatch, broker_url=private_redis.url) as (
        client,
        runtime,
    ):
        pid = await new_product(client, "CEL-DOWN")
        private_redis.stop()
        response = await client.post(
            f"/products/{pid}/jobs/restock-email", json={"recipientEmail": "a@example.com"}
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["jobId"]
        await asyncio.sleep(1.0)  # the publish and a few relay rounds fail meanwhile
        record = await runtime.job_service.status(job_id)
        assert record is not None
        assert (record.state, record.enqueued, record.attempts) == ("pending", False, 0)
        status = (await client.get(f"/jobs/{job_id}")).json()
        assert (status["state"], status["attempts"]) == ("pending", 0)

        private_redis.start()  # same port, empty: only the relay can bring the job back
        await record_when(runtime, job_id, lambda r: r.enqueued)
        worker = worker_factory(celery_env, broker_url=private_redis.url)
        record = await record_when(runtime, job_id, finished, worker)
        assert (record.state, record.attempts) == ("succeeded", 1)
        assert await category(runtime, pid) == "office-restock-notified"


async def test_worker_killed_mid_job_leaves_the_job_to_a_restarted_worker(
    celery_env: Env,
    private_redis: RedisServer,
    worker_factory: Callable[..., Worker],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    gate = tmp_path / "gate"
    first = worker_factory(celery_env, broker_url=private_redis.url)
    async with store_api(celery_env, monkeypatch, broker_url=private_redis.url) as (
        client,
        runtime,
    ):
        pid = await new_product(client, "CEL-KILL")
        gated = runtime.job_class("GatedSyncJob")  # from ij_manifest, see ij_gate_jobs.py
        async with runtime.unit_of_work():
            handle = runtime.job_service.dispatch(
                gated, params={"product_id": pid, "gate": str(gate)}
            )
        record = await record_when(runtime, handle.job_id, lambda r: r.state == "running", first)
        assert record.attempts == 1
        status = (await client.get(f"/jobs/{handle.job_id}")).json()
        assert (status["state"], status["attempts"]) == ("running", 1)

        first.kill()
        gate.touch()
        record = await runtime.job_service.status(handle.job_id)
        assert record is not None and record.state == "running"
        assert await category(runtime, pid) == "office"

        second = worker_factory(celery_env, broker_url=private_redis.url)
        record = await record_when(runtime, handle.job_id, finished, second)
        assert (record.state, record.attempts, record.result) == ("succeeded", 2, True)
        assert await category(runtime, pid) == "office-gated"
