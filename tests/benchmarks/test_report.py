"""The report's ratio to the raw asyncpg floor (issue 15: Loom's get by id >= 0.6 of it)."""

from __future__ import annotations

from typing import Any

from benchmarks import report


def _results(summary: dict[str, Any], scenarios: tuple[str, ...]) -> dict[str, Any]:
    return {
        "apps": {name: name.upper() for name in summary},
        "scenarios": {name: {"title": f"title {name}", "target": 3.0} for name in scenarios},
        "summary": summary,
    }


def _entry(rps: float) -> dict[str, Any]:
    return {"rps": rps, "p50_ms": 1.0, "p99_ms": 2.0}


def test_each_loom_row_is_divided_by_the_floor_with_its_own_pool_setting() -> None:
    summary = {
        "handwritten": {"get_projection": _entry(100)},
        "floor": {"get_projection": _entry(1000)},
        "loom": {"get_projection": _entry(650)},
        "floor@default": {"get_projection": _entry(2000)},
        "loom@default": {"get_projection": _entry(1000)},
    }
    lines = report.floor_table(_results(summary, ("get_projection", "ping")))
    row = next(line for line in lines if line.startswith("| title get_projection"))
    assert row == "| title get_projection | x0.65 ✓ | x0.50 ✗ | ≥0.6x |"
    assert not any("title ping" in line for line in lines)  # no floor target for ping
    assert "x0.65 ✓" in report.markdown_table(_results(summary, ("get_projection",)))


def test_no_floor_table_without_a_floor_run() -> None:
    summary = {"handwritten": {"get": _entry(100)}, "loom": {"get": _entry(500)}}
    assert report.floor_table(_results(summary, ("get",))) == []


def test_a_missing_floor_figure_reads_n_a() -> None:
    summary = {"floor": {"get": {"na": "probe failed"}}, "loom": {"get": _entry(500)}}
    lines = report.floor_table(_results(summary, ("get",)))
    assert lines[-1] == "| title get | n/a | ≥0.6x |"
