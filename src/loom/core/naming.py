"""Name conversions shared by the wire format and the query grammar."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=4096)
def to_camel(name: str) -> str:
    """``full_name`` -> ``fullName``; leading underscores and single words are kept."""
    head, *rest = name.split("_")
    if not rest:
        return name
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@lru_cache(maxsize=4096)
def to_snake(name: str) -> str:
    """``fullName`` -> ``full_name``."""
    out: list[str] = []
    for ch in name:
        if ch.isupper():
            out.append("_")
            out.append(ch.lower())
        else:
            out.append(ch)
    return "".join(out)
