"""``MsgspecSerializer``: an aiocache serializer that keeps msgspec structs exact.

aiocache's JSON and pickle serializers either lose types (a datetime comes back as a
string, a model as a dict) or are slow and unsafe to load from a shared Redis. This
one writes MessagePack with msgspec and, given a ``type``, decodes straight back into
it (models, pages, anything msgspec can describe) in one pass::

    Cache(Cache.REDIS, serializer=MsgspecSerializer())
    # or in YAML: serializer: {class: loom.core.cache.serializer.MsgspecSerializer}

The repository cache passes a typed decoder per call (``loads_fn``), so one cache
instance serves every model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from aiocache.serializers import BaseSerializer

__all__ = ["MsgspecSerializer"]


class MsgspecSerializer(BaseSerializer):
    """MessagePack via msgspec; ``type`` (default: plain builtins) is what ``loads`` returns."""

    DEFAULT_ENCODING = None
    """Values are bytes: backends must not try to decode them as text."""

    def __init__(self, *args: Any, type: Any = Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder: msgspec.msgpack.Decoder[Any] = msgspec.msgpack.Decoder(type)

    def dumps(self, value: Any) -> bytes:
        return self._encoder.encode(value)

    def loads(self, value: bytes | None) -> Any:
        if value is None:
            return None
        return self._decoder.decode(value)

    @staticmethod
    def decoder_for(type: Any) -> Callable[[bytes | None], Any]:
        """A ``loads_fn`` decoding into ``type`` (``None`` for a missing key)."""
        decoder: msgspec.msgpack.Decoder[Any] = msgspec.msgpack.Decoder(type)

        def loads(value: bytes | None) -> Any:
            if value is None:
                return None
            return decoder.decode(value)

        return loads
