"""Execution plans: each use case (or job) analysed once into the steps that fill
its ``execute`` parameters, run its computes and rules, and call it.

All declaration mistakes surface here, at start-up, with the class and parameter
named; the per-call path only runs precomputed steps.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from loom.core.command import codec_for, field_role, fields_set, patch_allows_null
from loom.core.command._command import set_fields_set
from loom.core.command._types import PATCH
from loom.core.errors import NotFound, ValidationError
from loom.core.model import model_info
from loom.core.model._write import INT64_MAX, INT64_MIN
from loom.core.repository.abc.query import FilterGroup, FilterOp, FilterSpec, QuerySpec
from loom.core.use_case._codegen import ComputeStep, RuleStep, compile_computes, compile_rules
from loom.core.use_case._markers import Exists, Input, Load, LoadById, OnMissing
from loom.core.use_case._rules import Compute, FieldExpr, FieldRef, PredicateOp, Rule

__all__ = ["DeclarationError", "ExecutionPlan", "ParamPlan"]

_EMPTY = inspect.Parameter.empty


class DeclarationError(TypeError):
    """A use case, job or interface is declared wrongly; raised at start-up."""


def _converter(name: str, annotation: Any) -> Callable[[Any], Any]:
    if annotation is _EMPTY or annotation is Any or annotation is object:
        return lambda v: v
    if annotation is str:
        return lambda v: v if type(v) is str else str(v)

    def fail() -> ValidationError:
        tname = getattr(annotation, "__name__", str(annotation))
        return ValidationError.single(name, f"expected a value of type {tname}")

    if annotation is int:

        def to_int(v: Any) -> int:
            if type(v) is not int:
                try:
                    v = msgspec.convert(v, int, strict=False)
                except (msgspec.ValidationError, TypeError):
                    raise fail() from None
            if not INT64_MIN <= v <= INT64_MAX:
                raise ValidationError.single(name, "integer out of range")
            return v

        return to_int

    def convert(v: Any) -> Any:
        try:
            return msgspec.convert(v, annotation, strict=False)
        except (msgspec.ValidationError, TypeError):
            raise fail() from None

    return convert


def _is_async(fn: Any) -> bool:
    """Decided once per declaration: awaiting is only for ``async def`` functions."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - async callable objects
    )


class ParamPlan:
    __slots__ = ("annotation", "convert", "default", "kind", "marker", "name", "repo")

    def __init__(self, name: str, kind: str, annotation: Any, default: Any) -> None:
        self.name = name
        self.kind = kind  # "param" | "input" | "query" | "profile" | "exists" | "load"
        self.annotation = annotation
        self.default = default
        self.marker: Any = default if kind in ("exists", "load") else None
        self.convert = _converter(name, annotation) if kind == "param" else None
        self.repo: Any = None


def _is_queryspec(annotation: Any) -> bool:
    return annotation is QuerySpec or (
        isinstance(annotation, type) and issubclass(annotation, QuerySpec)
    )


_PLAIN_ARITY_ERROR = "takes (cmd, fields_set) or (cmd, fields_set, context)"


def _plain_arity(fn: Any) -> int | None:
    """2 or 3 for a plain-callable rule or compute, None when it fits neither."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return 2
    positional = [
        p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if any(p.kind is p.VAR_POSITIONAL for p in sig.parameters.values()):
        return 3
    required = [p for p in positional if p.default is p.empty]
    if len(required) <= 3 <= len(positional):
        return 3
    if len(required) <= 2 <= len(positional):
        return 2
    return None


class _Source:
    """Where a ``FieldRef`` reads from: the command, or an ``execute`` parameter."""

    __slots__ = ("annotation", "param")

    def __init__(self, param: str | None, annotation: Any) -> None:
        self.param = param  # None: the command
        self.annotation = annotation


class ExecutionPlan:
    """The compiled form of one ``execute`` method.

    The per-call pipeline is 0.2's: parameters, the command, ``Load``/``LoadById``,
    ``Exists``, computes, rules, then ``execute``.
    """

    def __init__(
        self,
        owner: type,
        *,
        repo_for: Callable[[type], Any],
        kind: str = "use case",
    ) -> None:
        self.owner = owner
        self.kind = kind
        self.name = owner.__qualname__
        execute = getattr(owner, "execute", None)
        if execute is None or not callable(execute):
            raise self._error(None, "must define `def execute(self, ...)` (async or not)")
        self.execute_is_async = inspect.iscoroutinefunction(execute)
        try:
            hints = typing.get_type_hints(execute, include_extras=True)
        except Exception as exc:
            raise self._error(None, f"cannot resolve the annotations of execute: {exc}") from None
        self.result_type: Any = hints.get("return", Any)
        self.params: list[ParamPlan] = []
        self.input: ParamPlan | None = None
        self.command_type: type[msgspec.Struct] | None = None
        signature = inspect.signature(execute)
        for index, (pname, p) in enumerate(signature.parameters.items()):
            if index == 0:
                continue  # self
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise self._error(pname, "*args/**kwargs are not supported in execute")
            annotation = hints.get(pname, _EMPTY)
            default = p.default
            if isinstance(default, Input):
                if self.input is not None:
                    raise self._error(pname, "only one Input() parameter is allowed")
                if not (isinstance(annotation, type) and issubclass(annotation, msgspec.Struct)):
                    raise self._error(pname, "Input() needs a Command (msgspec.Struct) annotation")
                plan = ParamPlan(pname, "input", annotation, default)
                self.input = plan
                self.command_type = annotation
                codec_for(annotation)
            elif isinstance(default, Exists):
                plan = ParamPlan(pname, "exists", annotation, default)
            elif isinstance(default, LoadById | Load):
                plan = ParamPlan(pname, "load", annotation, default)
            elif _is_queryspec(annotation):
                plan = ParamPlan(pname, "query", annotation, default)
            elif pname == "profile":
                plan = ParamPlan(pname, "profile", annotation, default)
            else:
                plan = ParamPlan(pname, "param", annotation, default)
            self.params.append(plan)
        self.path_params = tuple(p.name for p in self.params if p.kind == "param")
        self.required_params = tuple(
            p.name for p in self.params if p.kind == "param" and p.default is _EMPTY
        )
        self.needs_query = any(p.kind == "query" for p in self.params)
        self.needs_profile = any(p.kind == "profile" for p in self.params)
        self.codec = codec_for(self.command_type) if self.command_type is not None else None
        self._bind_markers(repo_for)
        self.computes: tuple[Any, ...] = tuple(getattr(owner, "computes", ()) or ())
        self.rules: tuple[Any, ...] = tuple(getattr(owner, "rules", ()) or ())
        self._run_computes, self._computes_async = compile_computes(
            [self._compute_step(c) for c in self.computes]
        )
        self._run_rules, self._rules_async = compile_rules([self._rule_step(r) for r in self.rules])
        # 0.2's order: loads (Load, LoadById) before existence checks, each in
        # parameter order; all of them before computes and rules.
        self._deferred = tuple(
            [p for p in self.params if p.kind == "load"]
            + [p for p in self.params if p.kind == "exists"]
        )
        self._all_sync = not (self._deferred or self._computes_async or self._rules_async)
        self.has_checks = bool(self.computes or self.rules)
        self._prototype: Any = None
        self._factory: Callable[[], Any] | None = None

    def build_per_call(self, prototype: Any, factory: Callable[[], Any] | None) -> None:
        """Run every call passed ``prototype`` on a fresh ``factory()`` instance, so
        state a use case keeps on ``self`` during one call is never seen by another
        (``factory`` None: the class is stateless and ``prototype`` serves). An
        instance built elsewhere (a test's) is used as given."""
        self._prototype = prototype
        self._factory = factory

    # -- start-up checks ---------------------------------------------------------------

    def _error(self, param: str | None, message: str) -> DeclarationError:
        where = f"{self.kind} {self.name}"
        if param:
            where += f", parameter {param!r}"
        return DeclarationError(f"{where}: {message}")

    def _command_fields(self) -> set[str]:
        assert self.command_type is not None
        return set(self.command_type.__struct_fields__)

    def _bind_markers(self, repo_for: Callable[[type], Any]) -> None:
        names = {p.name for p in self.params}
        for p in self.params:
            if p.kind not in ("exists", "load"):
                continue
            marker = p.marker
            try:
                info = model_info(marker.model)
            except TypeError:
                raise self._error(
                    p.name, f"{marker!r} refers to {marker.model!r}, which is not a model"
                ) from None
            try:
                p.repo = repo_for(marker.model)
            except LookupError:
                raise self._error(
                    p.name, f"{marker!r}: model {info.name} is not registered in this application"
                ) from None
            if isinstance(marker, Exists | Load):
                if info.column(marker.against) is None:
                    raise self._error(
                        p.name, f"{marker!r}: {info.name} has no column {marker.against!r}"
                    )
                if marker.from_param is not None and marker.from_param not in names:
                    raise self._error(
                        p.name, f"{marker!r}: execute has no parameter {marker.from_param!r}"
                    )
                if marker.from_command is not None and (
                    self.command_type is None or marker.from_command not in self._command_fields()
                ):
                    raise self._error(
                        p.name,
                        f"{marker!r}: the Input() command has no field {marker.from_command!r}",
                    )
            else:
                in_command = self.command_type is not None and marker.by in self._command_fields()
                if marker.by not in names and not in_command:
                    raise self._error(
                        p.name, f"{marker!r}: no parameter or command field named {marker.by!r}"
                    )

    def _source(self, ref: FieldRef, what: str) -> _Source:
        """Bind ``ref``'s root: the Input() command, a loaded model's parameter, or a
        parameter named by a string."""
        root = ref.root
        by_name = {p.name: p for p in self.params}
        if isinstance(root, str):
            param = by_name.get(root)
            if param is not None and param.kind != "input":
                return _Source(param.name, param.annotation)
            if self.command_type is not None:
                return _Source(None, self.command_type)
            raise self._error(
                None, f"{what} {ref!r}: execute has no parameter {root!r} and no Input() command"
            )
        if (
            isinstance(root, type)
            and self.command_type is not None
            and issubclass(self.command_type, root)
        ):
            return _Source(None, self.command_type)
        loaders = [
            p
            for p in self.params
            if p.kind == "load" and isinstance(root, type) and p.marker.model is root
        ]
        if len(loaders) == 1:
            return _Source(loaders[0].name, root)
        if len(loaders) > 1:
            raise self._error(
                None,
                f"{what} {ref!r}: several parameters load {root.__name__} "
                f"({', '.join(p.name for p in loaders)}); name one with F({loaders[0].name!r})",
            )
        if self.command_type is None:
            raise self._error(None, f"{what} {ref!r} needs an Input() command parameter")
        raise self._error(
            None,
            f"{what} {ref!r} refers to {getattr(root, '__name__', root)}, "
            f"but the Input() command is {self.command_type.__name__}",
        )

    def _check_path(self, ref: FieldRef, source: _Source, what: str) -> None:
        """Each step of the path must be a field, as far as the types tell."""
        current: Any = source.annotation
        for depth, name in enumerate(ref.path):
            fields = getattr(current, "__struct_fields__", None)
            if not isinstance(current, type) or fields is None:
                return  # a dict, Any, a union...: checked when it runs
            if name not in fields:
                owner = current.__name__
                if depth == 0 and source.param is None:
                    raise self._error(None, f"{what} {ref!r}: {owner} has no field {name!r}")
                raise self._error(None, f"{what} {ref!r}: {owner} has no field {name!r}")
            try:
                hints = typing.get_type_hints(current)
            except Exception:
                return
            current = _unwrap(hints.get(name))

    def _value(self, ref: FieldRef, what: str) -> tuple[str, _Source]:
        source = self._source(ref, what)
        self._check_path(ref, source, what)
        if source.param is None:
            head = f"cmd.{ref.path[0]}"
            rest = ref.path[1:]
        else:
            head = f"kwargs.get({source.param!r})"
            rest = ref.path
        return (f"_get({head}, {rest!r})" if rest else head), source

    def _present(self, expr: FieldRef | FieldExpr, what: str) -> str:
        if isinstance(expr, FieldExpr):
            joiner = " or " if expr.op is PredicateOp.OR else " and "
            return "(" + joiner.join(self._present(o, what) for o in expr.operands) + ")"
        value, source = self._value(expr, what)
        if source.param is None and len(expr.path) == 1:
            return f"({expr.path[0]!r} in sent)"
        if source.param is None:
            return f"({expr.path[0]!r} in sent and {value} is not None)"
        return f"({value} is not None)"

    def _check_params(self, names: tuple[str, ...], decl: Any) -> list[str]:
        known = {p.name for p in self.params}
        for pname in names:
            if pname not in known:
                raise self._error(
                    None, f"{decl!r} asks for parameter {pname!r}, which execute does not have"
                )
        return [f"kwargs.get({name!r})" for name in names]

    def _plain(self, fn: Any, what: str) -> int:
        arity = _plain_arity(fn)
        if arity is None:
            raise self._error(None, f"{what} {getattr(fn, '__name__', fn)!r} {_PLAIN_ARITY_ERROR}")
        if self.command_type is None:
            raise self._error(
                None, f"{what} {getattr(fn, '__name__', fn)!r} needs an Input() command parameter"
            )
        return arity

    def _compute_step(self, compute: Any) -> ComputeStep:
        if not isinstance(compute, Compute):
            if not callable(compute):
                raise self._error(
                    None, f"computes must hold Compute declarations or callables, got {compute!r}"
                )
            arity = self._plain(compute, "compute")
            return ComputeStep(None, compute, _is_async(compute), plain_context=arity == 3)
        _, source = self._value(compute.target, "compute")
        if source.param is not None or len(compute.target.path) != 1:
            raise self._error(
                None, f"{compute!r}: a compute sets a top-level field of the Input() command"
            )
        if not compute.sourced:
            raise self._error(
                None, f"{compute!r} has no source: add .from_command(...) or .from_params(...)"
            )
        args = [self._value(src, "compute")[0] for src in compute.sources]
        params = self._check_params(compute.params, compute)
        presence = (
            self._present(compute.present, "compute") if compute.present is not None else None
        )
        fn = compute.fn
        if fn is None:
            if len(compute.sources) != 1 or compute.params:
                raise self._error(
                    None,
                    f"{compute!r}: without via= a compute copies exactly one command field",
                )
            return ComputeStep(compute.target.path[0], None, args=(args[0],), presence=presence)
        if not compute.sources:
            args = ["cmd"]
        return ComputeStep(
            compute.target.path[0], fn, _is_async(fn), tuple(args + params), presence
        )

    def _rule_step(self, rule: Any) -> RuleStep:
        if not isinstance(rule, Rule):
            if not callable(rule):
                raise self._error(
                    None, f"rules must hold Rule declarations or callables, got {rule!r}"
                )
            arity = self._plain(rule, "rule")
            return RuleStep("plain", rule, _is_async(rule), plain_context=arity == 3)
        if self.command_type is None and rule.kind == "forbid" and not rule.sources:
            raise self._error(None, f"{rule!r} needs an Input() command parameter")
        targets = [self._value(t, "rule") for t in rule.targets]
        sources = [self._value(s, "rule")[0] for s in rule.sources]
        params = self._check_params(rule.params, rule)
        guards: list[str] = []
        if rule.present is not None:
            guards.append(self._present(rule.present, "rule"))
        field: str | None
        if rule.targets:
            field = rule.field or rule.targets[0].leaf
        elif rule.sources:
            field = rule.sources[0].leaf
        elif isinstance(rule.present, FieldRef):
            field = rule.present.leaf
        else:
            field = self.command_type.__name__ if self.command_type is not None else None
        if rule.kind == "require":
            ((value, source),) = targets
            ref = rule.targets[0]
            missing = f"{value} is None"
            if source.param is None and len(ref.path) == 1 and self._is_patch(ref.path[0]):
                missing = f"({ref.path[0]!r} not in sent or {missing})"
            return RuleStep(
                "require",
                None,
                field=field,
                message=rule.message,
                presence=" and ".join(guards) or None,
                missing=missing,
            )
        if rule.kind == "check":
            # A Patch[T] that refuses null is None only when it was not sent: the rule
            # is skipped then, so it never receives None for it.
            for ref, (_, source) in zip(rule.targets, targets, strict=True):
                if source.param is None and len(ref.path) == 1 and self._not_null(ref.path[0]):
                    guards.append(f"({ref.path[0]!r} in sent)")
            args = [value for value, _ in targets] + sources + params
        else:
            args = (sources or ["cmd", "sent"]) + params
        assert rule.fn is not None
        return RuleStep(
            rule.kind,
            rule.fn,
            _is_async(rule.fn),
            tuple(args),
            field,
            rule.message,
            " and ".join(guards) or None,
        )

    def _field_type(self, name: str) -> Any:
        assert self.command_type is not None
        for f in msgspec.structs.fields(self.command_type):
            if f.name == name:
                return f.type
        return None

    def _is_patch(self, name: str) -> bool:
        return field_role(self._field_type(name)) is PATCH

    def _not_null(self, name: str) -> bool:
        annotation = self._field_type(name)
        return field_role(annotation) is PATCH and not patch_allows_null(annotation)

    # -- run ---------------------------------------------------------------------------

    async def resolve(
        self,
        params: Mapping[str, Any] | None = None,
        payload: Any = None,
        query: QuerySpec | None = None,
        profile: str | None = None,
    ) -> dict[str, Any]:
        """The keyword arguments for ``execute``: loads resolved, computes applied,
        rules passed."""
        kwargs, cmd = self._bind(params, payload, query, profile)
        if self._all_sync:
            self._check_sync(kwargs, cmd)
        else:
            await self._check(kwargs, cmd)
        return kwargs

    def _bind(
        self,
        params: Mapping[str, Any] | None,
        payload: Any,
        query: QuerySpec | None,
        profile: str | None,
    ) -> tuple[dict[str, Any], Any]:
        """Path parameters, the decoded command, the query and the profile."""
        params = params or {}
        kwargs: dict[str, Any] = {}
        cmd: Any = None
        for p in self.params:
            kind = p.kind
            if kind == "param":
                if p.name in params:
                    kwargs[p.name] = p.convert(params[p.name])  # type: ignore[misc]
                elif p.default is not _EMPTY:
                    kwargs[p.name] = p.default
                else:
                    raise ValidationError.single(p.name, "parameter required")
            elif kind == "input":
                cmd = self._decode(payload)
                kwargs[p.name] = cmd
            elif kind == "query":
                kwargs[p.name] = query if query is not None else QuerySpec()
            elif kind == "profile":
                kwargs[p.name] = profile or (p.default if p.default is not _EMPTY else "default")
        return kwargs, cmd

    def _check_sync(self, kwargs: dict[str, Any], cmd: Any) -> None:
        """Computes and rules of a plan with no marker and no async function: no
        coroutine is created for them (the common case on the request path)."""
        if self.computes and cmd is not None:
            cmd = kwargs[self.input.name] = self._run_computes(cmd, kwargs)  # type: ignore[union-attr]
        if self.rules:
            self._run_rules(cmd, kwargs)

    async def _check(self, kwargs: dict[str, Any], cmd: Any) -> None:
        """Loads, then existence checks, then computes (which may read both), then
        rules."""
        for p in self._deferred:
            kwargs[p.name] = await self._resolve_marker(p, kwargs, cmd)
        if self.computes and cmd is not None:
            cmd = self._run_computes(cmd, kwargs)
            if self._computes_async:
                cmd = await cmd
            kwargs[self.input.name] = cmd  # type: ignore[union-attr]
        if self.rules:
            checked = self._run_rules(cmd, kwargs)
            if self._rules_async:
                await checked

    def _decode(self, payload: Any) -> Any:
        codec = self.codec
        assert codec is not None
        if type(payload) is bytes:
            return codec.decode_json(payload)
        if isinstance(payload, (bytearray, memoryview)):
            return codec.decode_json(bytes(payload))
        if isinstance(payload, codec.command_type):
            if not self.computes:
                return payload
            # The caller's object (through the invoker): computes must not change it.
            copy = msgspec.structs.replace(payload)
            set_fields_set(copy, fields_set(payload))
            return copy
        if payload is None:
            payload = {}
        return codec.decode(payload)

    async def _resolve_marker(self, p: ParamPlan, kwargs: dict[str, Any], cmd: Any) -> Any:
        marker = p.marker
        name = marker.model.__name__
        if isinstance(marker, Exists):
            value = (
                kwargs.get(marker.from_param)
                if marker.from_param is not None
                else getattr(cmd, marker.from_command)  # type: ignore[arg-type]
            )
            found = value is not None and await p.repo.exists_by(marker.against, value)
            if found:
                return True
            if marker.on_missing is OnMissing.RAISE:
                raise _not_found(name, marker.against, value)
            return False
        if isinstance(marker, Load):
            value = (
                kwargs.get(marker.from_param)
                if marker.from_param is not None
                else getattr(cmd, marker.from_command)  # type: ignore[arg-type]
            )
            entity = (
                await _get_by(p.repo, marker.against, value, marker.profile)
                if value is not None
                else None
            )
            against = marker.against
        else:
            value = kwargs[marker.by] if marker.by in kwargs else getattr(cmd, marker.by, None)
            entity = (
                await p.repo.get_by_id(value, profile=marker.profile) if value is not None else None
            )
            against = "id"
        if entity is not None:
            return entity
        if marker.on_missing is OnMissing.RAISE:
            raise _not_found(name, against, value)
        return False if marker.on_missing is OnMissing.RETURN_FALSE else None

    async def run(
        self,
        instance: Any,
        params: Mapping[str, Any] | None = None,
        payload: Any = None,
        query: QuerySpec | None = None,
        profile: str | None = None,
    ) -> Any:
        if instance is self._prototype and self._factory is not None:
            instance = self._factory()
        kwargs, cmd = self._bind(params, payload, query, profile)
        if self._all_sync:
            self._check_sync(kwargs, cmd)
        else:
            await self._check(kwargs, cmd)
        if self.execute_is_async:
            return await instance.execute(**kwargs)
        # A synchronous execute runs inline, as in 0.2 (it should not block).
        result = instance.execute(**kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result


def _not_found(name: str, against: str, value: Any) -> NotFound:
    if against == "id":
        return NotFound(name, id=value)
    return NotFound(name, id=value, detail=f"{name} with {against}={value!r} not found")


async def _get_by(repo: Any, field: str, value: Any, profile: str) -> Any:
    """``repo.get_by(field, value, profile=)``; a repository without it is asked for
    the first row of an equality filter."""
    get_by = getattr(repo, "get_by", None)
    if get_by is not None:
        return await get_by(field, value, profile=profile)
    spec = QuerySpec(
        filters=FilterGroup(filters=(FilterSpec(field=field, op=FilterOp.EQ, value=value),)),
        limit=1,
    )
    page = await repo.list_with_query(spec, profile=profile)
    items = getattr(page, "items", ())
    return items[0] if items else None


def _unwrap(annotation: Any) -> Any:
    """The struct type behind ``Annotated[...]``/``T | None``, for path checks."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return annotation
