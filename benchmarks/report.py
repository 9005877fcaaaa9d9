"""Results: the machine description, the Markdown tables, JSON and a PNG bar chart."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

BASELINE = "handwritten"
DEFAULT_TARGETS = {
    "get": 5.0,
    "update": 5.0,
    "create": 5.0,
    "list_cursor": 5.0,
    "list_offset": 5.0,
    "get_projection": 5.0,
    "get_details": 3.0,
    "ping": 2.0,
}
"""Issue 15's targets for the ``@default`` rows (every app with its pool defaults);
the default-profile projection scenario is a get by id and gets its target."""
FLOOR = "floor"
FLOOR_TARGETS = {"get": 0.6, "get_projection": 0.6}
"""Issue 15: Loom's get by id, with and without the default profile's projection, as a
share of the raw-asyncpg floor issuing the same SQL."""


DEFAULT_POOL = "@default"
SLOWER = 0.95
"""Loom now over Loom before (``--baseline``) below this reads as slower than noise
allows for a median of rounds run seconds apart."""


def _same_pool(base: str, app: str) -> str:
    """``base`` with ``app``'s pool setting (``name@default``; ``loom@REF`` is tuned)."""
    return base + DEFAULT_POOL if _default_pool(app) else base


def _default_pool(app: str) -> bool:
    return app.endswith(DEFAULT_POOL)


def _baseline(app: str) -> str:
    """The hand-written app with the same pool setting."""
    return _same_pool(BASELINE, app)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _postgres_version() -> str:
    try:
        out = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "SHOW server_version"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    return out or "unknown"


def machine() -> dict[str, Any]:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "os": f"{platform.system()} {platform.release()}",
        "postgres": _postgres_version(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _ratio(
    summary: dict[str, Any], app: str, scenario: str, base_app: str = BASELINE
) -> float | None:
    base = summary.get(_same_pool(base_app, app), {}).get(scenario, {})
    mine = summary.get(app, {}).get(scenario, {})
    if "rps" not in base or "rps" not in mine or not base["rps"]:
        return None
    return float(mine["rps"]) / float(base["rps"])


def _pair_table(
    results: dict[str, Any], title: str, cell: Callable[[dict[str, Any]], str | None]
) -> list[str]:
    """A scenario-by-app table whose cells ``cell`` renders from each summary entry."""
    apps: dict[str, str] = results["apps"]
    lines = ["", title, "", "| scenario | " + " | ".join(apps.values()) + " |"]
    lines.append("|---|" + "---:|" * len(apps))
    for name, meta in results["scenarios"].items():
        cells = [cell(results["summary"].get(app, {}).get(name, {})) or "n/a" for app in apps]
        lines.append(f"| {meta['title']} | " + " | ".join(cells) + " |")
    return lines


def floor_table(results: dict[str, Any]) -> list[str]:
    """Each Loom app's throughput over the floor's with the same pool, where issue 15
    sets a floor target; empty when no such scenario or no floor ran."""
    summary = results["summary"]
    apps = {k: v for k, v in results["apps"].items() if k.startswith("loom")}
    names = [n for n in FLOOR_TARGETS if n in results["scenarios"]]
    if not apps or not names or not any(a.split("@")[0] == FLOOR for a in results["apps"]):
        return []
    lines = [
        "",
        "Loom as a share of the raw asyncpg floor (same pool setting, same SQL work):",
        "",
        "| scenario | " + " | ".join(apps.values()) + " | target |",
        "|---|" + "---:|" * len(apps) + "---:|",
    ]
    for name in names:
        target = FLOOR_TARGETS[name]
        cells = []
        for app in apps:
            ratio = _ratio(summary, app, name, FLOOR)
            cells.append(
                "n/a" if ratio is None else f"x{ratio:.2f} {'✓' if ratio >= target else '✗'}"
            )
        title = results["scenarios"][name]["title"]
        lines.append(f"| {title} | " + " | ".join(cells) + f" | ≥{target:g}x |")
    return lines


def baseline_table(results: dict[str, Any]) -> list[str]:
    """Loom now over Loom at ``--baseline REF``, each pair with the same pool and trace
    settings (empty without ``--baseline``)."""
    meta = results.get("baseline")
    if not meta or not meta.get("pairs"):
        return []
    summary, apps = results["summary"], results["apps"]
    pairs: dict[str, str] = meta["pairs"]  # before -> now
    lines = [
        "",
        f"Loom now over Loom at {meta['ref']} ({meta['commit'][:10]}), throughput, same "
        f"pool and trace settings; below x{SLOWER:g} is flagged slower (compare with the "
        "round-to-round spread):",
        "",
        "| scenario | " + " | ".join(apps.get(now, now) for now in pairs.values()) + " |",
        "|---|" + "---:|" * len(pairs),
    ]
    slower: list[str] = []
    for name, meta_s in results["scenarios"].items():
        cells = []
        for old, now in pairs.items():
            a = summary.get(now, {}).get(name, {})
            b = summary.get(old, {}).get(name, {})
            if "rps" not in a or "rps" not in b or not b["rps"]:
                cells.append("n/a")
                continue
            ratio = float(a["rps"]) / float(b["rps"])
            if ratio < SLOWER:
                slower.append(f"{meta_s['title']} ({apps.get(now, now)}, x{ratio:.2f})")
            cells.append(f"x{ratio:.2f}" + (" ⚠ slower" if ratio < SLOWER else ""))
        lines.append(f"| {meta_s['title']} | " + " | ".join(cells) + " |")
    lines += ["", "Slower than before: " + ("; ".join(slower) if slower else "none") + "."]
    if meta.get("default_pool"):
        lines.append(f"The earlier app with pool defaults runs on {meta['default_pool']}.")
    return lines


def markdown_table(results: dict[str, Any]) -> str:
    summary = results["summary"]
    apps: dict[str, str] = results["apps"]
    lines = [
        "Throughput, requests/s (median of rounds), and the ratio to the hand-written app:",
        "",
        "| scenario | " + " | ".join(apps.values()) + " | Loom target |",
        "|---|" + "---:|" * len(apps) + "---:|",
    ]
    for name, meta in results["scenarios"].items():
        cells = []
        for app in apps:
            entry = summary.get(app, {}).get(name, {})
            if "rps" not in entry:
                cells.append("n/a")
                continue
            ratio = _ratio(summary, app, name)
            text = f"{entry['rps']:,.0f}"
            if ratio is not None and app != _baseline(app):
                mark = ""
                target = meta["target"]
                if _default_pool(app):
                    target = DEFAULT_TARGETS.get(name, target)
                if app.startswith("loom"):
                    mark = " ✓" if ratio >= target else " ✗"
                text += f" (x{ratio:.2f}{mark})"
            cells.append(text)
        goal = f"≥{meta['target']:g}x"
        if any(_default_pool(app) for app in apps):
            goal += f" (default pool ≥{DEFAULT_TARGETS.get(name, meta['target']):g}x)"
        lines.append(f"| {meta['title']} | " + " | ".join(cells) + f" | {goal} |")
    lines += floor_table(results)
    lines += baseline_table(results)
    lines += _pair_table(
        results,
        "Latency p50 / p99, ms:",
        lambda e: f"{e['p50_ms']:.2f} / {e['p99_ms']:.2f}" if "rps" in e else None,
    )
    if any("app_cpu_us" in e for scenarios in summary.values() for e in scenarios.values()):
        lines += _pair_table(
            results,
            "CPU per request, microseconds: the app's process / PostgreSQL (all its "
            "processes). The app, PostgreSQL and the load driver share the cores, so "
            "the smaller the sum, the more requests fit in a second:",
            lambda e: (
                f"{e['app_cpu_us']:,.0f} / {e['db_cpu_us']:,.0f}" if "app_cpu_us" in e else None
            ),
        )
    reasons = {
        (app, entry["na"])
        for app, scenarios in summary.items()
        for entry in scenarios.values()
        if "na" in entry
    }
    if reasons:
        lines += ["", "n/a:"]
        lines += [f"- {apps.get(app, app)}: {reason}" for app, reason in sorted(reasons)]
    return "\n".join(lines)


def markdown(results: dict[str, Any]) -> str:
    m, s = results["machine"], results["settings"]
    head = [
        f"# Benchmark results ({m['date']})",
        "",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['os']}",
        f"- Python {m['python']} ({m['implementation']}), PostgreSQL {m['postgres']}",
        f"- Data: {s['data'].get('users')} users, {s['data'].get('records')} records, "
        f"{s['data'].get('notes')} notes, {s['data'].get('boards', 0)} boards, "
        f"{s['data'].get('cards', 0)} cards; tuned pool size {s['pool_size']} in every app",
        f"- {s['rounds']} round(s) x {s['duration_s']:g} s per scenario after "
        f"{s['warmup_s']:g} s warm-up; {s['connections']} keep-alive connections; "
        f"driver {s['driver']} (ceiling {s['driver_ceiling_rps']:,.0f} req/s on a "
        f"fixed-response server); server pinned to one core: {s['pinned']}",
    ]
    turns = results.get("load_before_each_turn", [])
    if turns:
        loads = [t["load_1min"] for t in turns]
        idle = [100 * t.get("idle_before", 1.0) for t in turns]
        head.append(
            f"- Before each round (each app turn with --per-app): CPUs "
            f"{min(idle):.0f}-{max(idle):.0f}% idle, 1-minute load average "
            f"{min(loads):.2f}-{max(loads):.2f} (other work on the machine skews the figures)"
        )
    spreads = [
        entry["spread_pct"]
        for scenarios in results["summary"].values()
        for entry in scenarios.values()
        if "spread_pct" in entry
    ]
    if spreads and results["settings"]["rounds"] > 1:
        head.append(
            f"- Round-to-round spread of a figure (max-min over median): median "
            f"{statistics.median(spreads):.0f}%, worst {max(spreads):.0f}%"
        )
    head.append("")
    return "\n".join(head) + markdown_table(results) + "\n"


def chart(results: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    summary = results["summary"]
    # Throughput as a multiple of the hand-written app's in the same run: scenarios
    # that differ 50x in requests/s share one readable axis, and the targets are lines.
    apps = [a for a in results["apps"] if a != BASELINE]
    names = list(results["scenarios"])
    width = 0.8 / max(len(apps), 1)
    fig, ax = plt.subplots(figsize=(12, 5.5))
    for i, app in enumerate(apps):
        values = [_ratio(summary, app, n) or 0.0 for n in names]
        xs = [k + (i - (len(apps) - 1) / 2) * width for k in range(len(names))]
        bars = ax.bar(xs, values, width, label=results["apps"][app])
        for bar, value in zip(bars, values, strict=True):
            ax.annotate(
                f"{value:.1f}x" if value else "n/a",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=7,
            )
    for k, name in enumerate(names):
        target = results["scenarios"][name]["target"]
        label = "Loom target" if k == 0 else "_nolegend_"
        ax.hlines(target, k - 0.45, k + 0.45, colors="black", linestyles="dashed", label=label)
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([results["scenarios"][n]["title"] for n in names], rotation=20, ha="right")
    ax.set_ylabel("requests/s as a multiple of the hand-written app's")
    m = results["machine"]
    ax.set_title(
        f"Throughput relative to hand-written FastAPI (= 1x) - {m['cpu']}, {m['cores']} cores"
    )
    ax.legend(fontsize=8)
    ax.margins(y=0.12)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_all(results: dict[str, Any], directory: Path, label: str) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / f"{label}.json"
    md_path = directory / f"{label}.md"
    png_path = directory / f"{label}.png"
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    md_path.write_text(markdown(results))
    written = [json_path, md_path]
    if chart(results, png_path):
        written.append(png_path)
    return written
