"""Opaque, tamper-evident keyset cursor tokens.

A token carries the sort key of the last row of a page plus a signature of the query
it belongs to, sealed with an HMAC. A token that was edited, truncated, or replayed
against another sort order or filter set is rejected as a 422, never decoded into a
query.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import msgspec

from loom.core.errors import ValidationError

__all__ = ["CursorCodec", "query_signature"]

_MAC_LEN = 16


def query_signature(*parts: Any) -> str:
    raw = msgspec.json.encode([repr(p) for p in parts])
    return hashlib.blake2s(raw, digest_size=8).hexdigest()


class CursorCodec:
    __slots__ = ("_key",)

    def __init__(self, secret: str | bytes) -> None:
        key = secret.encode() if isinstance(secret, str) else secret
        self._key = hashlib.sha256(b"loom-cursor:" + key).digest()

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC_LEN]

    def encode(self, signature: str, values: list[Any]) -> str:
        payload = msgspec.json.encode([signature, values])
        return base64.urlsafe_b64encode(payload + self._mac(payload)).rstrip(b"=").decode()

    def decode(self, token: str, signature: str) -> list[Any]:
        invalid = ValidationError.single("after", "invalid or expired cursor")
        if not token or len(token) > 4096:
            raise invalid
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, TypeError):
            raise invalid from None
        if len(raw) <= _MAC_LEN:
            raise invalid
        payload, mac = raw[:-_MAC_LEN], raw[-_MAC_LEN:]
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise invalid
        try:
            sig, values = msgspec.json.decode(payload)
        except (msgspec.DecodeError, ValueError, TypeError):
            raise invalid from None
        if sig != signature or not isinstance(values, list):
            raise ValidationError.single(
                "after", "cursor does not belong to this query (sort or filters changed)"
            )
        return values
