"""``make bench``: seed PostgreSQL, serve each app in turn, load it, report.

Each round runs every app once, in order (A B C D, A B C D, ...): the database is
cloned from the seeded template, the app starts under one uvicorn worker, every
scenario is probed, warmed up and measured, and the app stops. The reported figure
per scenario is the median over rounds.

Every app runs twice: with the tuned pool of earlier results (``POOL_SIZE``, no
overflow) and with its library's pool defaults, as a user writes it (``@default``
rows: SQLAlchemy's 5 + 10, asyncpg's 10, Loom with no pool settings). One pass per
pool setting (so the apps' connections stay within ``max_connections``), merged into
one table per connection level; each level writes ``<label>-c<N>`` results.

    make bench                      # 3 rounds x 5 s per scenario, 50 and 200 connections
    make bench ARGS=--quick         # 1 round x 2 s
    make bench ARGS="--apps handwritten,floor --scenarios get,update"
    make bench ARGS="--pools default --connections 50"
    make bench ARGS="--baseline 67853d6"   # also Loom as of 67853d6: now over before
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from benchmarks import baseline, driver, report
from benchmarks.cpu import cpu_per_request
from benchmarks.scenarios import CURSOR_FIRST_PAGE, SCENARIOS, Scenario
from benchmarks.seed import prepare_template, reset_bench_db, vacuum
from benchmarks.settings import DEFAULT_URL, POOL_SIZE

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / ".work"
RESULTS = ROOT / "benchmarks" / "results"
SERVER_CPU = "1"
DRIVER_CPU = "0"


@dataclass(frozen=True)
class AppSpec:
    name: str
    label: str
    factory: str
    env: dict[str, str] = field(default_factory=dict)
    loom: bool = False
    root: Path = ROOT
    """The checkout served: this one, or a ``--baseline`` worktree."""
    default_factory: str | None = None
    """The factory for the library-pool-defaults pass, when not ``factory``."""


APPS: tuple[AppSpec, ...] = (
    AppSpec("handwritten", "hand-written FastAPI", "benchmarks.apps.handwritten:create_app"),
    AppSpec("floor", "raw asyncpg floor", "benchmarks.apps.floor:create_app"),
    AppSpec(
        "loom",
        "Loom (trace+metrics on)",
        "benchmarks.apps.loom_app.main:create_app",
        {"TRACE_ENABLED": "true", "METRICS_ENABLED": "true"},
        loom=True,
    ),
    AppSpec(
        "loom_bare",
        "Loom (trace+metrics off)",
        "benchmarks.apps.loom_app.main:create_app",
        {"TRACE_ENABLED": "false", "METRICS_ENABLED": "false"},
        loom=True,
    ),
)


POOLS = ("tuned", "default")


def with_pool(app: AppSpec, pool: str) -> AppSpec:
    """``app`` with its library's pool defaults (``pool == "default"``), else as is."""
    if pool == "tuned":
        return app
    return replace(
        app,
        name=f"{app.name}@default",
        label=f"{app.label}, default pool",
        factory=app.default_factory or app.factory,
        env={**app.env, "BENCH_POOL": "default"},
    )


def at_baseline(app: AppSpec, tree: baseline.Worktree) -> AppSpec:
    """A Loom app served from the ``--baseline`` worktree: ``loom@REF``, same settings."""
    return replace(
        app,
        name=f"{app.name}@{tree.ref}",
        label=f"{app.label} @ {tree.ref}",
        root=tree.path,
        default_factory=baseline.default_factory(tree),
    )


def child_env(extra: dict[str, str], root: Path = ROOT) -> dict[str, str]:
    """The environment of a server: ``root`` and its ``src`` first on the path, so a
    baseline worktree's Loom shadows the venv's editable install of this checkout's."""
    env = dict(os.environ)
    paths = [str(root), str(root / "src"), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    env.setdefault("DATABASE_URL", DEFAULT_URL)
    env["BENCH_POOL_SIZE"] = str(POOL_SIZE)
    env.update(extra)
    return env


def loom_unavailable(root: Path = ROOT) -> str | None:
    """Why the Loom app cannot run yet (None when ``create_app`` imports)."""
    probe = "import loom.rest.fastapi.auto"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=child_env({}, root),
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode == 0:
        return None
    last = (done.stderr.strip().splitlines() or ["?"])[-1]
    return f"loom.rest.fastapi.auto does not import: {last}"


def _cpu_times() -> tuple[int, int]:
    with open("/proc/stat") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    return fields[3] + fields[4], sum(fields)  # idle + iowait, total


def idle_fraction(seconds: float = 1.0) -> float:
    """The share of all cores' time that was idle over ``seconds`` (1.0 if unknown)."""
    try:
        idle_a, total_a = _cpu_times()
        time.sleep(seconds)
        idle_b, total_b = _cpu_times()
    except (OSError, ValueError, IndexError):
        return 1.0
    return (idle_b - idle_a) / max(total_b - total_a, 1)


def wait_for_quiet(max_wait: float, min_idle: float = 0.85) -> float:
    """Wait up to ``max_wait`` s for the machine to be idle (no app of ours is running).

    Other work on a shared machine skews whichever app happens to run beside it; this
    keeps turns from starting in the middle of someone's test suite. Returns the last
    idle fraction seen.
    """
    deadline = time.monotonic() + max_wait
    idle = idle_fraction()
    while idle < min_idle and time.monotonic() < deadline:
        idle = idle_fraction()
    return idle


NICE = -10 if hasattr(os, "geteuid") and os.geteuid() == 0 else 0


def niced(cmd: list[str]) -> list[str]:
    """As root, run the server and the driver ahead of other work on a shared machine."""
    if NICE and shutil.which("nice"):
        return ["nice", "-n", str(NICE), *cmd]
    return cmd


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


class Server:
    """One uvicorn worker serving an app, pinned to its own core when ``taskset`` exists."""

    def __init__(self, app: AppSpec, pin: bool) -> None:
        self.app = app
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = WORK / f"{app.name}.log"
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            app.factory,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
            "--no-access-log",
            "--log-level",
            "warning",
            "--loop",
            "uvloop" if _has("uvloop") else "asyncio",
            "--http",
            "httptools" if _has("httptools") else "h11",
        ]
        if pin and shutil.which("taskset"):
            cmd = ["taskset", "-c", SERVER_CPU, *cmd]
        cmd = niced(cmd)
        WORK.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            cmd,
            env=child_env(app.env, app.root),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=app.root,
        )

    def wait_ready(self, timeout: float = 45.0) -> str | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return f"server exited with {self.proc.returncode}: {self.log_tail()}"
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(self.base + "/health/ping", timeout=2)
                return None
            time.sleep(0.2)
        return f"server not ready after {timeout:.0f}s: {self.log_tail()}"

    def log_tail(self, lines: int = 6) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


def probe(base: str, scenario: Scenario, after: str | None) -> str | None:
    method, path, body = scenario.probe(after)
    headers = {"content-type": "application/json"} if body is not None else {}
    try:
        response = httpx.request(method, base + path, content=body, headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        return f"request failed: {exc!r}"
    try:
        payload: Any = response.json()
    except ValueError:
        payload = response.text[:200]
    return scenario.check(response.status_code, payload)


def first_cursor(base: str) -> tuple[str | None, str | None]:
    """The ``next_cursor`` of page one, which the cursor scenario then hammers."""
    try:
        response = httpx.get(base + CURSOR_FIRST_PAGE, timeout=10)
        token = response.json().get("next_cursor") if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        token = None
    if not token:
        return None, f"no next_cursor from {CURSOR_FIRST_PAGE}"
    return token, None


def measure(
    base: str, load: driver.Load, seconds: float, args: argparse.Namespace
) -> driver.Result:
    if args.driver == "wrk":
        return driver.run_wrk(
            base, load, seconds, args.connections, DRIVER_CPU if args.pin else None, nice=NICE
        )
    return driver.run_python(base, load, seconds, args.connections)


def measure_app(server: Server, load: driver.Load, args: argparse.Namespace) -> dict[str, Any]:
    """Warm up, then measure: the driver's figures plus the CPU per request of the
    app's process and of PostgreSQL."""
    measure(server.base, load, args.warmup, args)
    result: dict[str, Any] = {}
    with cpu_per_request(server.proc.pid, result):
        result.update(measure(server.base, load, args.duration, args).as_dict())
    return result


def run_app(
    app: AppSpec, scenarios: list[Scenario], args: argparse.Namespace
) -> dict[str, dict[str, Any]]:
    """One app's turn in a round: ``{scenario: result dict or {"na": reason}}``."""
    asyncio.run(reset_bench_db())
    server = Server(app, args.pin)
    try:
        problem = server.wait_ready()
        if problem:
            return {s.name: {"na": problem} for s in scenarios}
        out: dict[str, dict[str, Any]] = {}
        for scenario in scenarios:
            after = None
            if scenario.needs_cursor:
                after, problem = first_cursor(server.base)
                if problem:
                    out[scenario.name] = {"na": problem}
                    continue
            problem = probe(server.base, scenario, after)
            if problem:
                out[scenario.name] = {"na": problem}
            else:
                out[scenario.name] = measure_app(server, scenario.load(after), args)
            _print_result(app, scenario, out[scenario.name])
        return out
    finally:
        server.stop()


Rounds = list[dict[str, dict[str, dict[str, Any]]]]


def start_turn(
    args: argparse.Namespace, number: int, turns: list[dict[str, Any]], app: AppSpec | None = None
) -> None:
    """Wait for a quiet machine, then log and record how quiet it was."""
    idle = wait_for_quiet(args.quiet_wait)
    load_avg = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    who = f": {app.label}" if app is not None else ""
    print(
        f"round {number}/{args.rounds}{who} (idle before: {100 * idle:.0f}%, load {load_avg:.2f})",
        flush=True,
    )
    turn: dict[str, Any] = {
        "round": number,
        "load_1min": round(load_avg, 2),
        "idle_before": round(idle, 3),
    }
    if app is not None:
        turn["app"] = app.name
    turns.append(turn)


def _print_result(app: AppSpec, scenario: Scenario, result: dict[str, Any]) -> None:
    if "na" in result:
        print(f"    {app.name:<12} {scenario.name:<12} n/a: {result['na']}", flush=True)
        return
    cpu = ""
    if "app_cpu_us" in result:
        cpu = f"  CPU/req app {result['app_cpu_us']:.0f} us, db {result['db_cpu_us']:.0f} us"
    print(
        f"    {app.name:<12} {scenario.name:<12} {result['rps']:>9.1f} req/s  "
        f"p50 {result['p50_ms']:.2f} ms  p99 {result['p99_ms']:.2f} ms{cpu}"
        + (f"  errors {result['errors']}" if result["errors"] else ""),
        flush=True,
    )


def run_interleaved(
    apps: list[AppSpec],
    scenarios: list[Scenario],
    args: argparse.Namespace,
    loom_reasons: dict[Path, str],
    turns: list[dict[str, Any]],
) -> Rounds:
    """All apps up at once (idle when not loaded); per scenario, A B C D back to back.

    Each comparison is then seconds apart, so other work on a shared machine hits
    every app alike instead of whichever app's turn it happens to overlap. The apps
    share one freshly cloned database (the write scenarios only add or retitle rows).
    """
    asyncio.run(reset_bench_db())
    servers: dict[str, Server] = {}
    broken: dict[str, str] = {}
    try:
        for app in apps:  # one at a time: two Loom apps would race creating their tables
            if app.loom and app.root in loom_reasons:
                broken[app.name] = loom_reasons[app.root]
                continue
            servers[app.name] = server = Server(app, args.pin)
            problem = server.wait_ready()
            if problem:
                broken[app.name] = problem
        prepared: dict[tuple[str, str], driver.Load | str] = {}
        for app in apps:
            for scenario in scenarios:
                if app.name in broken:
                    prepared[app.name, scenario.name] = broken[app.name]
                    continue
                base = servers[app.name].base
                after, problem = first_cursor(base) if scenario.needs_cursor else (None, None)
                problem = problem or probe(base, scenario, after)
                prepared[app.name, scenario.name] = problem or scenario.load(after)
        rounds: Rounds = []
        for number in range(1, args.rounds + 1):
            if number > 1:
                asyncio.run(vacuum())
            start_turn(args, number, turns)
            this: dict[str, dict[str, dict[str, Any]]] = {a.name: {} for a in apps}
            for scenario in scenarios:
                for app in apps:
                    load = prepared[app.name, scenario.name]
                    if isinstance(load, str):
                        result: dict[str, Any] = {"na": load}
                    else:
                        result = measure_app(servers[app.name], load, args)
                    this[app.name][scenario.name] = result
                    if number == 1 or "na" not in result:
                        _print_result(app, scenario, result)
            rounds.append(this)
        return rounds
    finally:
        for server in servers.values():
            server.stop()


def run_per_app(
    apps: list[AppSpec],
    scenarios: list[Scenario],
    args: argparse.Namespace,
    loom_reasons: dict[Path, str],
    loads: list[dict[str, Any]],
) -> Rounds:
    """Each app's whole turn in one go, on its own fresh database clone, A B C D per round."""
    rounds: Rounds = []
    for number in range(1, args.rounds + 1):
        this: dict[str, dict[str, dict[str, Any]]] = {}
        for app in apps:
            start_turn(args, number, loads, app)
            if app.loom and app.root in loom_reasons:
                this[app.name] = {s.name: {"na": loom_reasons[app.root]} for s in scenarios}
                continue
            this[app.name] = run_app(app, scenarios, args)
        rounds.append(this)
    return rounds


def driver_ceiling(args: argparse.Namespace) -> float:
    """Requests/s the driver reaches against a fixed-response raw-socket server."""
    port = free_port()
    cmd = [sys.executable, "-m", "benchmarks.apps.hello", str(port)]
    if args.pin and shutil.which("taskset"):
        cmd = ["taskset", "-c", SERVER_CPU, *cmd]
    proc = subprocess.Popen(cmd, env=child_env({}), cwd=ROOT)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(50):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.1)
        return measure(base, driver.Load("GET", "/health/ping"), 2.0, args).rps
    finally:
        proc.terminate()
        proc.wait(5)


def aggregate(rounds: list[dict[str, dict[str, dict[str, Any]]]]) -> dict[str, Any]:
    apps: dict[str, Any] = {}
    for one in rounds:
        for app, scenarios in one.items():
            for name, result in scenarios.items():
                apps.setdefault(app, {}).setdefault(name, []).append(result)
    summary: dict[str, Any] = {}
    for app, scenarios in apps.items():
        for name, results in scenarios.items():
            ok = [r for r in results if "na" not in r]
            if not ok:
                summary.setdefault(app, {})[name] = {"na": results[-1]["na"]}
                continue
            rates = [r["rps"] for r in ok]
            median = statistics.median(rates)
            summary.setdefault(app, {})[name] = {
                "rps": round(median, 1),
                "spread_pct": round(100 * (max(rates) - min(rates)) / median, 1) if median else 0,
                "p50_ms": round(statistics.median(r["p50_ms"] for r in ok), 3),
                "p99_ms": round(statistics.median(r["p99_ms"] for r in ok), 3),
                "errors": sum(r["errors"] for r in ok),
                **{
                    key: round(statistics.median(r[key] for r in ok), 1)
                    for key in ("app_cpu_us", "db_cpu_us")
                    if all(key in r for r in ok)
                },
                "rounds": rates,
            }
    return summary


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 round x 2 s per scenario")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up")
    parser.add_argument(
        "--connections", default="50,200", help="keep-alive connections; a comma list runs each"
    )
    parser.add_argument(
        "--pools",
        default=",".join(POOLS),
        help="tuned (POOL_SIZE, no overflow) and/or default (each library's pool defaults)",
    )
    parser.add_argument("--apps", default=",".join(a.name for a in APPS))
    parser.add_argument("--scenarios", default=",".join(s.name for s in SCENARIOS))
    parser.add_argument("--driver", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="no taskset")
    parser.add_argument("--label", default="latest", help="results file name stem")
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="also run each Loom app as of git REF (a detached worktree in /tmp, removed "
        "afterwards) and report Loom now over Loom before per scenario",
    )
    parser.add_argument(
        "--per-app",
        action="store_true",
        help="run each app's scenarios as one turn on its own database clone "
        "(default: all apps up, scenarios interleaved A B C D)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        help="before each app's turn, wait up to this many seconds for the CPUs to be idle",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.duration, args.warmup = 1, 2.0, 0.5
        args.quiet_wait = min(args.quiet_wait, 10.0)
    if args.driver == "auto":
        args.driver = "wrk" if driver.have_wrk() else "python"
    if (os.cpu_count() or 1) < 2:
        args.pin = False
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    wanted_apps = args.apps.split(",")
    pools = [p for p in POOLS if p in args.pools.split(",")]
    base_apps = [a for a in APPS if a.name in wanted_apps]
    scenarios = [s for s in SCENARIOS if s.name in args.scenarios.split(",")]
    levels = [int(n) for n in str(args.connections).split(",") if n.strip()]
    if not base_apps or not scenarios or not pools or not levels:
        print(
            "nothing to run: check --apps, --scenarios, --pools and --connections", file=sys.stderr
        )
        return 2
    try:
        wanted = args.baseline and any(a.loom for a in base_apps)
        tree = baseline.checkout(ROOT, args.baseline) if wanted else None
    except RuntimeError as exc:
        print(f"--baseline {args.baseline}: {exc}", file=sys.stderr)
        return 2
    try:
        return run_levels(args, base_apps, pools, scenarios, levels, tree)
    finally:
        if tree is not None:
            baseline.remove(ROOT, tree)


def run_levels(
    args: argparse.Namespace,
    base_apps: list[AppSpec],
    pools: list[str],
    scenarios: list[Scenario],
    levels: list[int],
    tree: baseline.Worktree | None,
) -> int:
    loom_reasons: dict[Path, str] = {}
    before: dict[str, str] = {}
    if tree is not None:
        # Each earlier app right after its current twin: the pair is measured seconds apart.
        apps: list[AppSpec] = []
        for app in base_apps:
            apps.append(app)
            if app.loom:
                apps.append(old := at_baseline(app, tree))
                before[old.name] = app.name
        base_apps = apps
        print(f"baseline: {tree.ref} ({tree.commit[:10]}) in {tree.path}", flush=True)
    for root in {a.root for a in base_apps if a.loom}:
        reason = loom_unavailable(root)
        if reason:
            loom_reasons[root] = reason
            print(f"Loom apps from {root}: n/a ({reason})", flush=True)
    seeded = asyncio.run(prepare_template())
    print(f"seeded template database: {seeded}", flush=True)
    meta: dict[str, Any] | None = None
    if tree is not None:
        meta = {
            "ref": tree.ref,
            "commit": tree.commit,
            "default_pool": tree.note,
            "pairs": {
                **before,
                **{f"{old}@default": f"{new}@default" for old, new in before.items()},
            },
        }
    label = args.label
    for level in levels:
        args.connections = level
        args.label = label if len(levels) == 1 else f"{label}-c{level}"
        run_level(args, base_apps, pools, scenarios, loom_reasons, seeded, meta)
    return 0


def run_level(
    args: argparse.Namespace,
    base_apps: list[AppSpec],
    pools: list[str],
    scenarios: list[Scenario],
    loom_reasons: dict[Path, str],
    seeded: dict[str, Any],
    baseline_meta: dict[str, Any] | None = None,
) -> None:
    """Every app at ``args.connections`` connections, one pass per pool setting."""
    ceiling = driver_ceiling(args)
    print(f"driver: {args.driver}, {args.connections} connections, ceiling {ceiling:.0f} req/s")
    loads: list[dict[str, Any]] = []
    apps: list[AppSpec] = []
    rounds: Rounds = []
    for pool in pools:
        these = [with_pool(a, pool) for a in base_apps]
        print(f"pool: {pool}", flush=True)
        if args.per_app:
            done = run_per_app(these, scenarios, args, loom_reasons, loads)
        else:
            done = run_interleaved(these, scenarios, args, loom_reasons, loads)
        apps += these
        for number, one in enumerate(done):
            if number < len(rounds):
                rounds[number].update(one)
            else:
                rounds.append(dict(one))
    results: dict[str, Any] = {
        "machine": report.machine(),
        "settings": {
            "rounds": args.rounds,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "connections": args.connections,
            "driver": args.driver,
            "driver_ceiling_rps": round(ceiling, 1),
            "pinned": args.pin,
            "nice": NICE,
            "order": "per app" if args.per_app else "interleaved per scenario",
            "pool_size": POOL_SIZE,
            "pools": pools,
            "data": seeded,
        },
        "apps": {a.name: a.label for a in apps},
        "scenarios": {s.name: {"title": s.title, "target": s.target} for s in scenarios},
        "summary": aggregate(rounds),
        "rounds": rounds,
        "load_before_each_turn": loads,
    }
    if baseline_meta is not None:
        names = {a.name for a in apps}
        pairs = {k: v for k, v in baseline_meta["pairs"].items() if k in names}
        results["baseline"] = {**baseline_meta, "pairs": pairs}
    paths = report.write_all(results, RESULTS, args.label)
    print()
    print(report.markdown_table(results))
    print("\nwrote " + ", ".join(str(p.relative_to(ROOT)) for p in paths))


if __name__ == "__main__":
    sys.exit(main())
