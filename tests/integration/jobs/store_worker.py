"""The Celery app the integration tests start workers on (``-A store_worker:celery_app``).

The config files come from ``LOOM_TEST_WORKER_CONFIGS`` (os.pathsep-separated):
the store's ``config/worker.yaml`` plus the test overrides.
"""

import os

from loom.celery.auto import create_app

celery_app = create_app(*os.environ["LOOM_TEST_WORKER_CONFIGS"].split(os.pathsep))
