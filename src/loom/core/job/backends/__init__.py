"""Job backends of the core: the embedded :class:`InProcessBackend` and the
:class:`InlineBackend` of ``InlineJobService``.

The Celery backend is an adapter (``loom.celery.backend``); choosing between them,
and between the SQL and the memory job store, happens in :mod:`loom.bootstrap`, so the
core never imports an adapter.
"""

from __future__ import annotations

from loom.core.job.backends.inline import InlineBackend
from loom.core.job.backends.inprocess import InProcessBackend

__all__ = ["InProcessBackend", "InlineBackend"]
