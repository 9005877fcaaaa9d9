"""The ASGI application factory ``loom run --reload`` hands to uvicorn.

Reloading re-imports the application in a fresh process, so uvicorn needs an import
string rather than an app object; the config paths travel in ``$LOOM_CONFIG``.
"""

from __future__ import annotations

import os
from typing import Any

CONFIG_ENV = "LOOM_CONFIG"


def create() -> Any:
    from loom.rest.fastapi.auto import create_app

    paths = [p for p in os.environ.get(CONFIG_ENV, "").split(os.pathsep) if p]
    return create_app(*paths)
