"""Every application the repository ships, served by uvicorn the way its users run it.

Each runs in its own process: the store and the compatibility shop both name their
package ``app``, so they cannot share an interpreter. ``serve(name, database_url,
workdir)`` yields the base URL of the running app.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from tests.compat.shop_server import SHOP, shop_env
from tests.uvicorn_server import log_tail, serve_uvicorn

ROOT = Path(__file__).resolve().parents[2]
STORE = ROOT / "examples" / "store"


def _readme_app(workdir: Path) -> Path:
    """The README's "A taste" code as a package, with the config its text implies."""
    readme = (ROOT / "README.md").read_text()
    code = readme.split("## A taste", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    folder = workdir / "readme_app"
    package = folder / "src" / "readme_taste"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "app.py").write_text(code)
    (package / "main.py").write_text(
        "from loom.rest.fastapi.auto import create_app\n\napp = create_app('api.yaml')\n"
    )
    (folder / "api.yaml").write_text(
        "app:\n  name: taste\n  code_path: src\n"
        "  discovery: {mode: modules, modules: {include: [readme_taste.app]}}\n"
        "database:\n  url: ${oc.env:DATABASE_URL}\nlogger: {level: WARNING}\n"
    )
    return folder


APPS = ("store", "bench", "legacy_shop", "readme")


def _command(name: str, workdir: Path) -> tuple[Path, list[str], dict[str, str]]:
    """(cwd, uvicorn arguments, extra environment) of one shipped app."""
    if name == "store":
        return STORE, ["app.main:app", "--app-dir", "src"], {}
    if name == "bench":
        return ROOT, ["--factory", "benchmarks.apps.loom_app.main:create_app"], {}
    if name == "legacy_shop":
        return SHOP, ["app.main:app", "--app-dir", "src"], {}
    if name == "readme":
        folder = _readme_app(workdir)
        return folder, ["readme_taste.main:app", "--app-dir", "src"], {}
    raise ValueError(f"unknown app {name!r}")


@contextlib.contextmanager
def serve(name: str, database_url: str, workdir: Path) -> Iterator[str]:
    """Serve app ``name`` on ``database_url``; yield ``http://127.0.0.1:<port>``."""
    cwd, args, extra = _command(name, workdir)
    env = shop_env(database_url)  # DATABASE_URL, a secret key, PYTHONPATH with src/
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "src")])
    env.update(
        {
            "TRACE_ENABLED": "false",
            "METRICS_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
            "LOOM_SECRET_KEY": secrets.token_hex(16),
            **extra,
        }
    )
    app_args = [*args, "--log-level", "warning"]
    with serve_uvicorn(app_args, cwd=cwd, env=env, workdir=workdir, name=name) as base_url:
        yield base_url


def server_log(workdir: Path, name: str) -> str:
    """The tail of the app's log (unhandled errors are logged there)."""
    logs = sorted(workdir.glob(f"{name}-*.log"))
    return log_tail(logs[-1], 80) if logs else "(no log)"
