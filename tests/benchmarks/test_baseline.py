"""``make bench --baseline REF``: Loom at an earlier commit, served from a throw-away worktree."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from benchmarks.run import APPS, at_baseline, with_pool

from benchmarks import baseline, report

BENCH_YAML = """\
database:
  url: ${oc.env:DATABASE_URL,postgresql+asyncpg://postgres@127.0.0.1:5432/loom_bench}
  pool_size: ${oc.decode:${oc.env:BENCH_POOL_SIZE,10}}
  max_overflow: 0
  create_tables: true
"""


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _repo(tmp_path: Path) -> tuple[Path, str]:
    """A repository whose one commit has a Loom benchmark app predating bench-defaults.yaml."""
    root = tmp_path / "repo"
    config = root / baseline.LOOM_APP / "config"
    config.mkdir(parents=True)
    (config / "bench.yaml").write_text(BENCH_YAML)
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "old")
    return root, _git(root, "rev-parse", "HEAD")


def test_worktree_is_added_detached_served_without_pool_keys_and_removed(tmp_path: Path) -> None:
    root, commit = _repo(tmp_path)
    tree = baseline.checkout(root, commit)
    try:
        assert tree.created and tree.commit == commit
        assert _git(tree.path, "rev-parse", "HEAD") == commit
        assert _git(root, "symbolic-ref", "-q", "HEAD").startswith("refs/heads/")  # untouched
        derived = tree.path / baseline.LOOM_APP / "config" / "bench-defaults.baseline.yaml"
        text = derived.read_text()
        assert "pool_size" not in text and "max_overflow" not in text
        assert "create_tables: true" in text
        assert baseline.default_factory(tree) == (
            f"benchmarks.apps.loom_app.{baseline.SHIM}:create_app"
        )
        again = baseline.checkout(root, commit)  # reused, so not this call's to remove
        assert again.path == tree.path and not again.created
    finally:
        baseline.remove(root, tree)
    assert not tree.path.exists()
    assert str(tree.path) not in _git(root, "worktree", "list")


def test_baseline_apps_keep_their_twin_settings_and_pool_naming(tmp_path: Path) -> None:
    loom = next(a for a in APPS if a.name == "loom")
    tree = baseline.Worktree("abc123", "f" * 40, tmp_path, created=False, note="")
    old = at_baseline(loom, tree)
    assert (old.name, old.root, old.env) == ("loom@abc123", tmp_path, loom.env)
    assert old.factory == loom.factory  # the commit's own app for the tuned pool
    assert with_pool(old, "default").name == "loom@abc123@default"


def _entry(rps: float) -> dict[str, Any]:
    return {"rps": rps, "p50_ms": 1.0, "p99_ms": 2.0}


def _results() -> dict[str, Any]:
    summary = {
        "handwritten": {"get": _entry(100), "get_projection": _entry(100)},
        "loom": {"get": _entry(900), "get_projection": _entry(800)},
        "loom@abc": {"get": _entry(1000), "get_projection": {"na": "HTTP 404"}},
        "handwritten@default": {"get": _entry(50), "get_projection": _entry(50)},
        "loom@default": {"get": _entry(500), "get_projection": _entry(500)},
        "loom@abc@default": {"get": _entry(500), "get_projection": {"na": "HTTP 404"}},
    }
    return {
        "apps": {name: name.upper() for name in summary},
        "scenarios": {
            "get": {"title": "title get", "target": 3.0},
            "get_projection": {"title": "title proj", "target": 3.0},
        },
        "summary": summary,
        "baseline": {
            "ref": "abc",
            "commit": "abc" + "0" * 37,
            "default_pool": "",
            "pairs": {"loom@abc": "loom", "loom@abc@default": "loom@default"},
        },
    }


def test_now_over_before_flags_a_slower_scenario_and_reads_n_a_where_before_had_none() -> None:
    lines = report.baseline_table(_results())
    assert "| title get | x0.90 ⚠ slower | x1.00 |" in lines
    assert "| title proj | n/a | n/a |" in lines
    assert lines[-1] == "Slower than before: title get (LOOM, x0.90)."


def test_a_baseline_app_is_compared_with_the_hand_written_app_of_its_own_pool() -> None:
    table = report.markdown_table(_results())
    row = next(line for line in table.splitlines() if line.startswith("| title get |"))
    # loom@abc is tuned (x10.00 over 100), loom@abc@default is over handwritten@default.
    assert "1,000 (x10.00 ✓)" in row and "500 (x10.00 ✓)" in row
    assert report.baseline_table({**_results(), "baseline": None}) == []
