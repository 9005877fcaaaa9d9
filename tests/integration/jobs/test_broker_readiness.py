"""``/health/ready`` names the broker when jobs go to Celery and it cannot be reached."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from loom.rest.fastapi.auto import create_app

MODEL = """
from loom.core.model import BaseModel, ColumnField


class ReadyProbe(BaseModel):
    __tablename__ = "ready_probe_items"
    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=20)
"""


def _app(tmp_path: Path, broker: str):  # type: ignore[no-untyped-def]
    src = tmp_path / "src"
    (src / "ready_probe_app").mkdir(parents=True)
    (src / "ready_probe_app" / "__init__.py").write_text("")
    (src / "ready_probe_app" / "models.py").write_text(MODEL)
    config = tmp_path / "api.yaml"
    config.write_text(
        f"""
app:
  name: ready_probe
  code_path: src
  discovery:
    mode: modules
    modules:
      include: [ready_probe_app.models]
database:
  url: sqlite+aiosqlite:///{tmp_path}/ready.db
celery:
  broker_url: {broker}
logger:
  level: WARNING
"""
    )
    return create_app(str(config))


def test_ready_is_503_naming_the_broker_when_it_is_down(tmp_path: Path) -> None:
    with TestClient(_app(tmp_path, "redis://127.0.0.1:1/0")) as client:
        response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] in ("failed", "timeout")
    assert "broker" in body["detail"]


def test_ready_is_200_when_the_broker_answers(tmp_path: Path, redis_url: str) -> None:
    with TestClient(_app(tmp_path, redis_url)) as client:
        response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}
