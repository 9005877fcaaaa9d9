"""What the hand-written and floor apps share: the pricing arithmetic and cursor tokens.

Loom's app declares the same arithmetic as ``Compute`` steps; keep them in step.
"""

from __future__ import annotations

import base64
import json
import re

COUPON_RE = re.compile(r"^[A-Z0-9]{4,16}$")
MAX_TOTAL_CENTS = 10**12


def coupon_bonus_pct(coupon_code: str | None) -> int:
    """A ``SAVE...`` coupon takes five more percent off."""
    return 5 if coupon_code and coupon_code.startswith("SAVE") else 0


def pricing(
    quantity: int, unit_price_cents: int, discount_pct: int, tax_rate_pct: int, coupon: str | None
) -> dict[str, int]:
    subtotal = quantity * unit_price_cents
    discount = subtotal * (discount_pct + coupon_bonus_pct(coupon)) // 100
    tax = (subtotal - discount) * tax_rate_pct // 100
    return {
        "quantity": quantity,
        "unitPriceCents": unit_price_cents,
        "subtotalCents": subtotal,
        "discountCents": discount,
        "taxCents": tax,
        "totalCents": subtotal - discount + tax,
    }


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([last_id]).encode()).rstrip(b"=").decode()


def decode_cursor(token: str) -> int | None:
    """The id a token continues after, or None for a malformed token."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        (value,) = json.loads(raw)
    except (ValueError, TypeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
