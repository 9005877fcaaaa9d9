"""``RestInterface`` and ``RestRoute``: how a model's use cases appear over HTTP."""

from __future__ import annotations

import typing
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from loom.core.repository.abc.query import PaginationMode

__all__ = ["PaginationMode", "RestInterface", "RestRoute"]

M = TypeVar("M")

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class RestRoute:
    """One operation: ``use_case`` served at ``method path`` (relative to the prefix)."""

    __slots__ = (
        "auto",
        "description",
        "expose_profile",
        "method",
        "name",
        "path",
        "status_code",
        "summary",
        "tags",
        "use_case",
    )

    def __init__(
        self,
        *,
        use_case: type,
        method: str,
        path: str = "",
        summary: str | None = None,
        description: str | None = None,
        status_code: int | None = None,
        expose_profile: bool | None = None,
        tags: Sequence[str] | None = None,
        name: str | None = None,
        auto: str | None = None,
    ) -> None:
        method = method.upper()
        if method not in HTTP_METHODS:
            raise ValueError(f"RestRoute: unsupported method {method!r}")
        self.use_case = use_case
        self.method = method
        self.path = path
        self.summary = summary
        self.description = description
        self.status_code = status_code
        self.expose_profile = expose_profile
        self.tags = tuple(tags) if tags else None
        self.name = name
        self.auto = auto

    def __repr__(self) -> str:
        target = getattr(self.use_case, "__qualname__", self.use_case)
        return f"RestRoute({self.method} {self.path!r} -> {target})"


class RestInterface(Generic[M]):
    """Declare ``prefix``, ``tags`` and ``routes``; ``auto = True`` adds auto-CRUD.

    ``include`` limits auto-CRUD to some of ``("get", "list", "create", "update",
    "delete")`` (empty: all). ``expose_profile`` lets clients pick a read profile
    with ``?profile=``, one of ``allowed_profiles`` (default: every profile the model
    declares); ``profile_default`` is used when they do not.
    """

    __loom_interface__: ClassVar[bool] = True
    __loom_base__: ClassVar[bool] = True
    model: ClassVar[Any] = None
    prefix: ClassVar[str] = ""
    tags: ClassVar[Sequence[str]] = ()
    routes: ClassVar[Sequence[RestRoute]] = ()
    pagination_mode: ClassVar[PaginationMode] = PaginationMode.OFFSET
    auto: ClassVar[bool] = False
    include: ClassVar[Sequence[str]] = ()
    profile_default: ClassVar[str] = "default"
    allowed_profiles: ClassVar[Sequence[str]] = ()
    expose_profile: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            if typing.get_origin(base) is RestInterface:
                (arg,) = typing.get_args(base)
                if not isinstance(arg, TypeVar):
                    cls.model = arg
