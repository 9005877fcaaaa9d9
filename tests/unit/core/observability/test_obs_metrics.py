"""Metrics: per-app registries, request/use-case families, pool gauge at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from loom.core.observability import metrics as obs_metrics
from loom.core.observability.metrics import Metrics, set_pool_stats_provider


@pytest.fixture(autouse=True)
def _no_process_provider() -> Iterator[None]:
    yield
    set_pool_stats_provider(None)


def _samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, _ = metrics.render()
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_requests_are_counted_by_method_route_and_status() -> None:
    m = Metrics()
    m.observe_request("GET", "/users/{id}", 200, 0.01)
    m.observe_request("GET", "/users/{id}", 200, 0.02)
    m.observe_request("GET", "/users/{id}", 404, 0.01)
    s = _samples(m)
    ok = (("method", "GET"), ("route", "/users/{id}"), ("status", "200"))
    assert s[("loom_http_requests_total", ok)] == 2
    assert s[("loom_http_requests_total", (*ok[:2], ("status", "404")))] == 1
    lat = (("method", "GET"), ("route", "/users/{id}"))
    assert s[("loom_http_request_duration_seconds_count", lat)] == 3
    assert s[("loom_http_request_duration_seconds_sum", lat)] == pytest.approx(0.04)


def test_latencies_land_in_cumulative_le_buckets() -> None:
    m = Metrics()
    for seconds in (0.002, 0.003, 0.0001, 20.0):  # on a bound, between, below, above all
        m.observe_request("GET", "/a", 200, seconds)
    s = _samples(m)

    def bucket(le: str) -> float:
        labels = (("le", le), ("method", "GET"), ("route", "/a"))
        return s[("loom_http_request_duration_seconds_bucket", labels)]

    assert (bucket("0.002"), bucket("0.005"), bucket("10.0"), bucket("+Inf")) == (2, 3, 3, 4)
    assert s[
        ("loom_http_request_duration_seconds_sum", (("method", "GET"), ("route", "/a")))
    ] == pytest.approx(20.0051)


def test_two_apps_do_not_collide() -> None:
    a, b = Metrics(), Metrics()
    a.observe_request("GET", "/x", 200, 0.1)
    assert (
        "loom_http_requests_total",
        (("method", "GET"), ("route", "/x"), ("status", "200")),
    ) in (_samples(a))
    assert not any(name == "loom_http_requests_total" for name, _ in _samples(b))


def test_use_cases_and_jobs() -> None:
    m = Metrics()
    m.observe_use_case("CreateUser", 0.01)
    m.observe_use_case("CreateUser", 0.02, failed=True)
    m.job_event("SendEmail", "emails", "dispatched")
    m.job_event("SendEmail", "emails", "succeeded", seconds=1.5)
    s = _samples(m)
    uc = (("use_case", "CreateUser"),)
    assert s[("loom_use_case_duration_seconds_count", uc)] == 2
    assert s[("loom_use_case_failures_total", uc)] == 1
    job = (("job", "SendEmail"), ("queue", "emails"))
    assert s[("loom_jobs_total", (*job, ("state", "dispatched")))] == 1
    assert s[("loom_jobs_total", (*job, ("state", "succeeded")))] == 1
    assert s[("loom_job_duration_seconds_count", job)] == 1


def test_pool_gauge_reads_the_provider_at_scrape_time() -> None:
    m = Metrics()
    assert not any(name == "loom_db_pool_connections" for name, _ in _samples(m))
    stats = {"in_use": 2, "size": 5}
    set_pool_stats_provider(lambda: stats)
    s = _samples(m)
    assert s[("loom_db_pool_connections", (("state", "in_use"),))] == 2
    assert s[("loom_db_pool_connections", (("state", "size"),))] == 5
    stats["in_use"] = 4
    assert _samples(m)[("loom_db_pool_connections", (("state", "in_use"),))] == 4
    m.set_pool_stats_provider(lambda: {"in_use": 9, "size": 10})
    assert _samples(m)[("loom_db_pool_connections", (("state", "in_use"),))] == 9


def test_a_failing_provider_does_not_break_the_scrape() -> None:
    m = Metrics()

    def broken() -> dict[str, float]:
        raise RuntimeError("pool closed")

    m.set_pool_stats_provider(broken)
    body, content_type = m.render()
    assert b"loom_db_pool_connections" in body
    assert content_type.startswith("text/plain")


def test_namespace_is_configurable() -> None:
    m = Metrics(namespace="")
    m.observe_request("GET", "/", 200, 0.0)
    assert ("http_requests_total", (("method", "GET"), ("route", "/"), ("status", "200"))) in (
        _samples(m)
    )
    assert m.render()[1] == obs_metrics.CONTENT_TYPE_LATEST
