"""``RestInterface``, ``RestRoute`` and ``RestApiDefaults``: how a model's use cases
appear over HTTP.

Pagination and profile settings cascade: a route's empty value (``None``, ``""``,
``()``, ``False``) takes the interface's, whose empty value takes the application's
:class:`RestApiDefaults`. The cascade is resolved once, when the route table is
compiled at start-up.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from loom.core.repository.abc.query import PaginationMode

__all__ = ["PaginationMode", "RestApiDefaults", "RestInterface", "RestRoute"]

M = TypeVar("M")

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True, slots=True)
class RestApiDefaults:
    """Application-wide fallbacks for what neither a route nor its interface sets.

    ``allowed_profiles=()`` means every profile the model declares (Loom's default;
    see :class:`RestInterface`).
    """

    pagination_mode: PaginationMode = PaginationMode.OFFSET
    allow_pagination_override: bool = True
    profile_default: str = "default"
    allowed_profiles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "pagination_mode", PaginationMode(self.pagination_mode))
        object.__setattr__(self, "allowed_profiles", tuple(self.allowed_profiles))


@dataclass(frozen=True, slots=True)
class RestRoute:
    """One operation: ``use_case`` served at ``method path`` (relative to the prefix).

    ``summary`` defaults to a sentence made from the use case's name
    (``CreateAddressUseCase`` -> "Create address"). ``tags`` (default: the
    interface's), ``name`` and ``auto`` (the auto-CRUD operation, set by
    :func:`~loom.rest.autocrud.build_auto_routes`) are Loom's own.
    """

    use_case: type
    method: str
    path: str
    summary: str = ""
    description: str = ""
    status_code: int = 200
    pagination_mode: PaginationMode | None = None
    allow_pagination_override: bool | None = None
    profile_default: str = ""
    allowed_profiles: tuple[str, ...] = ()
    expose_profile: bool = False
    tags: tuple[str, ...] | None = field(default=None, kw_only=True)
    name: str | None = field(default=None, kw_only=True)
    auto: str | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        method = str(self.method).upper()
        if method not in HTTP_METHODS:
            raise ValueError(
                f"RestRoute: unsupported method {self.method!r}; use one of {HTTP_METHODS}"
            )
        object.__setattr__(self, "method", method)
        # Loom 0.1 spelled "not set" as None; both mean "inherit" / "use the default".
        object.__setattr__(self, "path", self.path or "")
        object.__setattr__(self, "summary", self.summary or "")
        object.__setattr__(self, "description", self.description or "")
        object.__setattr__(self, "status_code", self.status_code or 200)
        object.__setattr__(self, "profile_default", self.profile_default or "")
        object.__setattr__(self, "allowed_profiles", tuple(self.allowed_profiles or ()))
        object.__setattr__(self, "expose_profile", bool(self.expose_profile))
        if self.pagination_mode is not None:
            object.__setattr__(self, "pagination_mode", PaginationMode(self.pagination_mode))
        if self.tags is not None:
            object.__setattr__(self, "tags", tuple(self.tags) or None)

    def __repr__(self) -> str:
        target = getattr(self.use_case, "__qualname__", self.use_case)
        return f"RestRoute({self.method} {self.path!r} -> {target})"


class RestInterface(Generic[M]):
    """Declare ``prefix``, ``tags`` and ``routes``.

    ``auto = True`` serves the auto-CRUD routes when ``routes`` is empty; an
    interface that lists routes serves exactly those (put
    ``*build_auto_routes(Model, ())`` in the list to mix both). ``include`` limits
    auto-CRUD to some of ``("get", "list", "create", "update", "delete")`` (empty:
    all). ``expose_profile`` lets clients pick a read profile with ``?profile=``, one
    of ``allowed_profiles`` (empty: every profile the model declares);
    ``profile_default`` is used when they do not. ``pagination_mode`` and
    ``allow_pagination_override`` (may ``?pagination=`` pick the other mode) default
    to the application's :class:`RestApiDefaults`.
    """

    __loom_interface__: ClassVar[bool] = True
    __loom_base__: ClassVar[bool] = True
    model: ClassVar[Any] = None
    prefix: ClassVar[str] = ""
    tags: ClassVar[Sequence[str]] = ()
    routes: ClassVar[Sequence[RestRoute]] = ()
    pagination_mode: ClassVar[PaginationMode | None] = None
    allow_pagination_override: ClassVar[bool | None] = None
    auto: ClassVar[bool] = False
    include: ClassVar[Sequence[str]] = ()
    profile_default: ClassVar[str] = ""
    allowed_profiles: ClassVar[Sequence[str]] = ()
    expose_profile: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            if typing.get_origin(base) is RestInterface:
                (arg,) = typing.get_args(base)
                if not isinstance(arg, TypeVar):
                    cls.model = arg
