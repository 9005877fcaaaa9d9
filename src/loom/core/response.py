"""``Response``: the base of use-case outputs (frozen, keyword-only, camelCase)."""

from __future__ import annotations

from typing import dataclass_transform

import msgspec

from loom.core._struct import LoomStructMeta

__all__ = ["Response"]


# frozen_default: subclasses are frozen (LoomStructMeta) whether or not they say so.
@dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(msgspec.field,))
class Response(msgspec.Struct, metaclass=LoomStructMeta, kw_only=True, rename="camel", frozen=True):
    """Subclass for a use case's result: ``class Summary(Response): restock_job_id: str``."""
