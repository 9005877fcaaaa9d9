"""Profile one app under one scenario's load with py-spy; print where the time goes.

    .venv/bin/python -m benchmarks.profile loom_bare get [--seconds 8]

py-spy (``pip install py-spy``; not a project dependency) samples the uvicorn worker
while wrk (or the asyncio driver) loads it, and writes the raw collapsed stacks to
``benchmarks/.work/profile-<app>-<scenario>.txt``. The summary lists the functions
with the most inclusive and the most self time, as a share of all samples.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from benchmarks.run import APPS, WORK, Server, first_cursor, measure, parse_args
from benchmarks.scenarios import BY_NAME
from benchmarks.seed import prepare_template, reset_bench_db


def summarize(path: str, top: int, focus: str | None) -> str:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    with open(path) as handle:
        for line in handle:
            stack, _, count_text = line.rstrip("\n").rpartition(" ")
            if not stack:
                continue
            count = int(count_text)
            frames = stack.split(";")
            total += count
            for frame in set(frames):
                inclusive[frame] += count
            own[frames[-1]] += count
    if not total:
        return "no samples"
    out = [f"{total} samples", "", "self time by package:"]
    packages: collections.Counter[str] = collections.Counter()
    for frame, count in own.items():
        packages[_package(frame)] += count
    for name, count in packages.most_common(12):
        out.append(f"  {100 * count / total:5.1f}%  {name}")
    for title, counter in (("inclusive", inclusive), ("self", own)):
        out.append(f"\ntop {top} by {title} time:")
        shown = 0
        for frame, count in counter.most_common():
            if focus and focus not in frame:
                continue
            out.append(f"  {100 * count / total:5.1f}%  {frame}")
            shown += 1
            if shown >= top:
                break
    return "\n".join(out)


def _package(frame: str) -> str:
    """``func (starlette/routing.py:12)`` -> ``starlette``; Loom's modules by subpackage."""
    location = frame.rpartition("(")[2].rstrip(")")
    path = location.rsplit(":", 1)[0]
    parts = path.split("/")
    if parts[0] == "loom" and len(parts) > 2:
        return "/".join(parts[:3]) if parts[1] in ("core", "rest") else "/".join(parts[:2])
    if parts[0].startswith("<") or len(parts) == 1:
        return "stdlib/other"
    return parts[0]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument("app", choices=[a.name for a in APPS])
    parser.add_argument("scenario", choices=list(BY_NAME))
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--focus", default=None, help="only list frames containing this text")
    parser.add_argument("--no-seed", action="store_true")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument(
        "--wall",
        dest="cpu",
        action="store_false",
        help="sample waiting too (default: only while holding the GIL, i.e. CPU time)",
    )
    parser.add_argument(
        "--native",
        action="store_true",
        help="include C frames (system calls such as the socket write, C extensions)",
    )
    ns = parser.parse_args()
    beside = Path(sys.executable).parent / "py-spy"
    pyspy = str(beside) if beside.exists() else shutil.which("py-spy")
    if pyspy is None:
        sys.exit("py-spy is not installed: .venv/bin/pip install py-spy")
    args = parse_args([])
    args.connections = ns.connections  # the runner's option is a comma list of levels
    if not ns.no_seed:
        asyncio.run(prepare_template())
    asyncio.run(reset_bench_db())
    app = next(a for a in APPS if a.name == ns.app)
    scenario = BY_NAME[ns.scenario]
    server = Server(app, args.pin)
    raw = WORK / f"profile-{ns.app}-{ns.scenario}.txt"
    try:
        problem = server.wait_ready()
        if problem:
            sys.exit(problem)
        after = first_cursor(server.base)[0] if scenario.needs_cursor else None
        load = scenario.load(after)
        measure(server.base, load, 1.0, args)
        spy = subprocess.Popen(
            [
                pyspy,
                "record",
                "--pid",
                str(server.proc.pid),  # taskset execs uvicorn: the same pid
                "--duration",
                str(round(ns.seconds)),
                "--rate",
                "250",
                "--format",
                "raw",
                "--output",
                str(raw),
                *(["--gil"] if ns.cpu else []),
                *(["--native"] if ns.native else []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        result: dict[str, float] = {}
        loader = threading.Thread(
            target=lambda: result.update(rps=measure(server.base, load, ns.seconds, args).rps)
        )
        loader.start()
        spy.wait()
        loader.join()
    finally:
        server.stop()
    print(f"{ns.app} / {ns.scenario}: {result.get('rps', 0):.0f} req/s while sampled")
    print(summarize(str(raw), ns.top, ns.focus))
    return 0


if __name__ == "__main__":
    sys.exit(main())
