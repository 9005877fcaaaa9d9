"""Real Celery workers on real Redis, the store app on PostgreSQL.

``celery_env`` gives the broker (a private Redis DB on the shared server, flushed
first) and the PostgreSQL URL; ``private_redis`` starts a throwaway
``redis-server`` on a free port for the tests that stop the broker (the shared
server on 6379 is never touched). ``worker_factory`` starts ``celery worker``
subprocesses (solo pool) and stops whatever is left at the end of the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ij_support import BROKER_DB, CELERY, OVERRIDES, Env, Worker
from tests.conftest import require_service, services_required
from tests.redis_server import RedisServer, redis_server_binary


@pytest.fixture
def overrides_file(tmp_path: Path) -> Path:
    path = tmp_path / "jobs-test.yaml"
    path.write_text(OVERRIDES)
    return path


@pytest.fixture
def pg_url(db_url_factory: Callable[[str], str]) -> str:
    return db_url_factory("postgres")


@pytest.fixture
def celery_env(redis_url: str, pg_url: str, overrides_file: Path) -> Env:
    import redis

    require_service(CELERY.exists(), f"the celery command is missing at {CELERY}")
    broker = redis_url.rsplit("/", 1)[0] + f"/{BROKER_DB}"
    redis.Redis.from_url(broker).flushdb()
    return Env(pg_url, broker, overrides_file)


@pytest.fixture
def private_redis(redis_url: str, tmp_path: Path) -> Iterator[RedisServer]:
    """A private Redis server; needs the ``redis-server`` binary."""
    if redis_server_binary() is None:
        message = "the redis-server binary is not installed"
        if services_required():
            pytest.fail(message)
        pytest.skip(message)
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def worker_factory(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """``start(env, broker_url=None, app=...)``: a ready worker; all are stopped after
    the test."""
    started: list[Worker] = []

    def start(
        env: Env, broker_url: str | None = None, app: str = "store_worker:celery_app"
    ) -> Worker:
        log = tmp_path / f"worker{len(started)}.log"
        worker = Worker(env, broker_url or env.broker_url, log, app)
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()
