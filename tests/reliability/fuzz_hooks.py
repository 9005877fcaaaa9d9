"""Schemathesis hooks for the fuzz suite (``SCHEMATHESIS_HOOKS=tests.reliability.fuzz_hooks``).

``documented_acceptance`` replaces the built-in ``positive_data_acceptance``: a request
the document calls valid must succeed, or be a documented "does not exist" (404) or
"conflicts with existing data" (409). The only 422s allowed are the ones the document
announces and no schema can express:

- a business rule failed (``code: rule_violation`` / ``rule_violations``);
- an ``Idempotency-Key`` already used for a different request;
- a cursor (``after``/``cursor``) that is not a ``next_cursor`` this list returned,
  or one given with ``pagination=offset``/``page``.

Every other refusal of a schema-valid request is a failure, as is any 5xx.
``no_leak``: no response shows a stack trace, SQL or a driver's name.

``before_call``: a well-formed ``Idempotency-Key`` the generator produced
is replaced by a new UUID before the request is sent. Schemathesis draws keys from a
small space and reuses them across scenarios, and a reused key is answered, as the
IETF draft says, with the first response: the stateful phase then reads the replayed
201 of a resource a later scenario deleted as "created resource not found". Reuse is
tested deterministically in ``test_idempotency.py``; malformed keys are still sent
as generated (their 422 is checked here).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData

from tests.reliability.conftest import assert_no_leak

DOCUMENTED_422_FIELDS = frozenset({"Idempotency-Key", "after", "cursor"})
RULE_CODES = frozenset({"rule_violation", "rule_violations"})


def documented_422(body: Any) -> bool:
    """A 422 the document announces although the request fits the schema."""
    if not isinstance(body, dict):
        return False
    if body.get("code") in RULE_CODES:
        return True
    errors = body.get("errors") or []
    fields = {e.get("field") for e in errors if isinstance(e, dict)}
    return bool(fields) and fields <= DOCUMENTED_422_FIELDS


@schemathesis.check
def documented_acceptance(ctx: Any, response: Any, case: Any) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    status = response.status_code
    if 200 <= status < 300 or status in (404, 409):
        return None
    if status == 422:
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
        if documented_422(body):
            return None
    raise RejectedPositiveData(
        operation=case.operation.label,
        message=(
            "Valid data should have been accepted\n"
            "Expected: 2xx, 404, 409, or a 422 for a business rule, a reused "
            "Idempotency-Key or a foreign cursor"
        ),
        status_code=status,
        allowed_statuses=["2xx", "404", "409", "422 (documented)"],
    )


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    headers = case.headers
    if not headers:
        return
    for name, value in list(headers.items()):
        if name.lower() == "idempotency-key" and _well_formed_key(value):
            headers[name] = str(uuid.uuid4())


def _well_formed_key(value: Any) -> bool:
    """What Loom accepts as a key (1-255 visible ASCII characters, see the document)."""
    if not isinstance(value, str):
        return False
    key = value.strip()
    return 0 < len(key) <= 255 and all(33 <= ord(c) < 127 for c in key)


@schemathesis.check
def no_leak(ctx: Any, response: Any, case: Any) -> bool | None:
    """No stack trace, SQL or driver name in any response."""
    assert_no_leak(response.content.decode("utf-8", "replace"))
    return None
