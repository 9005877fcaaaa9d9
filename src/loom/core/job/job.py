"""``Job[T]``: background work with the same declared inputs as a use case."""

from __future__ import annotations

import typing
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from loom.core.use_case._rules import Compute, Rule

__all__ = ["Job"]

T = TypeVar("T")


class Job(Generic[T]):
    """Subclass with ``Job[ResultType]`` and define ``execute`` (async, or plain ``def``).

    Class options: ``__queue__`` (default ``"default"``), ``__retries__`` (extra
    attempts after a failure), ``__countdown__`` (seconds before the first run),
    ``__timeout__`` (seconds per attempt), ``__priority__``. ``jobs.<ClassName>.*``
    in the config overrides them.
    """

    __queue__: ClassVar[str] = "default"
    __retries__: ClassVar[int] = 0
    __countdown__: ClassVar[float] = 0
    __timeout__: ClassVar[float | None] = None
    __priority__: ClassVar[int | None] = 0
    result_type: ClassVar[Any] = Any
    rules: ClassVar[Sequence[Rule]] = ()
    computes: ClassVar[Sequence[Compute]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            origin = typing.get_origin(base)
            if isinstance(origin, type) and issubclass(origin, Job):
                args = typing.get_args(base)
                if args and not isinstance(args[0], TypeVar):
                    cls.result_type = args[0]
