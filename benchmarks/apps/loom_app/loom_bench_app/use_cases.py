"""Custom use cases: a tiny ping and a compute-heavy pricing preview (no database)."""

from __future__ import annotations

import re
from collections.abc import Callable

from loom_bench_app.models import Record

from loom.core.command import Command, Computed
from loom.core.response import Response
from loom.core.use_case import Compute as C
from loom.core.use_case import F, Input, Rule
from loom.core.use_case.use_case import UseCase

COUPON_RE = re.compile(r"^[A-Z0-9]{4,16}$")
MAX_TOTAL_CENTS = 10**12


class PingResponse(Response):
    status: str


class PingUseCase(UseCase[Record, PingResponse]):
    async def execute(self) -> PingResponse:
        return PingResponse(status="ok")


class PricingPreviewCommand(Command):
    quantity: int
    unit_price_cents: int
    discount_pct: int = 0
    tax_rate_pct: int = 0
    coupon_code: str | None = None
    subtotal_cents: Computed[int] = 0
    discount_cents: Computed[int] = 0
    tax_cents: Computed[int] = 0
    total_cents: Computed[int] = 0


class PricingPreview(Response):
    quantity: int
    unit_price_cents: int
    subtotal_cents: int
    discount_cents: int
    tax_cents: int
    total_cents: int


P = F(PricingPreviewCommand)


def _discount(subtotal: int, pct: int, coupon: str | None) -> int:
    bonus = 5 if coupon and coupon.startswith("SAVE") else 0
    return subtotal * (pct + bonus) // 100


def _between(low: int, high: int, what: str) -> Callable[[int], str | None]:
    def check(value: int) -> str | None:
        return None if low <= value <= high else f"{what} must be between {low} and {high}"

    return check


def _coupon(value: str | None) -> str | None:
    if value is None or COUPON_RE.match(value):
        return None
    return "coupon codes are 4 to 16 capital letters or digits"


def _total(value: int) -> str | None:
    return None if value <= MAX_TOTAL_CENTS else "total too large"


class PricingPreviewUseCase(UseCase[Record, PricingPreview]):
    computes = (
        C.set(P.subtotal_cents).from_command(
            P.quantity, P.unit_price_cents, via=lambda q, u: q * u
        ),
        C.set(P.discount_cents).from_command(
            P.subtotal_cents, P.discount_pct, P.coupon_code, via=_discount
        ),
        C.set(P.tax_cents).from_command(
            P.subtotal_cents,
            P.discount_cents,
            P.tax_rate_pct,
            via=lambda s, d, t: (s - d) * t // 100,
        ),
        C.set(P.total_cents).from_command(
            P.subtotal_cents, P.discount_cents, P.tax_cents, via=lambda s, d, t: s - d + t
        ),
    )
    rules = (
        Rule.check(P.quantity, via=_between(1, 10_000, "quantity")),
        Rule.check(P.unit_price_cents, via=_between(0, 10_000_000, "unit price")),
        Rule.check(P.discount_pct, via=_between(0, 90, "discount")),
        Rule.check(P.tax_rate_pct, via=_between(0, 50, "tax rate")),
        Rule.check(P.coupon_code, via=_coupon).when_present(P.coupon_code),
        Rule.check(P.total_cents, via=_total),
    )

    async def execute(self, cmd: PricingPreviewCommand = Input()) -> PricingPreview:
        return PricingPreview(
            quantity=cmd.quantity,
            unit_price_cents=cmd.unit_price_cents,
            subtotal_cents=cmd.subtotal_cents,
            discount_cents=cmd.discount_cents,
            tax_cents=cmd.tax_cents,
            total_cents=cmd.total_cents,
        )
