"""REST: interface declarations (``model``), auto-CRUD (``autocrud``), the query
grammar, the route table and OpenAPI, independent of the web framework. The
Starlette-level parts that serve a request (dispatcher, router, idempotency,
observability) live in ``loom.rest.asgi``, the FastAPI shell around them in
``loom.rest.fastapi`` (importing ``loom.rest`` does not import FastAPI)."""

from loom.rest.autocrud import build_auto_routes
from loom.rest.model import PaginationMode, RestApiDefaults, RestInterface, RestRoute

__all__ = [
    "PaginationMode",
    "RestApiDefaults",
    "RestInterface",
    "RestRoute",
    "build_auto_routes",
]
