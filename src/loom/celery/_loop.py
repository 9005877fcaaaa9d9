"""One persistent asyncio event loop per worker process, on a thread of its own.

Celery calls tasks synchronously. Running each async job with ``asyncio.run`` would
create and close a loop per task, and with it every pooled database connection
(asyncpg connections belong to the loop that opened them). Instead each worker
process starts one loop on a daemon thread the first time a task needs it and
submits every job and callback to it, so the engine's pool lives as long as the
process. A forked child (prefork pool) notices the pid changed and starts its own.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["LoopThread"]

T = TypeVar("T")


class LoopThread:
    """``run(coro)`` from any thread: executes ``coro`` on this process's loop."""

    def __init__(self, name: str = "loom-worker-loop") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    @property
    def started(self) -> bool:
        return self._loop is not None and self._pid == os.getpid()

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                self._start()
            assert self._loop is not None
            return self._loop

    def _start(self) -> None:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        thread = threading.Thread(target=serve, name=self._name, daemon=True)
        thread.start()
        ready.wait()
        self._loop, self._thread, self._pid = loop, thread, os.getpid()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for its result (or exception)."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop())
        return future.result(timeout)

    def stop(self) -> None:
        """Stop the loop and join its thread (idempotent; a no-op in a forked child)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            if loop is None or thread is None or self._pid != os.getpid():
                return
            self._loop = self._thread = None
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        if not thread.is_alive():
            loop.close()
