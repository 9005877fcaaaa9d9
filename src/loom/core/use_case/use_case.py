"""``UseCase[Model, Result]``: one application operation with declared inputs."""

from __future__ import annotations

import typing
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

__all__ = ["MainRepositoryMissing", "UseCase"]

M = TypeVar("M")
R = TypeVar("R")

_UNSET: Any = object()


class MainRepositoryMissing(RuntimeError, AttributeError):
    """``main_repo`` read before one was injected. Also an ``AttributeError`` so that
    ``getattr(uc, "main_repo", None)`` and ``hasattr`` keep their meaning."""


class UseCase(Generic[M, R]):
    """Subclass with ``UseCase[Model, Result]`` (or ``UseCase[Result]``, no model) and
    define ``execute`` (``async def``, or a plain ``def`` for work that does not wait).

    ``main_repo`` is the repository of ``Model`` (a custom one when registered with
    ``@repository_for``). Constructor parameters are injected by type; a constructor
    may pass a repository on with ``super().__init__(main_repo=repo)``. A fresh
    instance serves each call, so state kept on ``self`` during a call is private to
    it; the constructor plan is resolved once at start-up.
    """

    model: ClassVar[type[Any] | None] = None
    result_type: ClassVar[Any] = Any
    rules: ClassVar[Sequence[Any]] = ()
    computes: ClassVar[Sequence[Any]] = ()
    read_only: ClassVar[bool] = False
    """Declares that the use case only reads. Loom's unit of work opens a transaction
    only at the first write, so a use case that only reads never opens one."""

    def __init__(self, main_repo: Any = None) -> None:
        if main_repo is not None:
            self._main_repo = main_repo

    @property
    def main_repo(self) -> Any:
        repo = self.__dict__.get("_main_repo", _UNSET)
        if repo is _UNSET:
            raise MainRepositoryMissing(
                f"{type(self).__qualname__}.main_repo was not injected: declare the model "
                f"(UseCase[Model, Result]) or pass it with super().__init__(main_repo=...)"
            )
        return repo

    @main_repo.setter
    def main_repo(self, repo: Any) -> None:
        self._main_repo = repo

    def __class_getitem__(cls, params: Any) -> Any:
        # ``UseCase[Result]`` is ``UseCase[Any, Result]``.
        if not isinstance(params, tuple):
            params = (Any, params)
        return super().__class_getitem__(params)  # type: ignore[misc]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            origin = typing.get_origin(base)
            if isinstance(origin, type) and issubclass(origin, UseCase):
                args = typing.get_args(base)
                if args and not isinstance(args[0], TypeVar) and args[0] is not Any:
                    cls.model = args[0]
                if len(args) > 1 and not isinstance(args[1], TypeVar):
                    cls.result_type = args[1]
