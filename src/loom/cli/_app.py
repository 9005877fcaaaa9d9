"""The ASGI application factory ``loom run --reload`` hands to uvicorn.

Reloading re-imports the application in a fresh process, so uvicorn needs an import
string rather than an app object; the config paths travel in ``$LOOM_CONFIG``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

CONFIG_ENV = "LOOM_CONFIG"


def create() -> Any:
    from loom.rest.fastapi.auto import create_app

    paths = [p for p in os.environ.get(CONFIG_ENV, "").split(os.pathsep) if p]
    app = create_app(*paths)
    silence_access_log()
    return app


def silence_access_log() -> None:
    """Loom logs each request itself; uvicorn's access log would say it twice.

    ``access_log=False`` is not enough on its own when the app configures logging
    after uvicorn did (the reloader's worker process builds the app late).
    """
    access = logging.getLogger("uvicorn.access")
    access.handlers = []
    access.propagate = False
