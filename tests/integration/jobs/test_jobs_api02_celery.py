"""The 0.2 job API on a real Celery worker (Redis broker and result backend,
PostgreSQL): handles that wait through ``AsyncResult.get``, a job group, the
callback context, per-dispatch options, and a worker app built with
``loom.celery.create_app(*paths, jobs=, callbacks=)``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ij_support import BROKER_DB, OVERRIDES, Env, Worker, store_api

from loom.core.job import JobFailedError, JobTimeoutError

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

RESULTS_DB = 11  # the Celery result backend: a DB of its own on the shared Redis
WAIT = 45.0


@pytest.fixture
def api02_env(celery_env: Env, redis_url: str, tmp_path: Path) -> Env:
    """``celery_env`` with a Redis result backend (``JobHandle.wait`` needs one)."""
    import redis

    base = redis_url.rsplit("/", 1)[0]
    results = f"{base}/{RESULTS_DB}"
    redis.Redis.from_url(results).flushdb()
    path = tmp_path / "api02.yaml"
    path.write_text(OVERRIDES.replace("result_backend: null", f"result_backend: {results}"))
    assert celery_env.broker_url.endswith(f"/{BROKER_DB}")
    return Env(celery_env.db_url, celery_env.broker_url, path)


async def product_row(runtime: Any, product_id: int) -> Any:
    from app.product.model import Product

    async with runtime.unit_of_work():
        return await runtime.repo_for(Product).get_by_id(product_id)


async def category_when(runtime: Any, product_id: int, prefix: str, worker: Worker) -> str:
    """Poll the product's category (written by the callback) until it starts with ``prefix``."""
    deadline = time.monotonic() + WAIT
    category = ""
    while time.monotonic() < deadline:
        category = str((await product_row(runtime, product_id)).category)
        if category.startswith(prefix):
            return category
        await asyncio.sleep(0.1)
    raise AssertionError(f"category stayed {category!r}\n{worker.output()[-3000:]}")


async def test_handles_group_and_callback_context_on_a_real_worker(
    api02_env: Env, worker_factory: Callable[..., Worker], monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = worker_factory(api02_env, app="api02_worker:celery_app")
    async with store_api(api02_env, monkeypatch) as (client, runtime):
        from ij_api02_jobs import AddStockJob, ContextCallback, EchoJob, GroupCallback

        body = {"sku": "API02", "name": "Desk", "category": "office", "priceCents": 1, "stock": 0}
        response = await client.post("/products", json=body)
        assert response.status_code == 201, response.text
        pid = int(response.json()["id"])
        jobs = runtime.job_service

        # One job: the handle waits on the result backend; the callback gets the
        # payload's keys, then the params' keys not in the payload.
        async with runtime.unit_of_work():
            one = jobs.dispatch(
                AddStockJob,
                params={"product_id": pid, "actor": "api"},
                payload={"product_id": pid, "n": 2},
                on_success=ContextCallback,
                on_failure=ContextCallback,
                priority=5,
            )
        assert await asyncio.to_thread(one.wait, WAIT) == 20
        category = await category_when(runtime, pid, "ok:", worker)
        assert category == "ok:20:2:api|product_id,n,actor"
        record = await jobs.status(one.job_id)
        assert record is not None and (record.state, record.priority) == ("succeeded", 5)

        # A group: every member ran on the worker, results in dispatch order.
        async with runtime.unit_of_work():
            group = jobs.dispatch_parallel(
                [
                    (AddStockJob, {"product_id": pid, "n": 1}),
                    (AddStockJob, {"product_id": pid, "n": 3}),
                ]
            )
        assert await asyncio.to_thread(group.wait_all, WAIT) == [10, 30]
        assert await group.wait_all_async(timeout=WAIT) == [10, 30]
        assert (await product_row(runtime, pid)).stock == 6
        # A group with a callback: the worker that finishes the last member runs it.
        async with runtime.unit_of_work():
            tagged = jobs.dispatch_parallel(
                [(EchoJob, {"product_id": pid}), (EchoJob, {"product_id": pid})],
                on_all_success=GroupCallback,
            )
        assert tagged.group_id is not None
        assert await tagged.wait_all_async(timeout=WAIT) == [pid, pid]
        assert await category_when(runtime, pid, "grouped:", worker) == "grouped:2"
        record = await jobs.wait(tagged.group_id, timeout=WAIT)
        assert (record.state, record.result) == ("succeeded", [pid, pid])

        # A failing job: JobFailedError from the handle, the failure callback's context.
        async with runtime.unit_of_work():
            bad = jobs.dispatch(
                AddStockJob,
                params={"product_id": pid, "actor": "api"},
                payload={"product_id": pid, "n": -1},
                on_failure=ContextCallback,
            )
        with pytest.raises(JobFailedError) as caught:
            await asyncio.to_thread(bad.wait, WAIT)
        assert caught.value.job_id == bad.job_id and "negative amount -1" in str(caught.value)
        with pytest.raises(JobFailedError, match="negative amount"):
            await bad.wait_async(timeout=WAIT)
        category = await category_when(runtime, pid, "failed:", worker)
        assert category == "failed:ValueError:negative amount -1|product_id,n,actor"

        # countdown is honoured by the broker: not done early, done after.
        started = time.monotonic()
        async with runtime.unit_of_work():
            later = jobs.dispatch(AddStockJob, payload={"product_id": pid, "n": 1}, countdown=1.5)
        with pytest.raises(JobTimeoutError):
            await asyncio.to_thread(later.wait, 0.5)
        assert await asyncio.to_thread(later.wait, WAIT) == 10
        assert time.monotonic() - started >= 1.4
