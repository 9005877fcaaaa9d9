"""Interfaces written the 0.2 way (tables prefixed ``rt_``), served through ``create_app``.

``auto = True`` with and without declared routes, collection routes declared with a
trailing slash, pagination settings cascading route -> interface -> defaults.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient

from loom.core.model import BaseModel, ColumnField
from loom.core.repository.abc.query import CursorResult, PageResult, QuerySpec
from loom.core.use_case.use_case import UseCase
from loom.rest.autocrud import build_auto_routes
from loom.rest.fastapi.auto import create_app
from loom.rest.model import PaginationMode, RestInterface, RestRoute


class RtGadget(BaseModel):
    __tablename__ = "rt_gadgets"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=40)
    stock: int = ColumnField(default=0)


class GetGadgetNameUseCase(UseCase[RtGadget, str]):
    async def execute(self, id: int) -> str:
        gadget = await self.main_repo.get_by_id(id)
        return "" if gadget is None else str(gadget.name)


class ListLowStockGadgetsUseCase(UseCase[RtGadget, PageResult[RtGadget] | CursorResult[RtGadget]]):
    async def execute(self, query: QuerySpec) -> PageResult[RtGadget] | CursorResult[RtGadget]:
        return await self.main_repo.list_with_query(query)


class RtAutoInterface(RestInterface[RtGadget]):
    """No routes listed: the five auto-CRUD routes."""

    prefix = "/auto-gadgets"
    auto = True


class RtDeclaredInterface(RestInterface[RtGadget]):
    """Routes listed: exactly those, ``auto`` notwithstanding (0.2)."""

    prefix = "/declared-gadgets"
    auto = True
    routes = (
        RestRoute(GetGadgetNameUseCase, "GET", "/{id}/name"),
        RestRoute(ListLowStockGadgetsUseCase, "GET", "/low-stock/"),
    )


class RtPagedInterface(RestInterface[RtGadget]):
    """Cursor pages only on the collection; ``/offset`` pins its own mode."""

    prefix = "/paged-gadgets"
    pagination_mode = PaginationMode.CURSOR
    allow_pagination_override = False
    routes = (
        *build_auto_routes(RtGadget, ("list",)),
        RestRoute(
            ListLowStockGadgetsUseCase,
            "GET",
            "/offset",
            pagination_mode=PaginationMode.OFFSET,
        ),
        RestRoute(
            ListLowStockGadgetsUseCase,
            "GET",
            "/either",
            allow_pagination_override=True,
        ),
    )


CONFIG = """\
app:
  name: route-table-tests
  discovery:
    mode: modules
    modules:
      include: [route_table_app]
{extra}database:
  url: {url}
"""


def write_config(directory: Path, extra: str = "") -> Path:
    path = directory / "api.yaml"
    url = f"sqlite+aiosqlite:///{directory / 'route_table.db'}"
    path.write_text(CONFIG.format(url=url, extra=extra))
    return path


@contextmanager
def open_client(directory: Path, extra: str = "") -> Iterator[TestClient]:
    """The app, started, with a client that never follows a redirect."""
    app = create_app(write_config(directory, extra))
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client
