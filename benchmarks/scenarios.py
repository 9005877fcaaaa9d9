"""The nine scenarios: what each sends, and what a correct answer looks like.

Before a scenario is measured on an app, one probe request must pass ``check``;
otherwise the scenario is reported as ``n/a`` with the reason (e.g. a Loom feature
that has not landed yet) instead of benchmarking errors.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.driver import Load
from benchmarks.settings import FULL

RECORD_KEYS = {"id", "ownerId", "title", "status", "amountCents", "quantity", "createdAt"}
DETAIL_KEYS = RECORD_KEYS | {"owner", "notes", "hasNotes", "notesCount", "noteSnippets"}
BOARD_KEYS = {"id", "name", "createdAt", "updatedAt", "hasCards"}
LIST_LIMIT = 20
ARCHIVED_PAGES = FULL.records // 10 // LIST_LIMIT

PRICING_BODY = {
    "quantity": 3,
    "unitPriceCents": 1999,
    "discountPct": 10,
    "taxRatePct": 21,
    "couponCode": "SAVE5",
}
PRICING_EXPECTED = {
    "quantity": 3,
    "unitPriceCents": 1999,
    "subtotalCents": 5997,
    "discountCents": 899,
    "taxCents": 1070,
    "totalCents": 6168,
}
PATCH_BODY = {"title": "Patched by the benchmark", "amountCents": 4242}
CREATE_BODY = {
    "ownerId": 42,
    "title": "Created by the benchmark",
    "status": "open",
    "amountCents": 1234,
    "quantity": 2,
}

Check = Callable[[int, Any], str | None]


def _expect(status: int, keys: set[str] | None = None) -> Check:
    def check(got: int, body: Any) -> str | None:
        if got != status:
            return f"HTTP {got} (expected {status}): {json.dumps(body)[:200]}"
        if keys is not None:
            if not isinstance(body, dict):
                return f"body is not an object: {json.dumps(body)[:200]}"
            missing = keys - body.keys()
            if missing:
                return f"response lacks {sorted(missing)}"
        return None

    return check


def _page(kind: str) -> Check:
    envelope = (
        {"items", "next_cursor", "has_next"}
        if kind == "cursor"
        else {"items", "total_count", "page", "limit", "has_next"}
    )
    base = _expect(200, envelope)

    def check(got: int, body: Any) -> str | None:
        problem = base(got, body)
        if problem:
            return problem
        items = body["items"]
        if len(items) != LIST_LIMIT:
            return f"expected {LIST_LIMIT} items, got {len(items)}"
        missing = RECORD_KEYS - items[0].keys()
        return f"items lack {sorted(missing)}" if missing else None

    return check


def _pricing(got: int, body: Any) -> str | None:
    problem = _expect(200, set(PRICING_EXPECTED))(got, body)
    if problem:
        return problem
    wrong = {k: body[k] for k, v in PRICING_EXPECTED.items() if body[k] != v}
    return f"wrong arithmetic: {wrong}" if wrong else None


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    method: str
    path: str
    body: dict[str, Any] | None
    check: Check
    target: float
    """Loom's goal as a multiple of the hand-written app's throughput."""
    needs_cursor: bool = False
    probe_path: str = ""
    id_max: int = FULL.records
    """Ids drawn for ``@ID@``: 1 to this."""

    def load(self, after: str | None = None) -> Load:
        path = self.path.replace("@AFTER@", after or "")
        body = json.dumps(self.body) if self.body is not None else None
        return Load(self.method, path, body, id_max=self.id_max, page_max=max(1, ARCHIVED_PAGES))

    def probe(self, after: str | None = None) -> tuple[str, str, bytes | None]:
        path = (self.probe_path or self.path).replace("@AFTER@", after or "")
        path = path.replace("@ID@", "12").replace("@PAGE@", "3")
        body = json.dumps(self.body).encode() if self.body is not None else None
        return self.method, path, body


CURSOR_FIRST_PAGE = f"/records?pagination=cursor&limit={LIST_LIMIT}"

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("ping", "ping", "GET", "/health/ping", None, _expect(200, {"status"}), 1.0),
    Scenario("get", "get by id", "GET", "/records/@ID@", None, _expect(200, RECORD_KEYS), 3.0),
    Scenario(
        "get_projection",
        "get by id, default-profile exists",
        "GET",
        "/boards/@ID@",
        None,
        _expect(200, BOARD_KEYS),
        3.0,
        id_max=FULL.boards,
    ),
    Scenario(
        "get_details",
        "get with details",
        "GET",
        "/records/@ID@?profile=with_details",
        None,
        _expect(200, DETAIL_KEYS),
        2.0,
    ),
    Scenario(
        "list_cursor",
        "list, cursor (page 2)",
        "GET",
        CURSOR_FIRST_PAGE + "&after=@AFTER@",
        None,
        _page("cursor"),
        2.0,
        needs_cursor=True,
    ),
    Scenario(
        "list_offset",
        "list, offset + count",
        "GET",
        f"/records?pagination=offset&limit={LIST_LIMIT}&page=@PAGE@&status__eq=archived",
        None,
        _page("offset"),
        2.0,
    ),
    Scenario(
        "update",
        "update (PATCH)",
        "PATCH",
        "/records/@ID@",
        PATCH_BODY,
        _expect(200, RECORD_KEYS),
        3.0,
    ),
    Scenario(
        "pricing",
        "pricing preview (POST)",
        "POST",
        "/records/pricing-preview",
        PRICING_BODY,
        _pricing,
        2.0,
    ),
    Scenario(
        "create", "create (POST)", "POST", "/records", CREATE_BODY, _expect(201, RECORD_KEYS), 3.0
    ),
)

BY_NAME = {s.name: s for s in SCENARIOS}
