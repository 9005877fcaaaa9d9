"""Fault injection for the test harnesses: a repository whose chosen methods raise.

``force_error(Model, "get_by_id", Conflict("busy"))`` on a harness wraps that model's
repository (the fake you injected, or the in-memory default) in a
:class:`FaultyRepository`; every other attribute passes through untouched, so the
wrapped repository still behaves as itself for the methods you did not break.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["FaultSchedule", "FaultyRepository", "system_error"]


def system_error(model: Any, method: str) -> BaseException:
    """The error ``simulate_system_error`` raises: 0.2's ``SystemError`` (HTTP 500)
    when this Loom has it, else a plain ``LoomError`` (also a 500)."""
    from loom.core import errors

    name = getattr(model, "__name__", str(model))
    message = f"simulated system error in {name}.{method}"
    cls: Any = getattr(errors, "SystemError", None)
    if isinstance(cls, type) and issubclass(cls, errors.LoomError):
        try:
            return cls(message)
        except TypeError:  # a signature this helper does not know: fall through
            pass
    return errors.LoomError(message)


class FaultyRepository:
    """``inner`` with the methods named in ``faults`` raising their exception."""

    def __init__(self, inner: Any, faults: Mapping[str, BaseException]) -> None:
        self.inner = inner
        self.faults = faults

    def __getattr__(self, name: str) -> Any:
        exc = self.faults.get(name)
        attr = getattr(self.inner, name)
        if exc is None or not callable(attr):
            return attr

        @functools.wraps(attr)
        async def broken(*args: Any, **kwargs: Any) -> Any:
            raise exc

        return broken

    def __repr__(self) -> str:
        return f"FaultyRepository({self.inner!r}, faults={sorted(self.faults)})"


class FaultSchedule:
    """The faults a harness was asked for, keyed by model (or contract) then method."""

    def __init__(self) -> None:
        self._faults: dict[Any, dict[str, BaseException]] = {}

    def add(self, key: Any, method: str, exc: BaseException | type[BaseException]) -> None:
        if not isinstance(method, str) or not method:
            raise TypeError(f"force_error: method must be a method name, got {method!r}")
        if isinstance(exc, type):
            exc = exc()
        if not isinstance(exc, BaseException):
            raise TypeError(f"force_error: exc must be an exception, got {exc!r}")
        self._faults.setdefault(key, {})[method] = exc

    def wrap(self, keys: tuple[Any, ...], repo: Any) -> Any:
        """``repo`` wrapped with the faults of any of ``keys`` (unchanged when none)."""
        merged: dict[str, BaseException] = {}
        for key in keys:
            merged.update(self._faults.get(key, {}))
        if not merged:
            return repo
        return FaultyRepository(repo, merged)

    def wrapper(self, keys_for: Callable[[type], tuple[Any, ...]]) -> Callable[[type, Any], Any]:
        return lambda model, repo: self.wrap(keys_for(model), repo)
