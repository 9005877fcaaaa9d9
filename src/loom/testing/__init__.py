"""Test helpers for applications built on Loom.

* :class:`InMemoryRepository`: the repository protocol over a dict, same QuerySpec
  semantics as the SQL one;
* :class:`UseCaseHarness`: run a use case or job with in-memory (or fake)
  repositories and captured job dispatches;
* :class:`HttpHarness`: the application built from its config, on a throwaway
  SQLite database, behind an ``httpx.AsyncClient``;
* :class:`JobCapture` / :class:`CapturedJob`: record and assert what was dispatched.
"""

from loom.testing._harness import UseCaseHarness
from loom.testing._http import HttpHarness
from loom.testing._jobs import CapturedJob, JobCapture
from loom.testing._memory import InMemoryRepository

__all__ = ["CapturedJob", "HttpHarness", "InMemoryRepository", "JobCapture", "UseCaseHarness"]
