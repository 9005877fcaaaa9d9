"""OpenAPI 3.1 for a route table, from the same msgspec types the routes decode and
encode, so the document cannot drift from what is really accepted and returned."""

from __future__ import annotations

import datetime as _dt
import decimal
import types as types_mod
import typing
import uuid
from collections.abc import Sequence
from typing import Any

import msgspec

from loom.core.model import model_info
from loom.core.repository.abc.query import MAX_LIMIT, FilterOp, PaginationMode
from loom.rest.routes import CompiledRoute

__all__ = ["PROBLEM_SCHEMA", "build_openapi"]

REF = "#/components/schemas/{name}"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "An RFC 9457 problem document.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "trace_id": {"type": ["string", "null"]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": ["string", "null"]},
                    "message": {"type": "string"},
                },
                "required": ["field", "message"],
            },
        },
    },
    "required": ["type", "title", "status", "detail", "code"],
}

_ERRORS = {
    "400": "Malformed request",
    "404": "Not found",
    "409": "Conflict with existing data",
    "413": "Request body too large",
    "415": "Unsupported media type",
    "422": "Validation or rule failure",
    "503": "A backing service is unavailable",
}


def _scalar_schema(t: Any) -> dict[str, Any]:
    if t is int:
        return {"type": "integer"}
    if t is float:
        return {"type": "number"}
    if t is bool:
        return {"type": "boolean"}
    if t is _dt.datetime:
        return {"type": "string", "format": "date-time"}
    if t is _dt.date:
        return {"type": "string", "format": "date"}
    if t is uuid.UUID:
        return {"type": "string", "format": "uuid"}
    if t is decimal.Decimal:
        return {"type": "string", "format": "decimal"}
    return {"type": "string"}


def _list_parameters(route: CompiledRoute) -> list[dict[str, Any]]:
    model = getattr(route.use_case, "model", None) or route.model
    params: list[dict[str, Any]] = [
        {
            "name": "pagination",
            "in": "query",
            "schema": {
                "type": "string",
                "enum": [m.value for m in PaginationMode]
                if route.allow_pagination_override
                else [route.pagination_mode.value],
                "default": route.pagination_mode.value,
            },
        },
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 50},
        },
        {
            "name": "page",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "default": 1},
            "description": "Offset mode: page number, from 1.",
        },
        {
            "name": "after",
            "in": "query",
            "schema": {"type": "string"},
            "description": "Cursor mode: the `next_cursor` of the previous page.",
        },
        {
            "name": "cursor",
            "in": "query",
            "schema": {"type": "string"},
            "description": "Alias of `after`.",
        },
        {
            "name": "direction",
            "in": "query",
            "schema": {"type": "string", "enum": ["ASC", "DESC"], "default": "ASC"},
        },
    ]
    if model is None:
        return params
    info = model_info(model)
    names = [c.name for c in info.columns.values()]
    params.append(
        {
            "name": "sort",
            "in": "query",
            "schema": {"type": "string", "enum": names},
            "description": "Field to sort on (the primary key breaks ties).",
        }
    )
    for col in info.columns.values():
        base = _scalar_schema(col.python_type)
        for op in FilterOp:
            if op in (FilterOp.LIKE, FilterOp.ILIKE) and col.python_type is not str:
                continue
            if op in (FilterOp.GT, FilterOp.GTE, FilterOp.LT, FilterOp.LTE) and col.python_type in (
                bool,
                str,
            ):
                continue
            if op is FilterOp.IS_NULL:
                schema: dict[str, Any] = {"type": "boolean"}
            elif op is FilterOp.IN:
                schema = {"type": "string", "description": "comma-separated values"}
            else:
                schema = dict(base)
            params.append({"name": f"{col.name}__{op.value}", "in": "query", "schema": schema})
    return params


def _profile_fields(model: Any) -> list[tuple[str, tuple[str, ...]]]:
    """``(camelCase name, profiles)`` of each relation and projection of ``model``."""
    info = model_info(model)
    found = [(r.camel, r.decl.profiles) for r in info.relations.values()]
    return found + [(p.camel, p.decl.profiles) for p in info.projections.values()]


def _profile_help(route: CompiledRoute) -> str:
    parts = ["Read profile."]
    if route.model is not None:
        fields = _profile_fields(route.model)
        for profile in route.allowed_profiles:
            names = [name for name, profiles in fields if profile in profiles]
            if names:
                parts.append(f"`{profile}` adds {', '.join(f'`{n}`' for n in names)}.")
    return " ".join(parts)


def _describe_profiles(components: dict[str, Any], routes: Sequence[CompiledRoute]) -> None:
    """Say on each relation/projection property which profiles load it: under any
    other profile the property is absent from the response (not null)."""
    models = {r.model for r in routes if r.expose_profile and r.model is not None}
    for model in models:
        properties = components.get(model.__name__, {}).get("properties", {})
        for name, profiles in _profile_fields(model):
            prop = properties.get(name)
            if prop is not None:
                listed = ", ".join(f"`{p}`" for p in profiles)
                prop.setdefault("description", f"Present only with profile {listed}.")


def build_openapi(
    routes: Sequence[CompiledRoute],
    *,
    title: str,
    version: str,
    description: str | None = None,
    extra_paths: dict[str, Any] | None = None,
) -> dict[str, Any]:
    types: list[Any] = []
    index: dict[int, tuple[int | None, list[int] | None]] = {}

    def add(t: Any) -> int:
        types.append(t)
        return len(types) - 1

    def add_result(t: Any) -> list[int]:
        # msgspec cannot describe a union of untagged structs as one type (it could not
        # decode one either); each member gets its own schema and the route an anyOf.
        if typing.get_origin(t) in (typing.Union, types_mod.UnionType):
            return [add(member) for member in typing.get_args(t)]
        return [add(t)]

    for i, route in enumerate(routes):
        body = route.plan.codec.json_schema_type() if route.plan.codec is not None else None
        result = route.plan.result_type
        if result is Any or result is None:
            result = getattr(route.use_case, "result_type", Any)
        index[i] = (
            add(body) if body is not None else None,
            add_result(result) if result is not Any else None,
        )
    schemas, components = msgspec.json.schema_components(types, ref_template=REF)
    # Paths in declaration order (the route table itself is sorted for matching).
    order = sorted(range(len(routes)), key=lambda i: getattr(routes[i], "declared", i))
    components = dict(components)
    components["Problem"] = PROBLEM_SCHEMA
    _describe_profiles(components, routes)
    paths: dict[str, Any] = {}
    for i in order:
        route = routes[i]
        body_i, result_i = index[i]
        op: dict[str, Any] = {
            "operationId": route.operation_id,
            "summary": route.summary,
            "tags": list(route.tags),
            "parameters": [],
            "responses": {},
        }
        if route.description:
            op["description"] = route.description
        for name in route.path_param_types:
            op["parameters"].append(
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": _scalar_schema(route.path_param_types[name]),
                }
            )
        if route.is_list:
            op["parameters"] += _list_parameters(route)
        if route.expose_profile:
            op["parameters"].append(
                {
                    "name": "profile",
                    "in": "query",
                    "schema": {
                        "type": "string",
                        "enum": list(route.allowed_profiles),
                        "default": route.profile_default,
                    },
                    "description": _profile_help(route),
                }
            )
        if body_i is not None:
            codec = route.plan.codec
            required = any(
                f.required
                for f in msgspec.structs.fields(codec.input_type)  # type: ignore[union-attr]
            )
            op["requestBody"] = {
                "required": required,
                "content": {"application/json": {"schema": schemas[body_i]}},
            }
        success: dict[str, Any] = {"description": "Success"}
        if result_i is None:
            result_schema: dict[str, Any] = {}
        elif len(result_i) == 1:
            result_schema = schemas[result_i[0]]
        else:
            result_schema = {"anyOf": [schemas[j] for j in result_i]}
        success["content"] = {"application/json": {"schema": result_schema}}
        op["responses"][str(route.status_code)] = success
        for code, text in _ERRORS.items():
            if code == "415" and body_i is None:
                continue
            op["responses"][code] = {
                "description": text,
                "content": {
                    "application/problem+json": {"schema": {"$ref": REF.format(name="Problem")}}
                },
            }
        op["responses"]["405"] = {
            "description": "Method not allowed",
            "content": {
                "application/problem+json": {"schema": {"$ref": REF.format(name="Problem")}}
            },
        }
        paths.setdefault(route.path, {})[route.method.lower()] = op
    for path, item in (extra_paths or {}).items():
        paths.setdefault(path, {}).update(item)
    info: dict[str, Any] = {"title": title, "version": version}
    if description:
        info["description"] = description
    return {
        "openapi": "3.1.0",
        "info": info,
        "paths": paths,
        "components": {"schemas": components},
    }
