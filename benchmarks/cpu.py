"""CPU time the app's process and PostgreSQL spend while a scenario is measured.

Throughput alone does not say whether an app is bound by its own CPU or by the
database's: per request, these two figures do. They come from ``/proc`` (Linux),
the app's worker by pid and PostgreSQL as the sum of every ``postgres`` process
(backends and background workers alike); elsewhere they are simply absent.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _ticks(pid: int | str) -> int:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _postgres_ticks() -> dict[str, int]:
    """Ticks per ``postgres`` process: compared per pid, a backend that ends during
    the measurement (another client's, or a pool closing an idle connection) drops
    out instead of taking its whole lifetime's CPU off the total."""
    ticks: dict[str, int] = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as handle:
                if handle.read().startswith("postgres"):
                    ticks[pid] = _ticks(pid)
        except (OSError, ValueError, IndexError):
            continue  # the process ended meanwhile
    return ticks


@contextmanager
def cpu_per_request(pid: int, result: dict[str, Any]) -> Iterator[None]:
    """Around a measurement: adds ``app_cpu_us`` and ``db_cpu_us`` (per request) to
    ``result`` once the block has filled in its ``requests``."""
    try:
        app, db = _ticks(pid), _postgres_ticks()
    except (OSError, ValueError, IndexError):
        yield
        return
    yield
    requests = result.get("requests") or 0
    try:
        app_s = (_ticks(pid) - app) / _TICK
        after = _postgres_ticks()
        db_s = sum(max(t - db.get(pid, 0), 0) for pid, t in after.items()) / _TICK
    except (OSError, ValueError, IndexError):
        return
    if requests:
        result["app_cpu_us"] = round(app_s / requests * 1e6, 1)
        result["db_cpu_us"] = round(db_s / requests * 1e6, 1)
