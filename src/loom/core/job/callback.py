"""Job callbacks: the ``JobCallback`` protocol, ``NullJobCallback`` and their context.

A callback is a class built by the DI container with ``on_success`` and/or
``on_failure`` (sync or async). Both receive the job id, then the outcome, then the
*context* as keywords: the dispatched payload's keys, then the params' keys the
payload does not have. That is what 0.2 passes; Loom used to pass only the params,
which the context still contains unless the payload has a key of the same name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

__all__ = ["JobCallback", "NullJobCallback", "callback_context"]


@runtime_checkable
class JobCallback(Protocol):
    """What a job's ``on_success`` / ``on_failure`` class provides."""

    def on_success(self, job_id: str, result: Any, **context: Any) -> Any: ...

    def on_failure(self, job_id: str, exc_type: str, exc_msg: str, **context: Any) -> Any: ...


class NullJobCallback:
    """A callback that does nothing (an explicit "no callback")."""

    def on_success(self, job_id: str, result: Any, **context: Any) -> None:
        return None

    def on_failure(self, job_id: str, exc_type: str, exc_msg: str, **context: Any) -> None:
        return None


def callback_context(params: Mapping[str, Any] | None, payload: Any) -> dict[str, Any]:
    """The keywords a callback receives: payload keys first, then params not in it.

    A payload that is not a mapping (a list, a scalar) contributes nothing.
    """
    context: dict[str, Any] = {}
    if isinstance(payload, Mapping):
        context.update((str(k), v) for k, v in payload.items())
    for key, value in (params or {}).items():
        context.setdefault(str(key), value)
    return context
