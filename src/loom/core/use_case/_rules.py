"""``F``, ``Rule`` and ``Compute``: declarative checks and derived command fields.

Declarations are inert until an execution plan binds them to a use case; binding
checks every field and parameter name, so a typo fails at start-up.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, Protocol

__all__ = [
    "Compute",
    "ComputeFn",
    "F",
    "FieldExpr",
    "FieldRef",
    "PredicateOp",
    "Rule",
    "RuleFn",
]


class PredicateOp(enum.StrEnum):
    OR = "or"
    AND = "and"


class _Combinable:
    __slots__ = ()

    def __or__(self, other: FieldRef | FieldExpr) -> FieldExpr:
        return FieldExpr(PredicateOp.OR, (self, other))  # type: ignore[arg-type]

    def __and__(self, other: FieldRef | FieldExpr) -> FieldExpr:
        return FieldExpr(PredicateOp.AND, (self, other))  # type: ignore[arg-type]


class FieldRef(_Combinable):
    """``F(Cmd).a.b``: a path from a root (a command type, a model type loaded by a
    marker, or a parameter name) down to one value.

    Internal state uses underscored names so that ``F(Cmd).address.name`` or
    ``.city`` still reach nested fields; ``root``, ``path`` and ``leaf`` are the public
    accessors (a nested field of one of those names cannot be reached through ``F``).
    """

    __slots__ = ("_path", "_root")
    _root: Any
    _path: tuple[str, ...]

    def __init__(self, root: Any, path: tuple[str, ...] | str) -> None:
        object.__setattr__(self, "_root", root)
        object.__setattr__(self, "_path", (path,) if isinstance(path, str) else tuple(path))

    def __getattr__(self, name: str) -> FieldRef:
        if name.startswith("__"):
            raise AttributeError(name)
        return FieldRef(self._root, (*self._path, name))

    @property
    def root(self) -> Any:
        return self._root

    @property
    def path(self) -> tuple[str, ...]:
        return self._path

    @property
    def leaf(self) -> str:
        """The last name of the path: the field a violation reports."""
        return self._path[-1]

    @property
    def name(self) -> str:
        """The top-level field (Loom's earlier accessor)."""
        return self._path[0]

    @property
    def command(self) -> Any:
        return self._root

    def __repr__(self) -> str:
        root = self._root
        shown = repr(root) if isinstance(root, str) else getattr(root, "__name__", repr(root))
        return f"F({shown})." + ".".join(self._path)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldRef) and (other._root, other._path) == (
            self._root,
            self._path,
        )

    def __hash__(self) -> int:
        return hash((id(self._root) if not isinstance(self._root, str) else self._root, self._path))


class FieldExpr(_Combinable):
    """``F(C).a | F(C).b`` (any present) or ``F(C).a & F(C).b`` (all present)."""

    __slots__ = ("op", "operands")

    def __init__(self, op: PredicateOp, operands: tuple[FieldRef | FieldExpr, ...]) -> None:
        for operand in operands:
            if not isinstance(operand, FieldRef | FieldExpr):
                raise TypeError(f"{op.value} combines F(...) references, got {operand!r}")
        self.op = PredicateOp(op)
        self.operands = operands

    def refs(self) -> tuple[FieldRef, ...]:
        out: list[FieldRef] = []
        for operand in self.operands:
            out.extend(operand.refs() if isinstance(operand, FieldExpr) else (operand,))
        return tuple(out)

    def __repr__(self) -> str:
        joiner = " | " if self.op is PredicateOp.OR else " & "
        return "(" + joiner.join(repr(o) for o in self.operands) + ")"


class F:
    """``F(CreateUser).email`` names the ``email`` field of ``CreateUser``;
    ``F(CreateUser).address.city`` a nested one; ``F("user").email`` a field of the
    ``user`` parameter (a loaded entity) or, when no parameter has that name, of the
    command."""

    __slots__ = ("_root",)

    def __init__(self, root: Any) -> None:
        object.__setattr__(self, "_root", root)

    def __getattr__(self, name: str) -> FieldRef:
        if name.startswith("__"):
            raise AttributeError(name)
        return FieldRef(object.__getattribute__(self, "_root"), (name,))


Presence = FieldRef | FieldExpr


class RuleFn(Protocol):
    """A plain-callable rule: ``fn(cmd, fields_set)`` or ``fn(cmd, fields_set,
    context)``; it raises (or returns) ``RuleViolation`` to fail."""

    def __call__(self, cmd: Any, fields_set: frozenset[str], /, *args: Any) -> Any: ...


class ComputeFn(Protocol):
    """A plain-callable compute: ``fn(cmd, fields_set)`` or ``fn(cmd, fields_set,
    context)`` returning the new command (None keeps it)."""

    def __call__(self, cmd: Any, fields_set: frozenset[str], /, *args: Any) -> Any: ...


def _refs(values: tuple[Any, ...], what: str) -> tuple[FieldRef, ...]:
    for v in values:
        if not isinstance(v, FieldRef):
            raise TypeError(f"{what} takes F(Command).field references, got {v!r}")
    return values


class Rule:
    """A business rule, evaluated after loads and computes, before ``execute``.

    * ``Rule.check(F(C).a, F(C).b, via=fn, message=None)``: ``fn(a, b, *params)``; a
      non-empty str fails with that text, ``True`` with ``message`` (or "Rule check
      failed"), a returned ``RuleViolation`` is reported as is; anything else passes.
    * ``Rule.forbid(fn, message=)``: ``fn(cmd, fields_set, *params)`` (or the
      ``.from_command`` values); only ``True`` (with ``message``) or a str fails.
    * ``Rule.require_present(F(C).a)``: fails when ``a`` is None or, for a Patch
      field, was not sent.
    * ``.from_params(*names)``, ``.from_command(*refs)``, ``.when_present(ref | expr)``.

    Every violation carries the first target's Python leaf name as its field.
    """

    __slots__ = ("field", "fn", "kind", "message", "params", "present", "sources", "targets")

    def __init__(
        self,
        kind: str,
        fn: Callable[..., Any] | None,
        *,
        targets: tuple[FieldRef, ...] = (),
        sources: tuple[FieldRef, ...] = (),
        field: str | None = None,
        message: str | None = None,
        params: tuple[str, ...] = (),
        present: Presence | None = None,
    ) -> None:
        if fn is not None and not callable(fn):
            raise TypeError("a rule needs a callable")
        self.kind = kind
        self.fn = fn
        self.targets = targets
        self.sources = sources
        self.field = field
        self.message = message
        self.params = params
        self.present = present

    @classmethod
    def check(cls, *targets: FieldRef, via: Callable[..., Any], message: str | None = None) -> Rule:
        if not targets:
            raise TypeError("Rule.check takes at least one F(Command).field target")
        return cls("check", via, targets=_refs(targets, "Rule.check"), message=message)

    @classmethod
    def forbid(cls, condition: Callable[..., Any], *, message: str) -> Rule:
        return cls("forbid", condition, message=message)

    @classmethod
    def require_present(
        cls, target: FieldRef, *, field: str | None = None, message: str | None = None
    ) -> Rule:
        (ref,) = _refs((target,), "Rule.require_present")
        return cls("require", None, targets=(ref,), field=field, message=message)

    def _copy(self, **changes: Any) -> Rule:
        values: dict[str, Any] = {
            "targets": self.targets,
            "sources": self.sources,
            "field": self.field,
            "message": self.message,
            "params": self.params,
            "present": self.present,
        }
        values.update(changes)
        return Rule(self.kind, self.fn, **values)

    def from_params(self, *names: str) -> Rule:
        return self._copy(params=self.params + names)

    def from_command(self, *refs: FieldRef) -> Rule:
        return self._copy(sources=self.sources + _refs(refs, "from_command"))

    def when_present(self, ref: Presence) -> Rule:
        if not isinstance(ref, FieldRef | FieldExpr):
            raise TypeError("when_present takes F(Command).field, or several joined by | or &")
        return self._copy(present=ref)

    def __repr__(self) -> str:
        target = ", ".join(repr(t) for t in self.targets) or repr(self.present or "")
        name = getattr(self.fn, "__name__", self.fn)
        return (
            f"Rule.{self.kind}({target}, via={name})" if self.fn else f"Rule.{self.kind}({target})"
        )


class Compute:
    """``Compute.set(F(C).total).from_command(F(C).a, F(C).b, via=fn)``.

    No source: ``via(cmd, *params)``; one source without ``via``: a copy; two or more
    need ``via``. ``.from_params`` appends parameter values; ``.when_present`` skips
    the compute unless the given fields were sent. The result replaces the target.
    """

    __slots__ = ("fn", "params", "present", "sourced", "sources", "target")

    def __init__(
        self,
        target: FieldRef,
        sources: tuple[FieldRef, ...] = (),
        fn: Callable[..., Any] | None = None,
        params: tuple[str, ...] = (),
        present: Presence | None = None,
        sourced: bool = False,
    ) -> None:
        self.target = target
        self.sources = sources
        self.fn = fn
        self.params = params
        self.present = present
        self.sourced = sourced
        """Whether ``from_command``/``from_params`` was called (a bare ``set`` is not
        a complete declaration)."""

    @classmethod
    def set(cls, target: FieldRef) -> Compute:
        if not isinstance(target, FieldRef):
            raise TypeError("Compute.set takes F(Command).field")
        return cls(target)

    def _copy(self, **changes: Any) -> Compute:
        values: dict[str, Any] = {
            "sources": self.sources,
            "fn": self.fn,
            "params": self.params,
            "present": self.present,
            "sourced": True,
        }
        values.update(changes)
        return Compute(self.target, **values)

    def from_command(self, *sources: FieldRef, via: Callable[..., Any] | None = None) -> Compute:
        sources = self.sources + _refs(sources, "from_command")
        if via is None and len(sources) > 1:
            raise TypeError(
                f"Compute.set({self.target!r}).from_command with {len(sources)} sources "
                "needs via= to combine them"
            )
        return self._copy(sources=sources, fn=via or self.fn)

    def from_params(self, *names: str, via: Callable[..., Any] | None = None) -> Compute:
        return self._copy(params=self.params + names, fn=via or self.fn)

    def when_present(self, ref: Presence) -> Compute:
        if not isinstance(ref, FieldRef | FieldExpr):
            raise TypeError("when_present takes F(Command).field, or several joined by | or &")
        return self._copy(present=ref, sourced=self.sourced)

    def __repr__(self) -> str:
        return f"Compute.set({self.target!r})"
