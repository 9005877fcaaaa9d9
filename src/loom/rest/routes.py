"""Compiling interfaces into a flat, checked route table.

The table is framework-agnostic: the FastAPI adapter serves it, ``loom routes``
prints it and the OpenAPI builder documents it. Every mistake (a use case needing a
parameter the path does not have, two routes on the same method and path, an
unknown profile) is a :class:`DeclarationError` at start-up.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from loom.core.config.settings import settings_of
from loom.core.errors import ValidationError
from loom.core.model import ModelInfo, model_info
from loom.core.model._base import all_models
from loom.core.model._write import INT64_MAX, INT64_MIN
from loom.core.naming import to_snake
from loom.core.repository.abc.query import PaginationMode
from loom.core.runtime import Runtime
from loom.core.use_case._plan import DeclarationError, ExecutionPlan
from loom.rest._wording import humanize_use_case
from loom.rest.autocrud import AUTO_OPERATIONS, build_auto_routes
from loom.rest.model import RestApiDefaults, RestInterface, RestRoute

__all__ = [
    "CompiledRoute",
    "canonical_path",
    "compile_routes",
    "defaults_from_config",
    "path_params",
    "route_sort_key",
]

_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?}")


def path_params(path: str) -> list[str]:
    return _PARAM.findall(path)


def _join(prefix: str, path: str) -> str:
    prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
    if not path:
        return prefix or "/"
    return prefix + ("" if path.startswith("/") else "/") + path


def route_sort_key(path: str) -> tuple[Any, ...]:
    """Static segments before parameters at the same position: ``/low-stock`` wins
    over ``/{id}`` whatever the declaration order."""
    segments = [s for s in path.split("/") if s]
    return (*((1, "") if _PARAM.fullmatch(s) else (0, s) for s in segments), (2, ""))


def _int_validator(name: str) -> Callable[[str], None]:
    def check(raw: str) -> None:
        text = raw.strip()
        ok = (
            bool(text)
            and text.isascii()  # "¹" is a digit to str.isdigit but not to int()
            and (text.isdigit() or (text[0] == "-" and text[1:].isdigit()))
            and len(text) <= 20
        )
        if not ok or not INT64_MIN <= int(text) <= INT64_MAX:
            raise ValidationError.single(name, "expected an integer id")

    return check


@dataclass
class CompiledRoute:
    method: str
    path: str
    """As declared (``/products/``); served with and without the trailing slash."""
    use_case: type
    plan: ExecutionPlan
    instance: Any
    status_code: int
    summary: str
    description: str
    tags: tuple[str, ...]
    interface: type
    model: type | None
    pagination_mode: PaginationMode
    expose_profile: bool
    allowed_profiles: tuple[str, ...]
    profile_default: str
    auto: str | None
    path_param_types: dict[str, Any] = field(default_factory=dict)
    allow_pagination_override: bool = True
    """False: ``?pagination=`` naming another mode than ``pagination_mode`` is a 422."""
    declared: int = 0
    """Position in the interfaces' declarations (the table is sorted for matching)."""
    validators: dict[str, Callable[[str], None]] = field(default_factory=dict)
    param_renames: dict[str, str] = field(default_factory=dict)
    """URL parameter -> ``execute`` parameter, where they differ: routes whose paths
    differ only in parameter names (``/users/{user_id}``, ``/users/{id}``) share the
    first one's template, as one URL can only be routed one way."""
    operation_id: str = ""
    """``<UseCase>_<method>``, numbered when one use case serves several routes with
    the same method (OpenAPI needs them unique)."""

    @property
    def is_list(self) -> bool:
        return self.plan.needs_query


def _typed_path_param(name: str, plan: ExecutionPlan, info: ModelInfo | None) -> Any:
    """The type a path parameter must have, even when execute annotates it ``str``.

    ``id`` takes the interface model's primary-key type, ``<thing>_id`` the key type of
    the model it names (``product_id`` -> ``Product``) or that a foreign key refers to.
    """
    declared = next(
        (p.annotation for p in plan.params if p.name == name and p.kind == "param"), None
    )
    if declared is not None and declared not in (str, Any, inspect.Parameter.empty):
        return declared
    if name == "id" and info is not None:
        return info.pk.python_type
    if name.endswith("_id"):
        stem = name[:-3]
        if info is not None:
            col = info.columns.get(name)
            if col is not None and col.decl.foreign_key:
                table = col.decl.foreign_key.split(".", 1)[0]
                for m in all_models():
                    if m.__tablename__ == table:
                        return model_info(m).pk.python_type
        for m in all_models():
            if to_snake(m.__name__) == stem or m.__tablename__ in (stem, stem + "s"):
                return model_info(m).pk.python_type
    return str


def canonical_path(path: str) -> str:
    """The form a URL is matched in: without its trailing slash (``/products/`` and
    ``/products`` are one resource), the root excepted."""
    return path.rstrip("/") or "/"


def defaults_from_config(config: Any) -> RestApiDefaults:
    """``app.rest.defaults`` (``pagination_mode``, ``allow_pagination_override``,
    ``profile_default``, ``allowed_profiles``) of a config or its ``AppSettings``, so
    the served app and ``loom routes`` agree without code."""
    raw = settings_of(config).rest.defaults if config is not None else None
    if not raw:
        return RestApiDefaults()
    values = dict(raw)
    if isinstance(values.get("pagination_mode"), str):
        values["pagination_mode"] = values["pagination_mode"].strip().lower()
    known = {"pagination_mode", "allow_pagination_override", "profile_default", "allowed_profiles"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise DeclarationError(f"app.rest.defaults: unknown key(s) {unknown}; use {sorted(known)}")
    try:
        return RestApiDefaults(**values)
    except (TypeError, ValueError) as exc:
        raise DeclarationError(f"app.rest.defaults: {exc}") from None


def _interface_routes(interface: type[RestInterface[Any]]) -> list[RestRoute]:
    """The routes an interface serves: its own list, or the auto-CRUD routes when
    ``auto = True`` and the list is empty (0.2's rule: a declared list is exact)."""
    name = interface.__qualname__
    declared: list[RestRoute] = list(interface.routes or ())
    if declared or not interface.auto:
        if not declared:
            raise DeclarationError(
                f"interface {name} serves no route: list RestRoute(...) in routes, "
                f"or set auto = True for the auto-CRUD routes"
            )
        return declared
    model = interface.model
    if model is None:
        raise DeclarationError(f"interface {name}: auto = True needs RestInterface[Model]")
    include = tuple(interface.include or ())
    bad = [op for op in include if op not in AUTO_OPERATIONS]
    if bad:
        raise DeclarationError(
            f"interface {name}: include has unknown operation(s) {bad}; use {AUTO_OPERATIONS}"
        )
    return list(build_auto_routes(model, include))


def _check_profiles(where: str, names: Sequence[str], profiles: Sequence[str], model: str) -> None:
    for p in names:
        if p not in profiles:
            raise DeclarationError(
                f"{where}: allowed_profiles has {p!r}, which {model} does not declare "
                f"(declared: {', '.join(profiles)})"
            )


def compile_routes(
    interfaces: Sequence[type],
    runtime: Runtime,
    defaults: RestApiDefaults | None = None,
) -> list[CompiledRoute]:
    """The checked route table; ``defaults`` (else ``app.rest.defaults`` of the
    runtime's config) fills what neither a route nor its interface sets."""
    if defaults is None:
        defaults = defaults_from_config(runtime.settings)
    compiled: list[CompiledRoute] = []
    seen: dict[tuple[str, str], str] = {}
    templates: dict[str, str] = {}  # canonical path, parameters blanked -> first template
    for interface in interfaces:
        if not (isinstance(interface, type) and issubclass(interface, RestInterface)):
            raise DeclarationError(f"{interface!r} is not a RestInterface")
        model = interface.model
        info = model_info(model) if model is not None else None
        declared = _interface_routes(interface)
        profiles = info.profiles() if info is not None else ("default",)
        model_name = info.name if info is not None else "the model"
        iface_where = f"interface {interface.__qualname__}"
        _check_profiles(iface_where, tuple(interface.allowed_profiles or ()), profiles, model_name)
        # Application-wide defaults name profiles some models may not have.
        default_allowed = tuple(p for p in defaults.allowed_profiles if p in profiles)
        for route in declared:
            if not isinstance(route, RestRoute):
                raise DeclarationError(f"{iface_where}: routes must be RestRoute, got {route!r}")
            full = _join(interface.prefix, route.path)
            where = f"{iface_where}, route {route.method} {full}"
            blank = canonical_path(_PARAM.sub("{}", full))
            key = (route.method, blank)
            if key in seen:
                raise DeclarationError(
                    f"{where}: already served by {seen[key]} (a path answers with and "
                    f"without its trailing slash); remove one of them"
                )
            seen[key] = route.use_case.__qualname__
            try:
                plan = runtime.plan(route.use_case)
                instance = runtime.instance(route.use_case)
            except DeclarationError as exc:
                raise DeclarationError(f"{where}: {exc}") from None
            names = path_params(full)
            for required in plan.required_params:
                if required not in names:
                    raise DeclarationError(
                        f"{where}: use case {route.use_case.__qualname__} needs parameter "
                        f"{required!r}, which the path does not have"
                    )
            uc_model = getattr(route.use_case, "model", None)
            route_info = model_info(uc_model) if uc_model is not None else info
            first = templates.setdefault(blank, canonical_path(full))
            # The first route's parameter names, this route's own trailing slash.
            template = first if full == canonical_path(full) else first.rstrip("/") + "/"
            url_names = path_params(first)
            renames = {u: n for u, n in zip(url_names, names, strict=True) if u != n}
            types = {
                u: _typed_path_param(n, plan, route_info)
                for u, n in zip(url_names, names, strict=True)
            }
            validators = {n: _int_validator(n) for n, t in types.items() if t is int}
            _check_profiles(where, route.allowed_profiles, profiles, model_name)
            allowed = tuple(
                route.allowed_profiles or interface.allowed_profiles or default_allowed or profiles
            )
            profile_default = (
                route.profile_default or interface.profile_default or defaults.profile_default
            )
            if profile_default not in allowed and profile_default != "default":
                raise DeclarationError(
                    f"{where}: profile_default {profile_default!r} is not an allowed profile "
                    f"({', '.join(allowed)})"
                )
            expose = route.expose_profile or interface.expose_profile
            mode = route.pagination_mode or interface.pagination_mode or defaults.pagination_mode
            override = _first_set(
                route.allow_pagination_override,
                interface.allow_pagination_override,
                defaults.allow_pagination_override,
            )
            compiled.append(
                CompiledRoute(
                    method=route.method,
                    path=template,
                    use_case=route.use_case,
                    plan=plan,
                    instance=instance,
                    status_code=route.status_code,
                    summary=route.summary or humanize_use_case(route.use_case.__name__),
                    description=route.description or (route.use_case.__doc__ or "").strip(),
                    tags=tuple(route.tags or interface.tags or ()),
                    interface=interface,
                    model=model,
                    pagination_mode=PaginationMode(mode),
                    allow_pagination_override=override,
                    expose_profile=bool(expose) and plan.needs_profile,
                    allowed_profiles=allowed,
                    profile_default=profile_default,
                    auto=route.auto,
                    path_param_types=types,
                    validators=validators,
                    param_renames=renames,
                )
            )
    taken: dict[str, int] = {}
    for position, entry in enumerate(compiled):
        entry.declared = position
        base = f"{entry.use_case.__name__}_{entry.method.lower()}"
        taken[base] = taken.get(base, 0) + 1
        entry.operation_id = base if taken[base] == 1 else f"{base}_{taken[base]}"
    compiled.sort(key=lambda r: route_sort_key(r.path))
    return compiled


def _first_set(*values: bool | None) -> bool:
    return next(bool(v) for v in values if v is not None)
