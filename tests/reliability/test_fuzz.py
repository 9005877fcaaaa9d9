"""Schemathesis against the store example's own ``/openapi.json``: every operation, every check.

Runs in-process over ASGI (schemathesis starts the app's lifespan) on each SQL backend,
one test per operation. ``LOOM_FUZZ_EXAMPLES`` sets the examples per operation and per
generation mode (CI default below; ``make fuzz`` raises it to 100+). Positive data
(fits the schema) and negative data (does not) are both generated, and every built-in
check runs on each response: no 5xx, status codes, content types, headers and bodies
as documented, invalid data refused, valid data not refused with an undocumented 4xx.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from tests.reliability.conftest import STORE_CONFIG, assert_no_leak, store_settings, write_override

EXAMPLES = int(os.environ.get("LOOM_FUZZ_EXAMPLES", "15"))

# Business rules the document cannot express (a unique email, a rule on a value, an
# address owned by someone else) refuse schema-valid data with these; anything else
# a valid request gets must be a success or a documented "does not exist".
RULE_STATUSES = ["2xx", "404", "409", "422"]

FUZZ_CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"positive_data_acceptance": {"expected-statuses": RULE_STATUSES}}}
)


def _store_app(db_url: str, directory: Path) -> Any:
    from loom.rest.fastapi.auto import create_app

    return create_app(STORE_CONFIG, write_override(directory, store_settings(db_url)))


def _operation_labels() -> list[str]:
    """Every operation of the document, read once at collection (no database is touched)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        app = _store_app(f"sqlite+aiosqlite:///{tmp}/collect.db", Path(tmp))
        document = app.openapi()
    methods = ("get", "post", "put", "patch", "delete")
    return [
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method in methods
    ]


@pytest.fixture
def store_schema(db_url: str, tmp_path: Path) -> Iterator[Any]:
    from schemathesis.python import asgi

    app = _store_app(db_url, tmp_path)
    yield schemathesis.openapi.from_asgi("/openapi.json", app, config=FUZZ_CONFIG)
    asgi.shutdown_lifespans()  # the lifespan schemathesis started: engine disposed


@pytest.mark.parametrize("label", _operation_labels())
def test_operation_conforms_to_the_document(store_schema: Any, label: str) -> None:
    operation = store_schema.find_operation_by_label(label)
    assert operation is not None, label
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES * 2,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: schemathesis.Case) -> None:
        response = case.call_and_validate()
        assert_no_leak(response.text)

    fuzz()
