"""Job backends of the core: the embedded :class:`InProcessBackend`.

The Celery backend is an adapter (``loom.celery.backend``); choosing between them,
and between the SQL and the memory job store, happens in :mod:`loom.bootstrap`, so the
core never imports an adapter.
"""

from __future__ import annotations

from loom.core.job.backends.inprocess import InProcessBackend

__all__ = ["InProcessBackend"]
