"""Computes and rules compiled to one Python function per use case.

A plan knows at start-up every value a compute or rule reads (as an expression such
as ``cmd.quantity`` or ``_get(kwargs.get('user'), ('address', 'city'))``), so the
per-request work is generated as straight-line code instead of a loop over
declarations doing lookups by name. The generated code only refers to names bound in
its namespace; field and parameter names are Python identifiers or ``repr`` constants.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from loom.core.command import fields_set
from loom.core.command._command import set_fields_set
from loom.core.errors import FieldError, RuleViolation, RuleViolations

__all__ = ["ComputeStep", "RuleStep", "compile_computes", "compile_rules", "get_path"]


def get_path(value: Any, path: tuple[str, ...]) -> Any:
    """``value.a.b`` (or ``value["a"]["b"]`` for mappings); None once a step is None."""
    for name in path:
        if value is None:
            return None
        value = value.get(name) if isinstance(value, dict) else getattr(value, name, None)
    return value


def _adopt(new: Any, old: Any, sent: frozenset[str]) -> Any:
    """A plain compute's result replaces the command; it keeps the sent-fields set."""
    if new is None:
        return old
    if new is not old:
        set_fields_set(new, sent)
    return new


def _collect(errors: list[Any], exc: RuleViolation) -> None:
    if isinstance(exc, RuleViolations):
        errors.extend(exc.violations)
    else:
        errors.append(exc)


@dataclasses.dataclass
class ComputeStep:
    target: str | None
    """The command field set (None for a plain callable, which returns a command)."""
    fn: Callable[..., Any] | None
    is_async: bool = False
    args: tuple[str, ...] = ()
    presence: str | None = None
    plain_context: bool | None = None
    """Plain callables only: whether ``fn`` takes the context as a third argument."""


@dataclasses.dataclass
class RuleStep:
    kind: str  # "check" | "forbid" | "require" | "plain"
    fn: Callable[..., Any] | None
    is_async: bool = False
    args: tuple[str, ...] = ()
    field: str | None = None
    message: str | None = None
    presence: str | None = None
    missing: str | None = None
    """``require`` only: the expression true when the target is missing."""
    plain_context: bool | None = None


def _build(name: str, lines: list[str], namespace: dict[str, Any], is_async: bool) -> Any:
    head = f"{'async ' if is_async else ''}def {name}(cmd, kwargs):"
    source = "\n".join([head, *(f"    {line}" for line in lines)]) + "\n"
    exec(compile(source, f"<loom {name}>", "exec"), namespace)
    return namespace[name]


def _call(fn: str, args: Sequence[str], is_async: bool) -> str:
    call = f"{fn}({', '.join(args)})"
    return f"(await {call})" if is_async else call


def _guard(presence: str | None, body: list[str]) -> list[str]:
    if presence is None:
        return body
    return [f"if {presence}:", *(f"    {line}" for line in body)]


def _base_namespace() -> dict[str, Any]:
    return {
        "_get": get_path,
        "_fields_set": fields_set,
        "_EMPTY": frozenset(),
        "_ctx": types.MappingProxyType,
    }


def compile_computes(steps: Sequence[ComputeStep]) -> tuple[Callable[..., Any], bool]:
    """``(fn(cmd, kwargs) -> cmd, is_async)``: each computed field set in place on the
    command, which the plan owns (decoded for this call, or copied from the caller's)."""
    namespace = _base_namespace()
    namespace.update({"_set": msgspec.structs.force_setattr, "_adopt": _adopt})
    lines = ["sent = _fields_set(cmd)"]
    if any(s.plain_context for s in steps):
        lines.append("ctx = _ctx(kwargs)")
    is_async = False
    for i, step in enumerate(steps):
        fn = f"fn{i}"
        namespace[fn] = step.fn
        is_async = is_async or step.is_async
        if step.target is None:
            args = ["cmd", "sent", *(["ctx"] if step.plain_context else [])]
            body = [f"cmd = _adopt({_call(fn, args, step.is_async)}, cmd, sent)"]
        elif step.fn is None:
            body = [f"_set(cmd, {step.target!r}, {step.args[0]})"]
        else:
            body = [f"_set(cmd, {step.target!r}, {_call(fn, step.args, step.is_async)})"]
        lines += _guard(step.presence, body)
    lines.append("return cmd")
    return _build("computes", lines, namespace, is_async), is_async


def compile_rules(steps: Sequence[RuleStep]) -> tuple[Callable[..., Any], bool]:
    """``(fn(cmd, kwargs) -> None, is_async)`` raising :class:`RuleViolations` with
    every failed rule, in declaration order."""
    namespace = _base_namespace()
    namespace.update(
        {
            "_FieldError": FieldError,
            "_RuleViolation": RuleViolation,
            "_RuleViolations": RuleViolations,
            "_collect": _collect,
        }
    )
    lines = ["errors = []", "sent = _fields_set(cmd) if cmd is not None else _EMPTY"]
    if any(s.plain_context for s in steps):
        lines.append("ctx = _ctx(kwargs)")
    is_async = False
    for i, step in enumerate(steps):
        fn = f"fn{i}"
        namespace[fn] = step.fn
        is_async = is_async or step.is_async
        field = repr(step.field)
        if step.kind == "require":
            message = repr(step.message or f"{step.field} is required")
            lines += _guard(
                step.presence,
                [f"if {step.missing}:", f"    errors.append(_FieldError({field}, {message}))"],
            )
            continue
        if step.kind == "plain":
            args = ["cmd", "sent", *(["ctx"] if step.plain_context else [])]
            outcome = [
                f"r = {_call(fn, args, step.is_async)}",
                "if isinstance(r, _RuleViolation):",
                "    _collect(errors, r)",
            ]
        else:
            default = step.message or "Rule check failed"
            outcome = [
                f"r = {_call(fn, step.args, step.is_async)}",
                "if r is True:",
                f"    errors.append(_FieldError({field}, {default!r}))",
                "elif isinstance(r, str):",
                f"    if r: errors.append(_FieldError({field}, r))",
                "elif isinstance(r, _RuleViolation):",
                "    _collect(errors, r)",
            ]
        body = [
            "try:",
            *(f"    {line}" for line in outcome),
            "except _RuleViolation as exc:",
            "    _collect(errors, exc)",
        ]
        lines += _guard(step.presence, body)
    lines += ["if errors:", "    raise _RuleViolations(errors)"]
    return _build("rules", lines, namespace, is_async), is_async
