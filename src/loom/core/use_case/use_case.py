"""``UseCase[Model, Result]``: one application operation with declared inputs."""

from __future__ import annotations

import typing
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from loom.core.use_case._rules import Compute, Rule

__all__ = ["UseCase"]

M = TypeVar("M")
R = TypeVar("R")


class UseCase(Generic[M, R]):
    """Subclass with ``UseCase[Model, Result]`` and define ``async def execute``.

    ``main_repo`` is the repository of ``Model`` (a custom one when registered with
    ``@repository_for``). Constructor parameters are injected by type. A use case is
    built once per application, so keep per-request state in ``execute``'s locals.
    """

    model: ClassVar[type[Any] | None] = None
    result_type: ClassVar[Any] = Any
    rules: ClassVar[Sequence[Rule]] = ()
    computes: ClassVar[Sequence[Compute]] = ()
    main_repo: Any

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            origin = typing.get_origin(base)
            if isinstance(origin, type) and issubclass(origin, UseCase):
                args = typing.get_args(base)
                if args and not isinstance(args[0], TypeVar):
                    cls.model = args[0]
                if len(args) > 1 and not isinstance(args[1], TypeVar):
                    cls.result_type = args[1]
