"""Use-case keys: names under which ``ApplicationInvoker.invoke_name`` finds a use case.

Auto-CRUD use cases answer to ``"<model_snake>:<op>"`` (``"product_review:get"``);
any other use case gets a key with the :func:`use_case_key` decorator.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from loom.core.naming import to_snake

__all__ = ["KEY_PATTERN", "key_of", "model_entity_key", "registered_keys", "use_case_key"]

KEY_PATTERN = re.compile(r"^[a-z0-9_.:-]+$")
_KEY_ATTR = "__loom_use_case_key__"
_REGISTRY: dict[str, type] = {}

T = TypeVar("T", bound=type)


def model_entity_key(model: type) -> str:
    """``ProductReview`` -> ``"product_review"``."""
    return to_snake(model.__name__).lstrip("_")


def use_case_key(key: str) -> Callable[[T], T]:
    """Register the decorated use case under ``key`` (``^[a-z0-9_.:-]+$``)."""
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise ValueError(f"use case key {key!r} must match {KEY_PATTERN.pattern}")

    def decorate(cls: T) -> T:
        other = _REGISTRY.get(key)
        if other is not None and (other.__module__, other.__qualname__) != (
            cls.__module__,
            cls.__qualname__,
        ):
            raise ValueError(
                f"use case key {key!r} is already used by {other.__module__}.{other.__qualname__}"
            )
        setattr(cls, _KEY_ATTR, key)
        _REGISTRY[key] = cls
        return cls

    return decorate


def key_of(cls: type) -> str | None:
    """The key of a use case: its declared one, or ``"<model>:<op>"`` for auto-CRUD."""
    declared = cls.__dict__.get(_KEY_ATTR)
    if declared is not None:
        return str(declared)
    op = cls.__dict__.get("__loom_auto__")
    model: Any = getattr(cls, "model", None)
    if op is not None and model is not None:
        return f"{model_entity_key(model)}:{op}"
    return None


def registered_keys() -> dict[str, type]:
    """Every key declared with :func:`use_case_key` in this process."""
    return dict(_REGISTRY)
