"""A small application (tables prefixed ``scl_``) for the pool, PgBouncer and
many-process tests: auto-CRUD with offset and cursor lists."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from loom.core.model import BaseModel, ColumnField
from loom.core.use_case.use_case import UseCase
from loom.rest.autocrud import build_auto_routes
from loom.rest.fastapi.auto import create_app
from loom.rest.model import RestInterface, RestRoute


class SclItem(BaseModel):
    __tablename__ = "scl_items"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=80)
    qty: int = ColumnField()


class Restock(UseCase[SclItem, SclItem]):
    """Reads, waits on something else (another service, say) with its transaction
    open, then writes: a request that holds its connection for a few milliseconds,
    so concurrent requests need more connections than ``pool_size``."""

    async def execute(self, item_id: int) -> SclItem:
        item = await self.main_repo.get_by_id(item_id)
        await asyncio.sleep(0.005)
        return await self.main_repo.update(item_id, {"qty": item.qty + 1})  # type: ignore[no-any-return]


class SlowRead(UseCase[SclItem, SclItem]):
    """A request still in flight when the server is told to stop."""

    async def execute(self, item_id: int) -> SclItem:
        await asyncio.sleep(1.5)
        return await self.main_repo.get_by_id(item_id)  # type: ignore[no-any-return]


class SclItemInterface(RestInterface[SclItem]):
    prefix = "/items"
    routes = (
        RestRoute(use_case=Restock, method="POST", path="/{item_id}/restock"),
        RestRoute(use_case=SlowRead, method="GET", path="/{item_id}/slow"),
        *build_auto_routes(SclItem),
    )


CONFIG = """\
app:
  name: scaling-tests
  discovery:
    mode: modules
    modules:
      include: [scaling_app]
database:
  url: {url}
{extra}
"""


def write_config(directory: Path, url: str, extra: str = "") -> Path:
    path = directory / "api.yaml"
    path.write_text(CONFIG.format(url=url, extra=extra))
    return path


@asynccontextmanager
async def serve(config: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """The app started (lifespan) and an HTTP client calling it in this event loop."""
    app = create_app(config)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://loom") as client:
            yield client, app
