"""Parameter markers: declarative inputs of ``execute`` resolved before it runs."""

from __future__ import annotations

import enum
from typing import Any

__all__ = ["Exists", "Input", "LoadById", "Marker", "OnMissing"]


class OnMissing(enum.StrEnum):
    RAISE = "raise"
    """404 before ``execute`` runs."""
    RETURN_FALSE = "return_false"
    RETURN_NONE = "return_none"


class Marker:
    """Base of the markers; instances are defaults of ``execute`` parameters."""

    __slots__ = ()


class Input(Marker):
    """The request body, decoded and validated into the parameter's command type."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Input()"


class Exists(Marker):
    """``True`` when a row of ``model`` has ``against == value``.

    The value comes from a path/call parameter (``from_param``) or a command field
    (``from_command``).
    """

    __slots__ = ("against", "from_command", "from_param", "model", "on_missing")

    def __init__(
        self,
        model: type,
        *,
        from_param: str | None = None,
        from_command: str | None = None,
        against: str = "id",
        on_missing: OnMissing = OnMissing.RETURN_FALSE,
    ) -> None:
        if (from_param is None) == (from_command is None):
            raise TypeError("Exists(...) takes exactly one of from_param= or from_command=")
        self.model = model
        self.from_param = from_param
        self.from_command = from_command
        self.against = against
        self.on_missing = OnMissing(on_missing)

    def __repr__(self) -> str:
        src = (
            f"from_param={self.from_param!r}"
            if self.from_param
            else f"from_command={self.from_command!r}"
        )
        model = getattr(self.model, "__name__", self.model)
        return f"Exists({model}, {src}, against={self.against!r})"


class LoadById(Marker):
    """The entity of ``model`` whose primary key is the ``by`` parameter (404 if absent)."""

    __slots__ = ("by", "model", "on_missing", "profile")

    def __init__(
        self,
        model: type,
        *,
        by: str = "id",
        on_missing: OnMissing = OnMissing.RAISE,
        profile: str = "default",
    ) -> None:
        self.model = model
        self.by = by
        self.on_missing = OnMissing(on_missing)
        self.profile = profile

    def __repr__(self) -> str:
        return f"LoadById({getattr(self.model, '__name__', self.model)}, by={self.by!r})"


def is_marker(value: Any) -> bool:
    return isinstance(value, Marker)
