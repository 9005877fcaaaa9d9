"""Stores of ``Idempotency-Key`` responses: the protocol the REST adapter relies on.

A key is claimed inside the unit of work of the request it protects, and its
response is stored in that same unit, so the stored response and the rows the
request wrote commit together or not at all. The store is chosen in
:mod:`loom.bootstrap`, as the job store is: the SQL store
(``loom.core.repository.sqlalchemy._idempotency``, the ``loom_idempotency`` table)
on a SQL database; without one, there is none and the header is not served.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["KEY_LENGTH", "ROUTE_LENGTH", "IdempotencyStore", "StoredResponse"]

KEY_LENGTH = 255
"""The longest key a client may send (a UUID is 36)."""
ROUTE_LENGTH = 1024
"""The longest ``METHOD path`` a store keeps beside a key."""


@dataclass(frozen=True)
class StoredResponse:
    """What a key was first used for, and the response it got (``status`` None: running)."""

    route: str
    fingerprint: str
    status: int | None
    content_type: str | None
    body: bytes


class IdempotencyStore(Protocol):
    """Claims keys and stores responses; called inside the request's unit of work.

    Failures of the store itself are raised as framework errors (``LoomError``: a
    database that is down is a 503), never as the driver's.
    """

    async def claim(self, key: str, route: str, fingerprint: str) -> StoredResponse | None:
        """Reserve ``key`` for this request: None when it is ours (run the request),
        else what the key was first used for. An expired key is taken over."""
        ...

    async def complete(self, key: str, status: int, content_type: str | None, body: bytes) -> None:
        """Store the response of the request that claimed ``key``."""
        ...

    def startup_hook(self) -> Callable[[], Awaitable[None]]:
        """Work to run when the application starts (purging expired keys)."""
        ...
