"""Every page in ``docs/`` runs: its files are written and its Python snippets executed.

Each page runs in its own subprocess and temp dir (see ``_run_snippets.py`` for the
conventions), so pages can declare models with any table names without meeting the
rest of the suite in the shared metadata.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
RUNNER = Path(__file__).with_name("_run_snippets.py")
PAGES = sorted(DOCS.glob("*.md"))
REQUIRED = {
    "quickstart.md",
    "models.md",
    "use-cases.md",
    "rest.md",
    "configuration.md",
    "operations.md",
    "testing.md",
}


def test_the_documentation_has_its_pages() -> None:
    assert {p.name for p in PAGES} >= REQUIRED


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_snippets_run(page: Path, tmp_path: Path) -> None:
    env = {**os.environ, "LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, str(RUNNER), str(page)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{page.name} failed:\n{done.stdout}\n{done.stderr[-4000:]}"
    ran = int(done.stdout.strip().rsplit(":", 1)[1].split()[0])
    assert ran > 0, f"{page.name} has no runnable snippet"
