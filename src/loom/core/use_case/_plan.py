"""Execution plans: each use case (or job) analysed once into the steps that fill
its ``execute`` parameters, run its computes and rules, and call it.

All declaration mistakes surface here, at start-up, with the class and parameter
named; the per-call path only runs precomputed steps.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from loom.core.command import codec_for, fields_set
from loom.core.command._command import set_fields_set
from loom.core.errors import NotFound, ValidationError
from loom.core.model import model_info
from loom.core.model._write import INT64_MAX, INT64_MIN
from loom.core.naming import to_camel
from loom.core.repository.abc.query import QuerySpec
from loom.core.use_case._codegen import compile_computes, compile_rules
from loom.core.use_case._markers import Exists, Input, LoadById, OnMissing
from loom.core.use_case._rules import Compute, FieldRef, Rule

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


class _CompiledRule:
    """A rule with its names resolved, so a request does no lookups or conversions."""

    __slots__ = ("check_field", "fn", "is_async", "message", "params", "present", "wire_field")

    def __init__(self, rule: Rule) -> None:
        self.fn = rule.fn
        self.is_async = _is_async(rule.fn)
        self.message = rule.message
        self.params = tuple(rule.params)
        self.present = rule.present.name if rule.present is not None else None
        if rule.kind == "check":
            assert rule.field is not None
            self.check_field: str | None = rule.field.name
            self.wire_field: str | None = to_camel(rule.field.name)
        else:
            self.check_field = None
            self.wire_field = to_camel(self.present) if self.present is not None else None


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


class ExecutionPlan:
    """The compiled form of one ``execute`` method."""

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
        if execute is None or not inspect.iscoroutinefunction(execute):
            raise self._error(None, "must define `async def execute(self, ...)`")
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
            elif isinstance(default, LoadById):
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
        self.computes: tuple[Compute, ...] = tuple(getattr(owner, "computes", ()) or ())
        self.rules: tuple[Rule, ...] = tuple(getattr(owner, "rules", ()) or ())
        self._check_declarations()
        self._compiled_computes: tuple[
            tuple[str, tuple[str, ...], tuple[str, ...], Callable[..., Any], bool], ...
        ] = tuple(
            (
                c.target.name,
                tuple(src.name for src in c.sources),
                tuple(c.params),
                c.fn,  # type: ignore[misc]  # checked by _check_declarations
                _is_async(c.fn),
            )
            for c in self.computes
        )
        self._compiled_rules = tuple(_CompiledRule(r) for r in self.rules)
        self._run_computes, self._computes_async = compile_computes(self._compiled_computes)
        self._run_rules, self._rules_async = compile_rules(self._compiled_rules)
        self._deferred = tuple(p for p in self.params if p.kind in ("exists", "load"))
        self._all_sync = not (self._deferred or self._computes_async or self._rules_async)
        self.has_checks = bool(self.computes or self.rules)

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
            if isinstance(marker, Exists):
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

    def _check_ref(self, ref: FieldRef, what: str) -> None:
        if self.command_type is None:
            raise self._error(None, f"{what} {ref!r} needs an Input() command parameter")
        if not (isinstance(ref.command, type) and issubclass(self.command_type, ref.command)):
            raise self._error(
                None,
                f"{what} {ref!r} refers to {getattr(ref.command, '__name__', ref.command)}, "
                f"but the Input() command is {self.command_type.__name__}",
            )
        if ref.name not in self._command_fields():
            raise self._error(
                None, f"{what} {ref!r}: {self.command_type.__name__} has no field {ref.name!r}"
            )

    def _check_declarations(self) -> None:
        names = {p.name for p in self.params}
        for compute in self.computes:
            if not isinstance(compute, Compute):
                raise self._error(None, f"computes must hold Compute declarations, got {compute!r}")
            self._check_ref(compute.target, "compute")
            for src in compute.sources:
                self._check_ref(src, "compute")
            if compute.fn is None:
                raise self._error(None, f"{compute!r} has no via= function")
            for pname in compute.params:
                if pname not in names:
                    raise self._error(
                        None,
                        f"{compute!r} asks for parameter {pname!r}, which execute does not have",
                    )
        for rule in self.rules:
            if not isinstance(rule, Rule):
                raise self._error(None, f"rules must hold Rule declarations, got {rule!r}")
            if rule.field is not None:
                self._check_ref(rule.field, "rule")
            if rule.present is not None:
                self._check_ref(rule.present, "rule")
            if rule.kind == "forbid" and self.command_type is None:
                raise self._error(None, f"{rule!r} needs an Input() command parameter")
            for pname in rule.params:
                if pname not in names:
                    raise self._error(
                        None, f"{rule!r} asks for parameter {pname!r}, which execute does not have"
                    )

    # -- run ---------------------------------------------------------------------------

    async def resolve(
        self,
        params: Mapping[str, Any] | None = None,
        payload: Any = None,
        query: QuerySpec | None = None,
        profile: str | None = None,
    ) -> dict[str, Any]:
        """The keyword arguments for ``execute``: computes applied, rules passed."""
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
        """Computes, then markers (which may read computed fields), then rules."""
        if self.computes and cmd is not None:
            cmd = self._run_computes(cmd, kwargs)
            if self._computes_async:
                cmd = await cmd
            kwargs[self.input.name] = cmd  # type: ignore[union-attr]
        for p in self._deferred:
            kwargs[p.name] = await self._resolve_marker(p, kwargs, cmd)
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
        if isinstance(marker, Exists):
            if marker.from_param is not None:
                value = kwargs.get(marker.from_param)
            else:
                value = getattr(cmd, marker.from_command)  # type: ignore[arg-type]
            found = value is not None and await p.repo.exists_by(marker.against, value)
            if found:
                return True
            if marker.on_missing is OnMissing.RAISE:
                raise NotFound(f"{marker.model.__name__} with {marker.against}={value!r} not found")
            return None if marker.on_missing is OnMissing.RETURN_NONE else False
        value = kwargs[marker.by] if marker.by in kwargs else getattr(cmd, marker.by, None)
        entity = (
            await p.repo.get_by_id(value, profile=marker.profile) if value is not None else None
        )
        if entity is None and marker.on_missing is OnMissing.RAISE:
            raise NotFound(model=marker.model.__name__, id=value)
        return entity

    async def run(
        self,
        instance: Any,
        params: Mapping[str, Any] | None = None,
        payload: Any = None,
        query: QuerySpec | None = None,
        profile: str | None = None,
    ) -> Any:
        kwargs, cmd = self._bind(params, payload, query, profile)
        if self._all_sync:
            self._check_sync(kwargs, cmd)
        else:
            await self._check(kwargs, cmd)
        return await instance.execute(**kwargs)
