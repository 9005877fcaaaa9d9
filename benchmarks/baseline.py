"""``--baseline REF``: Loom at an earlier commit, benchmarked beside today's in one run.

A change to Loom is judged "no slower" only against the code before it measured in
the same run: absolute figures move by 20-50% between runs on a shared machine. The
earlier commit is checked out as a detached git worktree (the main checkout's branch
and files are never touched) and its own benchmark app is served by the same venv,
with ``PYTHONPATH`` pointing at the worktree's ``src`` so the old framework code runs
on today's third-party packages.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

LOOM_APP = Path("benchmarks") / "apps" / "loom_app"
SHIM = "bench_baseline_defaults"
"""A module written into the worktree when the commit's app predates
``bench-defaults.yaml``: it serves that app on a copy of its YAML without pool keys."""
_POOL_KEY = re.compile(r"^\s+(pool_size|max_overflow)\s*:")


@dataclass
class Worktree:
    ref: str
    commit: str
    path: Path
    created: bool
    note: str
    """How the commit's app is served with library pool defaults, for the report."""


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise RuntimeError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def _registered(root: Path) -> set[Path]:
    out = _git(root, "worktree", "list", "--porcelain")
    return {
        Path(line.split(" ", 1)[1]).resolve()
        for line in out.splitlines()
        if line.startswith("worktree ")
    }


def checkout(root: Path, ref: str) -> Worktree:
    """The worktree at ``/tmp/loom-bench-<ref>``, added detached or reused if present."""
    commit = _git(root, "rev-parse", "--verify", f"{ref}^{{commit}}")
    path = Path("/tmp") / ("loom-bench-" + re.sub(r"[^A-Za-z0-9._-]", "-", ref))
    created = False
    if path.resolve() in _registered(root):
        head = _git(path, "rev-parse", "HEAD")
        if head != commit:
            raise RuntimeError(f"{path} is a worktree at {head[:10]}, not {ref} ({commit[:10]})")
    elif path.exists():
        raise RuntimeError(
            f"{path} exists but is not a git worktree: remove it or pick another ref"
        )
    else:
        _git(root, "worktree", "add", "--detach", str(path), commit)
        created = True
    return Worktree(ref, commit, path, created, _prepare_defaults(path))


def _prepare_defaults(path: Path) -> str:
    """Make the commit's app servable with its library's pool defaults.

    Commits with ``config/bench-defaults.yaml`` choose it themselves on
    ``BENCH_POOL=default``; older ones get a copy of ``bench.yaml`` without the pool
    keys (their Loom reads ``pool_size`` and ``max_overflow`` as optional) and a shim
    that serves it, both untracked files of the throw-away worktree.
    """
    config = path / LOOM_APP / "config"
    if (config / "bench-defaults.yaml").exists():
        return "its own bench-defaults.yaml"
    source = (config / "bench.yaml").read_text().splitlines(keepends=True)
    (config / "bench-defaults.baseline.yaml").write_text(
        "".join(line for line in source if not _POOL_KEY.match(line))
    )
    (path / LOOM_APP / f"{SHIM}.py").write_text(
        '"""Written by benchmarks.baseline of a later commit; not part of this one."""\n\n'
        "from pathlib import Path\nfrom typing import Any\n\n\n"
        "def create_app() -> Any:\n"
        "    from loom.rest.fastapi.auto import create_app as loom_create_app\n\n"
        '    config = Path(__file__).resolve().parent / "config"\n'
        '    return loom_create_app(str(config / "bench-defaults.baseline.yaml"))\n'
    )
    return (
        "its bench.yaml without pool_size and max_overflow "
        "(the commit predates bench-defaults.yaml)"
    )


def default_factory(tree: Worktree) -> str | None:
    """The factory serving the commit's app with pool defaults, if not its own main."""
    if (tree.path / LOOM_APP / f"{SHIM}.py").exists():
        return f"benchmarks.apps.loom_app.{SHIM}:create_app"
    return None


def remove(root: Path, tree: Worktree) -> None:
    """Drop the worktree this run added (and its registration), so the clone stays clean."""
    if not tree.created:
        return
    try:
        _git(root, "worktree", "remove", "--force", str(tree.path))
    except RuntimeError:
        _git(root, "worktree", "prune")
