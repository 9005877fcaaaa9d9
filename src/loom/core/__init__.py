"""Framework-agnostic core: models, commands, use cases, repositories, jobs, config.

Nothing in this package imports FastAPI, Celery or SQLAlchemy; adapters depend on it.
"""
