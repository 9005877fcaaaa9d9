"""Loom: declarative backend services on msgspec, SQLAlchemy, FastAPI and Celery."""

__version__ = "0.1.0"
