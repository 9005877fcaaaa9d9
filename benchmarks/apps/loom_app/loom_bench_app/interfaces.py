"""REST: auto-CRUD on records plus the pricing preview, boards by id, and a ping route."""

from __future__ import annotations

from loom_bench_app.models import Board, Record
from loom_bench_app.use_cases import PingUseCase, PricingPreviewUseCase

from loom.rest.autocrud import build_auto_routes
from loom.rest.model import PaginationMode, RestInterface, RestRoute


class RecordRestInterface(RestInterface[Record]):
    prefix = "/records"
    tags = ("Records",)
    pagination_mode = PaginationMode.OFFSET
    profile_default = "default"
    allowed_profiles = ("default", "with_details")
    expose_profile = True
    routes = (
        RestRoute(
            use_case=PricingPreviewUseCase,
            method="POST",
            path="/pricing-preview",
            summary="Preview the price of an order line",
            status_code=200,
        ),
        *build_auto_routes(Record, ("get", "list", "create", "update")),
    )


class BoardRestInterface(RestInterface[Board]):
    prefix = "/boards"
    tags = ("Boards",)
    routes = build_auto_routes(Board, ("get",))


class HealthRestInterface(RestInterface[Record]):
    prefix = "/health"
    tags = ("Health",)
    auto = False
    routes = (RestRoute(use_case=PingUseCase, method="GET", path="/ping", summary="Ping"),)
