"""The README's "A taste" code runs as written and behaves as it says."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

DRIVER = textwrap.dedent(
    """
    from fastapi.testclient import TestClient
    from loom.rest.fastapi.auto import create_app

    with TestClient(create_app("api.yaml")) as client:
        assert client.post("/users", json={"fullName": "Ann", "email": "a@x.io"}).status_code == 201
        again = client.post("/users", json={"full_name": " ", "email": "a@x.io"})
        assert again.status_code == 422, again.text
        messages = {e["message"] for e in again.json()["errors"]}
        assert messages == {"must not be blank", "email is already registered"}, messages
        patched = client.patch("/users/1", json={"fullName": "Bo"})
        assert patched.json()["fullName"] == "Bo" and patched.json()["email"] == "a@x.io"
    print("ok")
    """
)


def test_readme_taste_runs(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    code = readme.split("## A taste", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    package = tmp_path / "src" / "readme_taste"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "app.py").write_text(code)
    (tmp_path / "api.yaml").write_text(
        "app:\n  name: taste\n  code_path: src\n"
        "  discovery: {mode: modules, modules: {include: [readme_taste.app]}}\n"
        "database:\n  url: sqlite+aiosqlite:///./taste.db\nlogger: {level: WARNING}\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", DRIVER], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().endswith("ok")
