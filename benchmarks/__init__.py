"""Loom's benchmark suite: Loom vs hand-written FastAPI vs a raw asyncpg floor.

Run it with ``make bench`` (``make bench ARGS=--quick`` for a short pass); see README.md.
"""
