"""Field markers for commands: ``Patch[T]``, ``Internal[T]``, ``Computed[T]``.

They are generic ``Annotated`` aliases, so type checkers read ``Patch[str]`` as
``str | None`` while Loom reads the marker from the annotation's metadata.
"""

from __future__ import annotations

import typing
from typing import Annotated, Any, TypeVar

__all__ = ["Computed", "FieldRole", "Internal", "Patch", "field_role"]

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

Patch = Annotated[T | None, PATCH]
"""A field that may be left out of a partial update; ``fields_set`` tells sent from unsent."""

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
