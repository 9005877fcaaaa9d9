"""``create_app("config/api.yaml")``: the whole REST application from config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from loom.bootstrap import build_metrics, build_runtime, load, override_code_path
from loom.core.config.settings import load_settings
from loom.core.repository.sqlalchemy import Database
from loom.rest.asgi._idempotency import install_idempotency
from loom.rest.asgi._observability import install_observability
from loom.rest.fastapi.app import LoomFastAPI, build_fastapi_app

__all__ = ["create_app"]


def create_app(
    *config_paths: str | Path | Any,
    code_path: str | Path | None = None,
    metrics_registry: CollectorRegistry | None = None,
) -> LoomFastAPI:
    """Load the config, discover the application and return its FastAPI app.

    ``code_path`` replaces ``app.code_path`` (a folder, relative to the working
    directory); ``metrics_registry`` is the prometheus ``CollectorRegistry`` the app's
    metrics register in (default: one of its own, so two apps never clash).

    Swagger UI is at ``app.rest.docs_url`` (``/docs``) and the OpenAPI document at
    ``/openapi.json``; health at ``/health/live`` and ``/health/ready``; metrics at
    ``metrics.path`` when enabled.
    """
    cfg = load(*config_paths)
    if code_path is not None:
        override_code_path(cfg, code_path)
    settings = load_settings(cfg)
    metrics = build_metrics(settings, metrics_registry)
    runtime = build_runtime(cfg, settings=settings, metrics=metrics)
    app = build_fastapi_app(runtime, metrics=metrics)
    install_idempotency(app, runtime, settings)
    database = runtime.database
    checks: dict[str, Any] = {}
    if database is not None:
        checks["database"] = database.ping
    checks.update(runtime.readiness_checks)
    install_observability(app, settings, readiness_checks=checks, metrics=metrics)
    if metrics is not None and isinstance(database, Database):
        pool = database.engine.pool
        if hasattr(pool, "checkedout") and hasattr(pool, "size"):
            metrics.set_pool_stats_provider(
                lambda: {"in_use": pool.checkedout(), "size": pool.size()}
            )
    return app
