"""``Response``: the base of use-case outputs (frozen, keyword-only, camelCase)."""

from __future__ import annotations

import msgspec

from loom.core._struct import LoomStructMeta

__all__ = ["Response"]


class Response(msgspec.Struct, metaclass=LoomStructMeta, kw_only=True, rename="camel"):
    """Subclass for a use case's result: ``class Summary(Response): restock_job_id: str``."""
