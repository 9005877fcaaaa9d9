"""Units of work: one transaction per use-case execution, shared by nested calls.

The core only knows this protocol and a context variable holding the active unit;
the SQLAlchemy adapter implements it on an ``AsyncConnection``. Hooks registered with
:meth:`UnitOfWork.after_commit` run only once the transaction has committed, which is
how a job dispatched inside a use case is never sent for a rolled-back write.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol

__all__ = [
    "NullUnitOfWorkFactory",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "current_unit_of_work",
]

AfterCommit = Callable[[], Awaitable[Any] | Any]


class UnitOfWork:
    """State of one unit of work; adapters subclass it to hold their connection."""

    __slots__ = ("_after_commit", "_before_commit", "depth")

    def __init__(self) -> None:
        # Hook lists are made on first use: most units (every request's) register none.
        self._after_commit: list[AfterCommit] | None = None
        self._before_commit: list[AfterCommit] | None = None
        self.depth = 0

    def expect_single_statement(self) -> None:
        """A hint from the caller: this unit will issue at most one write statement.

        Adapters may then skip the explicit transaction (a single statement is atomic
        by itself); the default unit ignores it.
        """

    def before_commit(self, hook: AfterCommit) -> None:
        """Run ``hook`` inside the transaction, just before it commits (outbox writes)."""
        if self._before_commit is None:
            self._before_commit = []
        self._before_commit.append(hook)

    async def run_before_commit(self) -> None:
        while self._before_commit:
            hooks, self._before_commit = self._before_commit, None
            for hook in hooks:
                result = hook()
                if hasattr(result, "__await__"):
                    await result

    def after_commit(self, hook: AfterCommit, *, first: bool = False) -> None:
        """Run ``hook`` once the unit has committed (``first``: before those already
        registered)."""
        if self._after_commit is None:
            self._after_commit = []
        if first:
            self._after_commit.insert(0, hook)
        else:
            self._after_commit.append(hook)

    async def run_after_commit(self) -> None:
        hooks, self._after_commit = self._after_commit, None
        for hook in hooks or ():
            result = hook()
            if hasattr(result, "__await__"):
                await result


_current: contextvars.ContextVar[UnitOfWork | None] = contextvars.ContextVar(
    "loom_unit_of_work", default=None
)


def current_unit_of_work() -> UnitOfWork | None:
    return _current.get()


class UnitOfWorkFactory(Protocol):
    def begin(self) -> Any:
        """An async context manager: commit on success, roll back on error."""
        ...


class NullUnitOfWorkFactory:
    """For repositories without transactions (in-memory): still runs after-commit hooks."""

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[UnitOfWork]:
        active = _current.get()
        if active is not None:
            yield active
            return
        uow = UnitOfWork()
        token = _current.set(uow)
        try:
            yield uow
            await uow.run_before_commit()
        finally:
            _current.reset(token)
        await uow.run_after_commit()


def _set_current(uow: UnitOfWork | None) -> contextvars.Token[UnitOfWork | None]:
    return _current.set(uow)


def _reset_current(token: contextvars.Token[UnitOfWork | None]) -> None:
    _current.reset(token)
