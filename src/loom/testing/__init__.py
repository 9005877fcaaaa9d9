"""Test helpers for applications built on Loom."""

from loom.testing._memory import InMemoryRepository

__all__ = ["InMemoryRepository"]
