"""Celery entry point: ``celery -A app.worker_main:celery_app worker``."""

from loom.celery.auto import create_app

celery_app = create_app("config/worker.yaml")
