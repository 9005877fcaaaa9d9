"""OpenAPI 3.1 for a route table, from the same msgspec types the routes decode and
encode, so the document cannot drift from what is really accepted and returned."""

from __future__ import annotations

import types as types_mod
import typing
from collections.abc import Sequence
from typing import Any

import msgspec

from loom.core.model import model_info
from loom.core.model._write import INT64_MAX, INT64_MIN
from loom.core.repository.abc.query import MAX_LIMIT, PaginationMode
from loom.rest.query import MAX_PAGE, NO_NUL, filter_ops, filter_schema, scalar_schema, sort_schema
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

_CURSOR_HELP = (
    "Cursor mode: the `next_cursor` of the previous page. Given without `pagination`, it "
    "pages by cursor. Anything but a `next_cursor` this list returned, or a cursor with "
    "`pagination=offset` or `page`, is a 422 naming this parameter."
)
_RULES_HELP = (
    "Validation failure (`code: validation_error`), or business rules the schema cannot "
    "express failed (`code: rule_violations`, every failed rule in `errors`)"
)

_MALFORMED_HELP = (
    "Malformed request; a request line or headers over the HTTP server's size limit "
    "(a very long query string) is refused by the server as plain text"
)

_ERRORS = {
    "400": "Malformed request",
    "404": "Not found",
    "409": "Conflict with existing data",
    "413": "Request body too large",
    "415": "Unsupported media type",
    "422": "Validation or rule failure",
    "503": "A backing service is unavailable",
}


_scalar_schema = scalar_schema


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
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
            "description": "Offset mode: page number, from 1.",
        },
        {
            "name": "after",
            "in": "query",
            "schema": {"type": "string"},
            "description": _CURSOR_HELP,
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
            "schema": {
                "type": "string",
                "enum": ["ASC", "DESC", "asc", "desc"],
                "default": "ASC",
            },
        },
    ]
    if model is None:
        return params
    info = model_info(model)
    params.append(
        {
            "name": "sort",
            "in": "query",
            "schema": sort_schema(info),
            "description": (
                "Fields to sort on, comma-separated; `-field` sorts that one descending "
                "(the primary key breaks ties)."
            ),
        }
    )
    for col in info.columns.values():
        for op in filter_ops(col):
            params.append(
                {"name": f"{col.name}__{op.value}", "in": "query", **filter_schema(col, op)}
            )
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
        body = None
        if route.plan.codec is not None:
            model = getattr(route.use_case, "model", None) or route.model
            if model is not None:
                # As the request path does at boot: the schema type then carries the
                # column lengths as maxLength, from the annotation the decoder checks.
                route.plan.codec.bind_columns(model_info(model))
            body = route.plan.codec.json_schema_type()
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
    keys: dict[str, str] = {}
    """Path without its trailing slash -> the form the document uses (first declared)."""
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
            assert codec is not None
            _document_aliases(components, schemas[body_i], codec.py_names)
            op["requestBody"] = {
                # The codec's own flag: without a body, an all-optional command is empty.
                "required": codec.body_required,
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
            if code == "422" and getattr(route.plan, "rules", None):
                text = _RULES_HELP
            op["responses"][code] = {
                "description": text,
                "content": {
                    "application/problem+json": {"schema": {"$ref": REF.format(name="Problem")}}
                },
            }
        # The HTTP server itself (uvicorn/h11) answers a request line or headers over its
        # size limit (a long query string) with a plain-text 400 before Loom sees it.
        op["responses"]["400"]["description"] = _MALFORMED_HELP
        op["responses"]["400"]["content"]["text/plain"] = {"schema": {"type": "string"}}
        op["responses"]["405"] = {
            "description": "Method not allowed",
            "content": {
                "application/problem+json": {"schema": {"$ref": REF.format(name="Problem")}}
            },
        }
        # One path item per URL: a route answers with and without its trailing slash,
        # so ``/orders`` (POST) and ``/orders/`` (GET) are one resource with both methods.
        paths.setdefault(keys.setdefault(_bare(route.path), route.path), {})[
            route.method.lower()
        ] = op
    _link_creates(routes, paths, keys)
    _bound_integers({k: v for k, v in components.items() if k != "Problem"})
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


def _bound_integers(node: Any) -> None:
    """Every integer of the document within int64, as the columns store them and the
    decoders enforce; bounds a type already declares are kept. Every free text without
    NUL, which the decoders refuse (PostgreSQL cannot store it)."""
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "integer" or (isinstance(kind, list) and "integer" in kind):
            if "minimum" not in node and "exclusiveMinimum" not in node:
                node["minimum"] = INT64_MIN
            if "maximum" not in node and "exclusiveMaximum" not in node:
                node["maximum"] = INT64_MAX
        if kind == "string" and not node.keys() & {"pattern", "format", "enum", "const"}:
            node["pattern"] = NO_NUL
        for value in node.values():
            _bound_integers(value)
    elif isinstance(node, list):
        for value in node:
            _bound_integers(value)


_ITEM_METHODS = ("GET", "PUT", "PATCH", "DELETE")


def _bare(path: str) -> str:
    return path.rstrip("/") or "/"


def _link_creates(
    routes: Sequence[CompiledRoute], paths: dict[str, Any], keys: dict[str, str]
) -> None:
    """OpenAPI links from each create (a 201 POST on a collection) to the operations on
    ``<collection>/{id}``: the new row's key from the response, the collection's own
    path parameters from the request. Stateful clients (and fuzzers) follow them."""
    by_path: dict[str, list[CompiledRoute]] = {}
    for route in routes:
        by_path.setdefault(route.path.rstrip("/"), []).append(route)
    for route in routes:
        if route.method != "POST" or route.status_code != 201:
            continue
        model = route.model or getattr(route.use_case, "model", None)
        if model is None:
            continue
        pk = model_info(model).pk
        key = pk.camel if pk is not None else "id"
        base = route.path.rstrip("/")
        links: dict[str, Any] = {}
        for path, targets in by_path.items():
            head, _, last = path.rpartition("/")
            if head != base or not (last.startswith("{") and last.endswith("}")):
                continue
            new_param = last[1:-1]
            for target in targets:
                if (
                    target.method not in ("GET", "PUT", "PATCH", "DELETE")
                    or not target.operation_id
                ):
                    continue
                parameters = {name: f"$request.path.{name}" for name in route.path_param_types}
                parameters[new_param] = f"$response.body#/{key}"
                links[target.operation_id] = {
                    "operationId": target.operation_id,
                    "parameters": parameters,
                }
        if links:
            op = paths.get(keys.get(_bare(route.path), route.path), {}).get("post")
            if op is not None:
                op["responses"]["201"]["links"] = links


def _document_aliases(
    components: dict[str, Any], schema: dict[str, Any], py_names: dict[str, str]
) -> None:
    """The body decoder takes each field by its wire name or its Python (snake_case)
    name: both are properties, and a required field needs one of the two."""
    ref = schema.get("$ref", "")
    target = components.get(ref.rsplit("/", 1)[-1], schema) if ref else schema
    properties = target.get("properties")
    if not properties or target.get("x-loom-aliases"):
        return
    target["x-loom-aliases"] = True  # a component shared by several routes: once
    renamed = {w: py for w, py in py_names.items() if py != w and w in properties}
    for wire, py in renamed.items():
        properties.setdefault(py, {**properties[wire], "description": f"Alias of `{wire}`."})
    required = target.get("required") or []
    either = [w for w in required if w in renamed]
    target["required"] = [w for w in required if w not in renamed]
    target.setdefault("allOf", []).extend(
        {"anyOf": [{"required": [w]}, {"required": [renamed[w]]}]} for w in either
    )
    # Never both names of one field (the decoder refuses that).
    target["allOf"].extend({"not": {"required": [w, py]}} for w, py in renamed.items())
    if not target["allOf"]:
        del target["allOf"]
