"""Celery adapter: ``loom.celery.auto.create_app(*config_paths)`` builds the worker.

See :mod:`loom.celery.backend` for the delivery guarantees (outbox relay, late
acknowledgement, at-least-once).
"""
