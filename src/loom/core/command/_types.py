"""Field markers for commands: ``Patch[T]``, ``Internal[T]``, ``Computed[T]``.

They are ``Annotated`` aliases, so type checkers read ``Patch[str]`` as ``str | None``
while Loom reads the marker from the annotation's metadata. ``Patch`` is subscripted
through a class at run time so that ``Patch[int]`` ("an int, or not sent": an explicit
null is refused) stays distinguishable from ``Patch[int | None]`` (null clears the
field): the two would otherwise flatten to the same ``int | None``.
"""

from __future__ import annotations

import types
import typing
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

__all__ = ["Computed", "FieldRole", "Internal", "Patch", "field_role", "patch_allows_null"]

T = TypeVar("T")


class FieldRole:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<loom {self.name} field>"


PATCH = FieldRole("patch")
INTERNAL = FieldRole("internal")
COMPUTED = FieldRole("computed")


class _NotNull:
    """Metadata of ``Patch[T]`` whose ``T`` does not admit None."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<loom patch: null refused>"


NOT_NULL = _NotNull()


def _admits_none(item: Any) -> bool:
    if item is None or item is type(None) or item is Any:
        return True
    if isinstance(item, TypeVar | str | typing.ForwardRef):
        return True  # unknown until resolved: do not refuse what may be allowed
    origin = typing.get_origin(item)
    if origin is Annotated:
        return _admits_none(typing.get_args(item)[0])
    if origin is typing.Union or origin is types.UnionType:
        return any(_admits_none(arg) for arg in typing.get_args(item))
    return False


if TYPE_CHECKING:
    Patch = Annotated[T | None, PATCH]
else:

    class Patch:
        """``Patch[T]``: a field a partial update may leave out (``fields_set`` tells
        sent from unsent). Null is accepted only when ``T`` admits it."""

        __slots__ = ()

        def __class_getitem__(cls, item: Any) -> Any:
            if _admits_none(item):
                return Annotated[typing.Optional[item], PATCH]  # noqa: UP045 - item may be a str
            return Annotated[typing.Optional[item], PATCH, NOT_NULL]  # noqa: UP045


Internal = Annotated[T, INTERNAL]
"""Set by the server; never read from the request body, absent from its schema."""

Computed = Annotated[T, COMPUTED]
"""Filled by a ``Compute`` declaration; never read from the request body."""


def field_role(annotation: Any) -> FieldRole | None:
    if typing.get_origin(annotation) is Annotated:
        for meta in annotation.__metadata__:
            if isinstance(meta, FieldRole):
                return meta
    return None


def patch_allows_null(annotation: Any) -> bool:
    """False for ``Patch[T]`` whose ``T`` does not admit None (an explicit null is a
    422); True for every other annotation."""
    if typing.get_origin(annotation) is Annotated:
        return not any(meta is NOT_NULL for meta in annotation.__metadata__)
    return True
