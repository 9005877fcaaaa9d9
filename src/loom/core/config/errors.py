"""The config error type, importable on its own (``loom.core.config.errors``) so code
that only catches it need not load OmegaConf."""

from __future__ import annotations

__all__ = ["ConfigError"]


class ConfigError(Exception):
    """A config problem; ``str(err)`` is one line naming the file and the key."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.key = key
