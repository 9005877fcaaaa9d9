"""Parameter markers: declarative inputs of ``execute`` resolved before it runs."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

__all__ = ["Exists", "Input", "Load", "LoadById", "Marker", "OnMissing"]


class OnMissing(enum.StrEnum):
    RAISE = "raise"
    """404 before ``execute`` runs."""
    RETURN_NONE = "return_none"
    RETURN_FALSE = "return_false"


# ``cmd: CreateUser = Input()``: the marker stands where a type checker expects the
# parameter's type, and is resolved to a real value before ``execute`` runs. An ``Any``
# base (for type checkers only) makes a marker an acceptable default for any parameter
# while its constructor's parameters stay checked; at run time the base is ``object``.
if TYPE_CHECKING:
    _MarkerBase = Any
else:
    _MarkerBase = object


class Marker(_MarkerBase):  # type: ignore[misc,unused-ignore]
    """Base of the markers; instances are defaults of ``execute`` parameters."""

    __slots__ = ()


class Input(Marker):
    """The request body, decoded and validated into the parameter's command type."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Input()"


def _name(model: Any) -> str:
    return str(getattr(model, "__name__", model))


class _Lookup(Marker):
    """A row of ``entity_type`` found by its ``against`` column, the value from a
    parameter (``from_param``) or a command field (``from_command``): exactly one."""

    __slots__ = ("against", "from_command", "from_param", "model", "on_missing")

    def __init__(
        self,
        entity_type: type,
        from_param: str | None,
        from_command: str | None,
        against: str,
        on_missing: OnMissing,
    ) -> None:
        if (from_param is None) == (from_command is None):
            raise TypeError(
                f"{type(self).__name__}(...) takes exactly one of from_param= or from_command="
            )
        self.model = entity_type
        self.from_param = from_param
        self.from_command = from_command
        self.against = against
        self.on_missing = OnMissing(on_missing)

    @property
    def entity_type(self) -> Any:
        return self.model

    def __repr__(self) -> str:
        src = (
            f"from_param={self.from_param!r}"
            if self.from_param
            else f"from_command={self.from_command!r}"
        )
        return f"{type(self).__name__}({_name(self.model)}, {src}, against={self.against!r})"


class Exists(_Lookup):
    """``True`` when a row of ``entity_type`` has ``against == value``.

    The value comes from a parameter (``from_param``) or a command field
    (``from_command``). When nothing matches: ``False`` (RETURN_FALSE and RETURN_NONE
    alike, as in 0.2), or a 404 with RAISE.
    """

    __slots__ = ()

    def __init__(
        self,
        entity_type: type,
        *,
        from_param: str | None = None,
        from_command: str | None = None,
        against: str = "id",
        on_missing: OnMissing = OnMissing.RETURN_FALSE,
    ) -> None:
        super().__init__(entity_type, from_param, from_command, against, on_missing)


class Load(_Lookup):
    """The row of ``entity_type`` whose ``against`` column equals a parameter
    (``from_param``) or a command field (``from_command``): ``repo.get_by(against,
    value, profile=profile)``. Missing: 404 (RAISE), None or False."""

    __slots__ = ("profile",)

    def __init__(
        self,
        entity_type: type,
        *,
        from_param: str | None = None,
        from_command: str | None = None,
        against: str,
        profile: str = "default",
        on_missing: OnMissing = OnMissing.RAISE,
    ) -> None:
        super().__init__(entity_type, from_param, from_command, against, on_missing)
        self.profile = profile


class LoadById(Marker):
    """The entity of ``entity_type`` whose primary key is the ``by`` parameter (or
    command field). Missing: 404 (RAISE), None (RETURN_NONE) or False (RETURN_FALSE)."""

    __slots__ = ("by", "model", "on_missing", "profile")

    def __init__(
        self,
        entity_type: type,
        *,
        by: str = "id",
        profile: str = "default",
        on_missing: OnMissing = OnMissing.RAISE,
    ) -> None:
        self.model = entity_type
        self.by = by
        self.on_missing = OnMissing(on_missing)
        self.profile = profile

    @property
    def entity_type(self) -> Any:
        return self.model

    def __repr__(self) -> str:
        return f"LoadById({_name(self.model)}, by={self.by!r})"


def is_marker(value: Any) -> bool:
    return isinstance(value, Marker)
