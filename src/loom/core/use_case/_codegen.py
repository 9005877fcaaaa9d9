"""Computes and rules compiled to one Python function per use case.

A plan knows at start-up every field a compute reads and writes and every rule's
field, parameters and message, so the per-request work is generated as straight-line
code (``fn0(cmd.quantity, cmd.unit_price_cents)``...) instead of a loop over
declarations doing ``getattr`` by name, list building and async checks per step. The
generated code only refers to names bound in its namespace; field names are Python
identifiers (struct fields) and everything else is passed as a constant by ``repr``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from loom.core.command import fields_set
from loom.core.errors import FieldError, RuleViolations

__all__ = ["compile_computes", "compile_rules"]


def _build(name: str, lines: list[str], namespace: dict[str, Any], is_async: bool) -> Any:
    head = f"{'async ' if is_async else ''}def {name}(cmd, kwargs):"
    source = "\n".join([head, *(f"    {line}" for line in lines)]) + "\n"
    exec(compile(source, f"<loom {name}>", "exec"), namespace)
    return namespace[name]


def _call(fn: str, args: Sequence[str], is_async: bool) -> str:
    call = f"{fn}({', '.join(args)})"
    return f"(await {call})" if is_async else call


def _params(names: Sequence[str]) -> list[str]:
    return [f"kwargs.get({name!r})" for name in names]


def compile_computes(
    steps: Sequence[tuple[str, tuple[str, ...], tuple[str, ...], Callable[..., Any], bool]],
) -> tuple[Callable[[Any, dict[str, Any]], Any], bool]:
    """``(fn(cmd, kwargs) -> cmd, is_async)`` for ``(target, sources, params, via,
    via_is_async)`` steps: each computed field set in place on the command, which the
    plan owns (decoded for this call, or copied from the caller's)."""
    namespace: dict[str, Any] = {"_set": msgspec.structs.force_setattr}
    lines: list[str] = []
    is_async = False
    for i, (target, sources, params, fn, fn_async) in enumerate(steps):
        namespace[f"fn{i}"] = fn
        args = [f"cmd.{name}" for name in sources] + _params(params)
        lines.append(f"_set(cmd, {target!r}, {_call(f'fn{i}', args, fn_async)})")
        is_async = is_async or fn_async
    lines.append("return cmd")
    return _build("computes", lines, namespace, is_async), is_async


def compile_rules(rules: Sequence[Any]) -> tuple[Callable[[Any, dict[str, Any]], Any], bool]:
    """``(fn(cmd, kwargs) -> None, is_async)`` raising :class:`RuleViolations` with
    every failed rule, for compiled rules (``check_field``, ``fn``, ``is_async``,
    ``message``, ``params``, ``present``, ``wire_field``; see ``_plan._CompiledRule``)."""
    namespace: dict[str, Any] = {
        "_fields_set": fields_set,
        "_FieldError": FieldError,
        "_RuleViolations": RuleViolations,
        "_EMPTY": frozenset(),
    }
    lines = ["errors = []", "sent = _fields_set(cmd) if cmd is not None else _EMPTY"]
    is_async = False
    for i, rule in enumerate(rules):
        fn, wire, message = f"fn{i}", repr(rule.wire_field), repr(rule.message)
        namespace[fn] = rule.fn
        is_async = is_async or rule.is_async
        extra = _params(rule.params)
        body: list[str]
        if rule.check_field is not None:
            call = _call(fn, [f"cmd.{rule.check_field}", *extra], rule.is_async)
            body = [
                f"r = {call}",
                "if isinstance(r, str):",
                f"    if r: errors.append(_FieldError({wire}, r))",
            ]
            if rule.message is not None:
                body.append(f"elif r: errors.append(_FieldError({wire}, {message}))")
        else:
            call = _call(fn, ["cmd", "sent", *extra], rule.is_async)
            fallback = f"{message} or (r if isinstance(r, str) else '')"
            body = [
                f"r = {call}",
                "if r:",
                f"    errors.append(_FieldError({wire}, ({fallback}) or 'rule violated'))",
            ]
        if rule.present is not None:
            body = [f"if {rule.present!r} in sent:", *(f"    {line}" for line in body)]
        lines += body
    lines += ["if errors:", "    raise _RuleViolations(errors)"]
    return _build("rules", lines, namespace, is_async), is_async
