"""The Celery backend without a broker server: settings, task registry, outbox relay.

The relay tests use Kombu's in-process ``memory://`` transport (the broker takes
the message) and a closed port (the broker is down); the outbox rows are read back
from the database each time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from job_support import COMPONENTS, SEEN, TagProductJob, add_product, job_config

from loom.bootstrap import build_runtime
from loom.celery._loop import LoopThread
from loom.celery.auto import create_app
from loom.celery.backend import TASK_PREFIX, CeleryBackend, celery_settings
from loom.core.config.loader import ConfigError
from loom.core.runtime import Components, Runtime


def celery_runtime(db_url: str, **celery: Any) -> Runtime:
    cfg = job_config(db_url, celery={"relay_grace": 0, **celery})
    return build_runtime(cfg, components=Components(**COMPONENTS))


def test_settings_default_to_late_acks_prefetch_one_and_every_job_queue() -> None:
    conf, options = celery_settings(
        {"celery": {"broker_url": "redis://x/0", "queues": ["mail"], "task_time_limit": 30}},
        ["tagging", "mail"],
    )
    assert conf["task_acks_late"] is True
    assert conf["task_reject_on_worker_lost"] is True
    assert conf["worker_prefetch_multiplier"] == 1
    assert conf["task_time_limit"] == 30  # other celery keys pass through
    assert [q.name for q in conf["task_queues"]] == ["mail", "default", "tagging"]
    assert "queues" not in conf and options["relay_interval"] == 2.0


def test_user_settings_override_the_defaults() -> None:
    conf, _ = celery_settings(
        {"celery": {"broker_url": "redis://x/0", "task_acks_late": False}}, []
    )
    assert conf["task_acks_late"] is False


def test_worker_app_registers_a_task_per_job_and_needs_a_broker(tmp_path: Any) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"
    discovery = {"discovery": {"mode": "modules", "modules": {"include": ["job_support"]}}}
    with pytest.raises(ConfigError, match=r"celery\.broker_url"):
        create_app(job_config(db, app=discovery))
    app = create_app(job_config(db, app=discovery, celery={"broker_url": "memory://"}))
    names = {TASK_PREFIX + job.__qualname__ for job in COMPONENTS["jobs"]}
    assert names <= set(app.tasks)
    assert app.tasks[TASK_PREFIX + "TagProductJob"].acks_late is True


def test_worker_loop_persists_between_tasks() -> None:
    import asyncio

    loop = LoopThread()

    async def which() -> int:
        return id(asyncio.get_running_loop())

    try:
        assert loop.run(which()) == loop.run(which())
    finally:
        loop.stop()
    assert not loop.started


async def test_relay_publishes_outbox_rows_once_the_broker_takes_them(db_url: str) -> None:
    runtime = celery_runtime(db_url, broker_url="memory://")
    backend = runtime.job_service.backend
    assert isinstance(backend, CeleryBackend)
    await runtime.startup()
    try:
        pid = await add_product(runtime)
        async with runtime.unit_of_work():
            handle = runtime.job_service.dispatch(
                TagProductJob, params={"product_id": pid}, payload={"tag": "r"}
            )
        await runtime.shutdown()  # waits for the after-commit publish
        record = await runtime.job_service.status(handle.job_id)
        assert record is not None and (record.state, record.enqueued) == ("pending", True)
        assert await backend.relay_once() == 0  # nothing left in the outbox
    finally:
        await runtime.shutdown()


async def test_outbox_row_waits_while_the_broker_is_down(
    db_url_factory: Callable[[str], str],
) -> None:
    # SQLite only: each refused publish costs redis-py's own reconnect retries (~2s)
    runtime = celery_runtime(
        db_url_factory("sqlite"), broker_url="redis://127.0.0.1:1/0", broker_connection_timeout=0.5
    )
    backend = runtime.job_service.backend
    assert isinstance(backend, CeleryBackend)
    await runtime.startup()
    pid = await add_product(runtime)
    async with runtime.unit_of_work():
        handle = runtime.job_service.dispatch(
            TagProductJob, params={"product_id": pid}, payload={"tag": "d"}
        )
    await runtime.shutdown()
    assert await backend.relay_once() == 0  # still down: the row stays in the outbox
    record = await runtime.job_service.status(handle.job_id)
    assert record is not None and (record.state, record.enqueued) == ("pending", False)
    assert SEEN == []  # nothing ran in this process: only a worker runs it
    # (delivery once a real broker is back: tests/integration/jobs)
