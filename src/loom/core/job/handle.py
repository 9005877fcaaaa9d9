"""``JobHandle`` and ``JobGroup``: what a dispatch returns, and how to wait for results.

A handle waits in one of two ways, decided at dispatch:

* through a *waiter* the backend provides (Celery: ``AsyncResult.get`` on the result
  backend, because the job runs in another process);
* through a future settled in this process by the job runner (in-process, inline and
  eager backends). The futures live in a weak registry keyed by job id: a handle keeps
  its own future alive, and a job nobody holds a handle for costs nothing.

Apart from :mod:`loom.core.errors` this module imports nothing of Loom.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import time
import weakref
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from loom.core.errors import LoomError

__all__ = [
    "JobFailedError",
    "JobGroup",
    "JobHandle",
    "JobResultWaiter",
    "JobTimeoutError",
    "settle_job",
    "track_job",
]


class JobFailedError(LoomError):
    """The job finished in failure; ``cause`` is its exception (or its summary)."""

    code = "job_failed"
    title = "Job Failed"

    def __init__(self, job_id: str, cause: Any = None) -> None:
        self.job_id = job_id
        self.cause = cause
        text = f"job {job_id} failed" + (f": {_describe(cause)}" if cause is not None else "")
        # One positional message: LoomError takes it whatever its keyword options are.
        super().__init__(text)


class JobTimeoutError(LoomError):
    """The job did not finish within ``timeout`` seconds (it may still run later)."""

    code = "job_timeout"
    title = "Job Timeout"

    def __init__(self, job_id: str, timeout: float | None = None) -> None:
        self.job_id = job_id
        self.timeout = timeout
        text = f"job {job_id} did not finish" + (
            f" within {timeout}s" if timeout is not None else ""
        )
        super().__init__(text)


def _describe(cause: Any) -> str:
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}"
    return str(cause)


class JobResultWaiter(Protocol):
    """Waits for a job that runs elsewhere (a backend's result store)."""

    def wait_result(self, job_id: str, timeout: float | None) -> Any: ...

    async def wait_result_async(self, job_id: str, timeout: float | None) -> Any: ...


# -- futures settled by the runner of this process ----------------------------------------

_futures: weakref.WeakValueDictionary[str, concurrent.futures.Future[Any]] = (
    weakref.WeakValueDictionary()
)


def track_job(job_id: str) -> concurrent.futures.Future[Any]:
    """The future :func:`settle_job` resolves when ``job_id`` finishes in this process."""
    future = _futures.get(job_id)
    if future is None:
        future = concurrent.futures.Future()
        _futures[job_id] = future
    return future


def settle_job(job_id: str, *, result: Any = None, error: BaseException | None = None) -> None:
    """Record the final outcome of ``job_id`` for whoever holds its handle."""
    future = _futures.pop(job_id, None)
    if future is None or future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _loop_in_this_thread() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class JobHandle:
    """A dispatched job: ``job_id`` (also its ``GET /jobs/{job_id}``), ``queue``,
    ``dispatched_at`` (UTC), and ways to wait for its result."""

    __slots__ = ("_future", "_waiter", "dispatched_at", "job_id", "queue")

    def __init__(
        self,
        job_id: str,
        queue: str,
        dispatched_at: dt.datetime | None = None,
        *,
        future: concurrent.futures.Future[Any] | None = None,
        waiter: JobResultWaiter | None = None,
    ) -> None:
        self.job_id = job_id
        self.queue = queue
        self.dispatched_at = dispatched_at or dt.datetime.now(dt.UTC)
        self._future = future
        self._waiter = waiter

    def __repr__(self) -> str:
        return f"JobHandle(job_id={self.job_id!r}, queue={self.queue!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, JobHandle):
            return NotImplemented
        return (self.job_id, self.queue) == (other.job_id, other.queue)

    def __hash__(self) -> int:
        return hash((self.job_id, self.queue))

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the job finished and return its result.

        Raises :class:`JobFailedError` when it failed, :class:`JobTimeoutError` after
        ``timeout`` seconds. A job that runs in this process (in-process backend) cannot
        be waited for by blocking the event loop it runs on: in async code use
        ``await handle.wait_async()``; once the job finished, ``wait()`` works anywhere.
        """
        if self._waiter is not None:
            return self._waiter.wait_result(self.job_id, timeout)
        future = self._require_future()
        if not future.done() and _loop_in_this_thread():
            raise RuntimeError(
                f"JobHandle.wait() for job {self.job_id} would block the event loop the job "
                "runs on; use `await handle.wait_async()` in async code"
            )
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            raise JobTimeoutError(self.job_id, timeout) from None

    async def wait_async(self, timeout: float | None = None) -> Any:
        """``wait`` for async code: awaits the result without blocking the loop."""
        if self._waiter is not None:
            return await self._waiter.wait_result_async(self.job_id, timeout)
        future = self._require_future()
        try:
            # Shielded: a timed-out wait must not cancel the future other waiters share.
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), timeout)
        except TimeoutError:
            raise JobTimeoutError(self.job_id, timeout) from None

    def _require_future(self) -> concurrent.futures.Future[Any]:
        if self._future is None:
            raise RuntimeError(
                f"job {self.job_id}: this handle cannot wait (built by hand); poll "
                "`await job_service.wait(job_id)` instead"
            )
        return self._future


class JobGroup:
    """The handles of a ``dispatch_parallel``, waited for together."""

    __slots__ = ("group_id", "handles")

    def __init__(self, handles: Sequence[JobHandle]) -> None:
        self.handles: list[JobHandle] = list(handles)
        #: The id of the group's own record when it has callbacks, else ``None``.
        self.group_id: str | None = None

    def __repr__(self) -> str:
        return f"JobGroup({self.handles!r})"

    def __len__(self) -> int:
        return len(self.handles)

    def __iter__(self) -> Iterator[JobHandle]:
        return iter(self.handles)

    @property
    def job_ids(self) -> list[str]:
        return [h.job_id for h in self.handles]

    def wait_all(self, timeout: float | None = None) -> list[Any]:
        """Every job's result, in dispatch order; ``timeout`` bounds the whole wait.

        The first failed job raises its :class:`JobFailedError`.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        results = []
        for handle in self.handles:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            results.append(handle.wait(left))
        return results

    async def wait_all_async(self, timeout: float | None = None) -> list[Any]:
        """``wait_all`` for async code (the jobs are awaited concurrently)."""
        waits = [h.wait_async() for h in self.handles]
        try:
            return list(await asyncio.wait_for(asyncio.gather(*waits), timeout))
        except TimeoutError:
            pending = next(
                (h.job_id for h in self.handles if h._future is None or not h._future.done()),
                self.handles[0].job_id if self.handles else "",
            )
            raise JobTimeoutError(pending, timeout) from None

    def then(self, *args: Any, **kwargs: Any) -> JobGroup:
        """Chaining a step after a group is not supported (as in 0.2)."""
        raise NotImplementedError(
            "JobGroup.then() is not supported: await group.wait_all_async() (or call "
            "group.wait_all()) and dispatch the next job with the results"
        )
