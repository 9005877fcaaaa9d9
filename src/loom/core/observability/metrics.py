"""Prometheus metrics for one Loom application.

Each :class:`Metrics` owns its own ``CollectorRegistry`` rather than the process
default, so several apps built in one test session (or one process) never collide
on metric names.

The request and use-case metrics sit on every request's path. ``prometheus_client``'s
``Counter``/``Histogram`` cost several method calls and locks per observation (the
benchmark measured 5-10 us of a 20 us request); here they are plain counts per label
tuple (a dict lookup, a ``bisect`` and two increments under one lock) that a
collector turns into the same Prometheus families when the endpoint is scraped.
Job metrics, recorded far less often, use ``prometheus_client``'s own types.

Several worker processes (``uvicorn --workers N``, gunicorn, ``loom run --workers N``)
each count their own requests. With ``PROMETHEUS_MULTIPROC_DIR`` set (before the
process imports ``prometheus_client``), every metric is recorded with
``prometheus_client``'s own types, which write to files in that directory, and a
scrape answers the totals of all the workers (``MultiProcessCollector``), whichever
worker it reaches. That costs a few microseconds per request more; the directory must
be emptied between runs of the server (``loom run --workers`` does it).
"""

from __future__ import annotations

import logging
import os
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

__all__ = ["Metrics", "PoolStatsProvider", "multiprocess_dir", "set_pool_stats_provider"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    """The directory of prometheus_client's multiprocess mode, when it is on."""
    return os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower()) or None


#: Returns the DB pool's current numbers, e.g. ``{"in_use": 3, "size": 10}``.
PoolStatsProvider = Callable[[], Mapping[str, float] | None]

# Request latencies of a web API: from sub-millisecond cache hits up to timeouts.
_HTTP_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Jobs run longer than requests.
_JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0)

_log = logging.getLogger("loom.metrics")
_STATUS = {code: str(code) for code in range(100, 600)}


class _ProcessPool:
    """The provider the DB layer registers without knowing any Metrics instance."""

    provider: PoolStatsProvider | None = None


def set_pool_stats_provider(provider: PoolStatsProvider | None) -> None:
    """Register the process-wide DB pool callback used by every :class:`Metrics`.

    The database layer calls this once its engine exists; a :class:`Metrics` with a
    provider of its own (:meth:`Metrics.set_pool_stats_provider`) uses that instead.
    """
    _ProcessPool.provider = provider


class _PoolCollector(Collector):
    """Reads the pool numbers at scrape time: nothing runs per request or per query."""

    def __init__(self, metrics: Metrics, name: str) -> None:
        self._metrics = metrics
        self._name = name

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def _family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(
            self._name, "Database connection pool connections by state.", labels=["state"]
        )

    def collect(self) -> Iterable[Metric]:
        family = self._family()
        provider = self._metrics.pool_stats_provider or _ProcessPool.provider
        if provider is None:
            return [family]
        try:
            stats = provider() or {}
            for state, value in stats.items():
                if value is not None:
                    family.add_metric([str(state)], float(value))
        except Exception:
            # A scrape must never fail because the pool is closing or misbehaving.
            _log.warning("db pool stats provider failed", exc_info=True)
        return [family]


class _Counts:
    """One counter or histogram family kept as plain numbers per label tuple."""

    __slots__ = ("bounds", "doc", "labels", "name", "series")

    def __init__(
        self, name: str, doc: str, labels: Sequence[str], bounds: Sequence[float] = ()
    ) -> None:
        self.name = name
        self.doc = doc
        self.labels = list(labels)
        self.bounds = tuple(sorted(float(b) for b in bounds))
        # counter: [value]; histogram: [per-bucket counts..., +Inf count, sum]
        self.series: dict[tuple[str, ...], list[float]] = {}

    def slot(self, key: tuple[str, ...]) -> list[float]:
        """The numbers of one label tuple, made on first use; a recorder keeps it."""
        series = self.series.get(key)
        if series is None:
            size = len(self.bounds) + 2 if self.bounds else 1
            series = self.series[key] = [0.0] * size
        return series

    def family(self) -> Metric:
        if not self.bounds:
            counter = CounterMetricFamily(self.name, self.doc, labels=self.labels)
            for key, (value,) in list(self.series.items()):
                counter.add_metric(list(key), value)
            return counter
        histogram = HistogramMetricFamily(self.name, self.doc, labels=self.labels)
        for key, series in list(self.series.items()):
            running = 0.0
            buckets: list[tuple[str, float]] = []
            for bound, count in zip(self.bounds, series, strict=False):
                running += count
                buckets.append((floatToGoString(bound), running))
            buckets.append(("+Inf", running + series[len(self.bounds)]))
            histogram.add_metric(list(key), buckets, sum_value=series[-1])
        return histogram


class _SharedCounts:
    """The :class:`_Counts` calls on a ``prometheus_client`` counter or histogram,
    whose values go to the multiprocess directory (children cached per labels)."""

    __slots__ = ("children", "metric", "name")

    def __init__(
        self,
        name: str,
        doc: str,
        labels: Sequence[str],
        registry: CollectorRegistry,
        bounds: Sequence[float] = (),
    ) -> None:
        self.name = name
        if bounds:
            self.metric: Any = Histogram(name, doc, labels, buckets=bounds, registry=registry)
        else:
            self.metric = Counter(name, doc, labels, registry=registry)
        self.children: dict[tuple[str, ...], Any] = {}

    def _child(self, key: tuple[str, ...]) -> Any:
        child = self.children.get(key)
        if child is None:
            child = self.children[key] = self.metric.labels(*key)
        return child

    def inc(self, key: tuple[str, ...]) -> None:
        self._child(key).inc()

    def observe(self, key: tuple[str, ...], value: float) -> None:
        self._child(key).observe(value)


class _LocalRecorder:
    """The per-request calls on :class:`_Counts`: one dict lookup per call finds the
    numbers of that label tuple (kept from the first call), then a ``bisect`` and the
    increments, under one lock (a job or a scrape may run on another thread)."""

    __slots__ = ("_lock", "_requests", "_use_cases", "families")

    def __init__(self, families: Sequence[_Counts], lock: threading.Lock) -> None:
        self.families = families
        self._lock = lock
        self._requests: dict[tuple[str, str, int], tuple[list[float], list[float]]] = {}
        self._use_cases: dict[str, list[float]] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        with self._lock:
            slots = self._requests.get(key)
            if slots is None:
                requests, latency = self.families[0], self.families[1]
                label = _STATUS.get(status) or str(status)
                slots = self._requests[key] = (
                    requests.slot((method, route, label)),
                    latency.slot((method, route)),
                )
            count, series = slots
            count[0] += 1
            series[bisect_left(self.families[1].bounds, seconds)] += (
                1  # first bucket with le >= value
            )
            series[-1] += seconds

    def observe_use_case(self, name: str, seconds: float, failed: bool = False) -> None:
        with self._lock:
            series = self._use_cases.get(name)
            if series is None:
                series = self._use_cases[name] = self.families[2].slot((name,))
            series[bisect_left(self.families[2].bounds, seconds)] += 1
            series[-1] += seconds
            if failed:
                self.families[3].slot((name,))[0] += 1


class _SharedRecorder:
    """The same calls on ``prometheus_client``'s types (multiprocess mode)."""

    __slots__ = ("families",)

    def __init__(self, families: Sequence[_SharedCounts]) -> None:
        self.families = families

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.families[0].inc((method, route, _STATUS.get(status) or str(status)))
        self.families[1].observe((method, route), seconds)

    def observe_use_case(self, name: str, seconds: float, failed: bool = False) -> None:
        self.families[2].observe((name,), seconds)
        if failed:
            self.families[3].inc((name,))


class _CountsCollector(Collector):
    def __init__(self, families: Sequence[_Counts], lock: threading.Lock) -> None:
        self._families = families
        self._lock = lock

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            return [family.family() for family in self._families]


class Metrics:
    """The metrics of one application and the cheap calls that record them."""

    def __init__(
        self, *, namespace: str = "loom", registry: CollectorRegistry | None = None
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.pool_stats_provider: PoolStatsProvider | None = None
        prefix = f"{namespace}_" if namespace else ""
        reg = self.registry
        self._lock = threading.Lock()
        self.multiprocess_dir = multiprocess_dir()
        """prometheus_client's multiprocess directory: totals of every worker."""
        shared = self.multiprocess_dir is not None

        def family(name: str, doc: str, labels: list[str], bounds: Sequence[float] = ()) -> Any:
            if shared:
                return _SharedCounts(name, doc, labels, reg, bounds)
            return _Counts(name, doc, labels, bounds)

        self.http_requests = family(
            f"{prefix}http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
        )
        self.http_latency = family(
            f"{prefix}http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            _HTTP_BUCKETS,
        )
        self.use_case_latency = family(
            f"{prefix}use_case_duration_seconds",
            "Use-case execution latency by use case.",
            ["use_case"],
            _HTTP_BUCKETS,
        )
        self.use_case_failures = family(
            f"{prefix}use_case_failures",
            "Use-case executions that raised, by use case.",
            ["use_case"],
        )
        hot = (
            self.http_requests,
            self.http_latency,
            self.use_case_latency,
            self.use_case_failures,
        )
        recorder: _LocalRecorder | _SharedRecorder
        if shared:
            recorder = _SharedRecorder(hot)
        else:
            recorder = _LocalRecorder(hot, self._lock)
            reg.register(_CountsCollector(hot, self._lock))
        # The implementation's bound methods, chosen once: no mode test per request.
        self.observe_request: Callable[[str, str, int, float], None] = recorder.observe_request
        """Record one finished HTTP request ``(method, route, status, seconds)``;
        ``route`` must be a template, not a raw path."""
        self.observe_use_case: Callable[..., None] = recorder.observe_use_case
        """Record one use-case execution ``(name, seconds, failed=False)`` and, if it
        raised, a failure."""
        self.jobs = Counter(
            f"{prefix}jobs",
            "Job lifecycle events by job, queue and state.",
            ["job", "queue", "state"],
            registry=reg,
        )
        self.job_latency = Histogram(
            f"{prefix}job_duration_seconds",
            "Job run duration by job and queue.",
            ["job", "queue"],
            buckets=_JOB_BUCKETS,
            registry=reg,
        )
        self._pool_collector = _PoolCollector(self, f"{prefix}db_pool_connections")
        reg.register(self._pool_collector)
        self._children: dict[tuple[Any, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        """The cached ``metric.labels(*labels)``; keyed by metric identity and labels."""
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def job_event(self, name: str, queue: str, state: str, seconds: float | None = None) -> None:
        """Count a job event (``dispatched``, ``started``, ``succeeded``, ``failed``,
        ``retried``...); pass ``seconds`` on a finishing event to record its duration."""
        self._child(self.jobs, name, queue, state).inc()
        if seconds is not None:
            self._child(self.job_latency, name, queue).observe(seconds)

    def set_pool_stats_provider(self, provider: PoolStatsProvider | None) -> None:
        """Feed the DB pool gauge of this app from ``provider`` (called at scrape time)."""
        self.pool_stats_provider = provider

    def render(self) -> tuple[bytes, str]:
        """The text exposition of this app's registry and its content type; in
        multiprocess mode the totals of every worker's files, plus the pool gauge of
        the worker answering (a pool belongs to one process)."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.multiprocess_dir)
        registry.register(self._pool_collector)
        return generate_latest(registry), CONTENT_TYPE_LATEST
