"""Test helpers for applications built on Loom.

Loom's own:

* :class:`InMemoryRepository`: the repository protocol over a dict, same QuerySpec
  semantics as the SQL one;
* :class:`UseCaseHarness`: run a use case or job with in-memory (or fake)
  repositories and captured job dispatches;
* :class:`HttpHarness`: the application built from its config, on a throwaway
  SQLite database, behind an ``httpx.AsyncClient``;
* :class:`JobCapture` / :class:`CapturedJob`: record and assert what was dispatched.

The 0.2 harnesses, same names and signatures:

* :class:`UseCaseTest`: one use-case instance through its real plan, no DI, no
  transaction;
* :class:`HttpTestHarness`: interfaces served on fake repositories behind a
  synchronous ``TestClient``, no config and no database;
* :class:`GoldenHarness` and :func:`serialize_plan`: DI-built use cases on fakes,
  forced errors, plan snapshots and timed baselines;
* :func:`build_repository_harness`: seed a real database through the repositories.
"""

from loom.testing._golden import GoldenHarness, serialize_plan
from loom.testing._harness import UseCaseHarness
from loom.testing._http import HttpHarness
from loom.testing._http_test import HttpTestHarness
from loom.testing._jobs import CapturedJob, JobCapture
from loom.testing._memory import InMemoryRepository

# Registers the store of plain (non-model) structs with InMemoryRepository.
from loom.testing._memory_plain import PlainMemoryRepository as _PlainMemoryRepository  # noqa: F401
from loom.testing._repository_harness import (
    RepositoryIntegrationHarness,
    ScenarioDict,
    build_repository_harness,
)
from loom.testing._use_case_test import UseCaseTest

__all__ = [
    "CapturedJob",
    "GoldenHarness",
    "HttpHarness",
    "HttpTestHarness",
    "InMemoryRepository",
    "JobCapture",
    "RepositoryIntegrationHarness",
    "ScenarioDict",
    "UseCaseHarness",
    "UseCaseTest",
    "build_repository_harness",
    "serialize_plan",
]
