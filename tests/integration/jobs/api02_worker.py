"""A worker app built the 0.2 way: ``loom.celery.create_app(*paths, jobs=, callbacks=)``.

Same configs as ``store_worker``; the extra jobs and callback are not in the manifest.
They import the store's models, so the store's code path goes on ``sys.path`` before
the config (which would add it) is read.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples" / "store" / "src"))

from ij_api02_jobs import AddStockJob, ContextCallback, EchoJob, GroupCallback

from loom.celery import create_app

celery_app = create_app(
    *os.environ["LOOM_TEST_WORKER_CONFIGS"].split(os.pathsep),
    jobs=[AddStockJob, EchoJob],
    callbacks=[ContextCallback, GroupCallback],
)
