"""The ``loom`` command line, run as a user runs it: as a subprocess.

Cheap error paths (no application imported) call ``main()`` in-process; every
command is also run at least once as ``python -m loom.cli`` against the store
example or a tiny project written to ``tmp_path``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from loom.cli import main

ROOT = Path(__file__).resolve().parents[3]
STORE = ROOT / "examples" / "store"


def loom(
    *args: str, cwd: Path = STORE, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loom.cli", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def write_project(root: Path, module: str, code: str) -> Path:
    """A one-module application: ``config/app.yaml`` + ``src/<module>.py``."""
    (root / "config").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "src" / f"{module}.py").write_text(textwrap.dedent(code))
    (root / "config" / "app.yaml").write_text(
        textwrap.dedent(
            f"""\
            app:
              name: {module}
              code_path: src
              discovery:
                mode: modules
                modules:
                  include: [{module}]
            database:
              url: sqlite+aiosqlite:///./{module}.db
            """
        )
    )
    return root


# -- in-process: config errors ------------------------------------------------------------


def test_missing_config_file_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["check", "does/not/exist.yaml"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "loom: error: config: config file not found" in err
    assert "Traceback" not in err


def test_bad_config_key_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "app.yaml"
    cfg.write_text("app:\n  name: x\n  discovery:\n    mode: everything\n")
    with pytest.raises(SystemExit) as exit_:
        main(["routes", str(cfg)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("loom: error: config: ")
    assert "key 'app.discovery.mode': unknown mode 'everything'" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["db", "revision", "config/api.yaml"])  # -m is required
    assert exit_.value.code == 2
    assert "--message" in capsys.readouterr().err


# -- subprocess: the store ----------------------------------------------------------------


def test_check_summarises_the_store() -> None:
    done = loom("check", "config/api.yaml")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "OK store: 5 models, 30 use cases, 29 routes, 3 jobs"
    assert "discovering the application" in done.stderr  # progress goes to stderr


def test_routes_prints_the_route_table() -> None:
    done = loom("routes", "config/api.yaml")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["METHOD", "PATH", "USE", "CASE", "STATUS"]
    rows = {tuple(line.split()) for line in lines[1:]}
    assert ("GET", "/products/low-stock", "ListLowStockProductsUseCase", "200") in rows
    assert (
        "POST",
        "/products/{product_id}/jobs/restock-email",
        "DispatchRestockEmailUseCase",
        "202",
    ) in rows
    # The auto-CRUD collection is declared "/" and listed once, in that form.
    assert ("POST", "/products/", "auto.CreateProduct", "201") in rows
    assert not any(row[1] == "/products" for row in rows)
    assert len(rows) == 29


def test_check_reports_a_declaration_error_in_one_line(tmp_path: Path) -> None:
    project = write_project(
        tmp_path,
        "cli_broken_app",
        """
        from loom.core.model import BaseModel, ColumnField
        from loom.core.use_case.use_case import UseCase
        from loom.rest.model import RestInterface, RestRoute

        class CliThing(BaseModel):
            __tablename__ = "cli_things"
            id: int = ColumnField(primary_key=True, autoincrement=True)

        class GetThing(UseCase[CliThing, CliThing]):
            async def execute(self, thing_id: int) -> CliThing:
                return await self.main_repo.get_by_id(thing_id)

        class ThingApi(RestInterface[CliThing]):
            prefix = "/things"
            routes = (RestRoute(use_case=GetThing, method="GET", path="/"),)
        """,
    )
    done = loom("check", "config/app.yaml", cwd=project)
    assert done.returncode == 1
    error = done.stderr.strip().splitlines()[-1]
    assert error.startswith("loom: error: declaration: interface ThingApi, route GET /things")
    assert "needs parameter 'thing_id'" in error
    assert "Traceback" not in done.stderr


def test_run_serves_the_store_and_says_where_swagger_is(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "loom.cli", "run", "config/api.yaml", "--port", str(port)],
        cwd=STORE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
        assert lines[0].startswith(f"Loom: serving store (29 routes) on http://127.0.0.1:{port}")
        assert lines[1].strip() == f"Swagger UI: http://127.0.0.1:{port}/docs"
        deadline = time.monotonic() + 30
        while True:
            try:
                docs = httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, "loom run exited"
                assert time.monotonic() < deadline, "loom run did not serve within 30 s"
                time.sleep(0.1)
        assert docs.status_code == 200
        assert "/docs/assets/swagger-ui-bundle.js" in docs.text
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- subprocess: the worker -----------------------------------------------------------------


def test_worker_with_a_missing_config_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["worker", str(STORE / "config" / "missing.yaml")])
    assert exit_.value.code in (1, 2)  # 1 when the Celery integration is not installed
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].startswith("loom: error: ")
    assert "Traceback" not in err


@pytest.fixture
def worker_config(tmp_path: Path, redis_url: str) -> Iterator[Path]:
    pytest.importorskip("loom.celery.auto", reason="the Celery integration is not built yet")
    cfg = tmp_path / "worker.yaml"
    cfg.write_text(
        f"includes: [{STORE / 'config' / 'base.yaml'}]\n"
        f"database:\n  url: sqlite+aiosqlite:///{tmp_path / 'w.db'}\n"
        f"celery:\n  broker_url: {redis_url}\n  result_backend: {redis_url}\n"
    )
    yield cfg


def test_worker_starts_a_celery_worker(worker_config: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "loom.cli",
            "worker",
            str(worker_config),
            "-P",
            "solo",
            "-Q",
            "cli-test-queue",
        ],
        cwd=STORE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            seen.append(line)
            if " ready." in line:
                break
        assert any(line.startswith("Loom: starting the Celery worker of store") for line in seen)
        assert any(" ready." in line for line in seen), "".join(seen)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


# -- subprocess: migrations of a fresh project ------------------------------------------------


def test_db_commands_on_a_new_project(tmp_path: Path) -> None:
    project = write_project(
        tmp_path,
        "cli_notes_app",
        """
        from loom.core.model import BaseModel, ColumnField

        class CliNote(BaseModel):
            __tablename__ = "cli_notes"
            id: int = ColumnField(primary_key=True, autoincrement=True)
            text: str = ColumnField(length=200, index=True)
        """,
    )
    cfg = "config/app.yaml"
    made = loom("db", "revision", cfg, "-m", "create notes", "--autogenerate", cwd=project)
    assert made.returncode == 0, made.stderr
    assert "creating the migrations folder" in made.stderr
    (script,) = (project / "migrations" / "versions").glob("*_create_notes.py")
    assert "op.create_table(" in script.read_text() and '"cli_notes"' in script.read_text()
    revision = script.name.split("_")[0]

    upgraded = loom("db", "upgrade", cfg, cwd=project)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"database at {revision}" in upgraded.stdout
    assert loom("db", "current", cfg, cwd=project).stdout.strip() == revision
    history = loom("db", "history", cfg, cwd=project).stdout
    assert history.startswith(f"<base> -> {revision}  create notes")

    down = loom("db", "downgrade", cfg, "base", cwd=project)
    assert down.returncode == 0, down.stderr
    assert "database at base" in down.stdout


def test_db_upgrade_without_migrations_says_how_to_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_project(tmp_path, "cli_empty_app", "")
    with pytest.raises(SystemExit) as exit_:
        main(["db", "upgrade", str(project / "config" / "app.yaml")])
    assert exit_.value.code == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("loom: error: migration: no migrations folder at")
    assert "loom db revision" in error
