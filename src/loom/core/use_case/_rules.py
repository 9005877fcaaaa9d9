"""``F``, ``Rule`` and ``Compute``: declarative checks and derived command fields.

Declarations are inert until an execution plan binds them to a use case; binding
checks every field and parameter name, so a typo fails at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Compute", "F", "FieldRef", "Rule"]


class FieldRef:
    """``F(Cmd).name``: a reference to one field of a command type."""

    __slots__ = ("command", "name")

    def __init__(self, command: type, name: str) -> None:
        self.command = command
        self.name = name

    def __repr__(self) -> str:
        return f"F({getattr(self.command, '__name__', self.command)}).{self.name}"


class F:
    """``F(CreateUser).email`` names the ``email`` field of ``CreateUser``."""

    __slots__ = ("_command",)

    def __init__(self, command: type) -> None:
        object.__setattr__(self, "_command", command)

    def __getattr__(self, name: str) -> FieldRef:
        if name.startswith("__"):
            raise AttributeError(name)
        return FieldRef(object.__getattribute__(self, "_command"), name)


class Rule:
    """A business rule evaluated after computes and before ``execute``.

    * ``Rule.check(F(Cmd).field, via=fn)`` fails with fn's message when ``fn(value,
      *params)`` returns a string; with ``message=``, it fails with that message when
      fn returns true.
    * ``Rule.forbid(fn, message=)`` fails when ``fn(cmd, fields_set, *params)`` is
      truthy.
    * ``.from_params("a", ...)`` appends resolved parameter/marker values to the call;
      ``.when_present(F(Cmd).f)`` evaluates the rule only when ``f`` was sent.
    """

    __slots__ = ("field", "fn", "kind", "message", "params", "present")

    def __init__(
        self,
        kind: str,
        fn: Callable[..., Any],
        *,
        field: FieldRef | None = None,
        message: str | None = None,
        params: tuple[str, ...] = (),
        present: FieldRef | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError("a rule needs a callable")
        self.kind = kind
        self.fn = fn
        self.field = field
        self.message = message
        self.params = params
        self.present = present

    @classmethod
    def check(cls, field: FieldRef, *, via: Callable[..., Any], message: str | None = None) -> Rule:
        if not isinstance(field, FieldRef):
            raise TypeError("Rule.check takes F(Command).field as its first argument")
        return cls("check", via, field=field, message=message)

    @classmethod
    def forbid(cls, fn: Callable[..., Any], *, message: str) -> Rule:
        return cls("forbid", fn, message=message)

    def _copy(self, **changes: Any) -> Rule:
        values: dict[str, Any] = {
            "field": self.field,
            "message": self.message,
            "params": self.params,
            "present": self.present,
        }
        values.update(changes)
        return Rule(self.kind, self.fn, **values)

    def from_params(self, *names: str) -> Rule:
        return self._copy(params=self.params + names)

    def when_present(self, field: FieldRef) -> Rule:
        if not isinstance(field, FieldRef):
            raise TypeError("when_present takes F(Command).field")
        return self._copy(present=field)

    def __repr__(self) -> str:
        target = self.field or self.present
        return f"Rule.{self.kind}({target!r}, via={getattr(self.fn, '__name__', self.fn)})"


class Compute:
    """``Compute.set(F(Cmd).total).from_command(F(Cmd).a, F(Cmd).b, via=fn)``."""

    __slots__ = ("fn", "params", "sources", "target")

    def __init__(
        self,
        target: FieldRef,
        sources: tuple[FieldRef, ...] = (),
        fn: Callable[..., Any] | None = None,
        params: tuple[str, ...] = (),
    ) -> None:
        self.target = target
        self.sources = sources
        self.fn = fn
        self.params = params

    @classmethod
    def set(cls, target: FieldRef) -> Compute:
        if not isinstance(target, FieldRef):
            raise TypeError("Compute.set takes F(Command).field")
        return cls(target)

    def from_command(self, *sources: FieldRef, via: Callable[..., Any]) -> Compute:
        for s in sources:
            if not isinstance(s, FieldRef):
                raise TypeError("from_command takes F(Command).field references")
        return Compute(self.target, self.sources + tuple(sources), via, self.params)

    def from_params(self, *names: str, via: Callable[..., Any] | None = None) -> Compute:
        return Compute(self.target, self.sources, via or self.fn, self.params + names)

    def __repr__(self) -> str:
        return f"Compute.set({self.target!r})"
