"""An application (tables prefixed ``rdb_``) served over HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient

from loom.core.command import Command
from loom.core.model import BaseModel, ColumnField, OnDelete
from loom.core.use_case import Exists, Input, OnMissing
from loom.core.use_case.invoker import ApplicationInvoker
from loom.core.use_case.use_case import UseCase
from loom.rest.autocrud import build_auto_routes
from loom.rest.fastapi.auto import create_app
from loom.rest.model import PaginationMode, RestInterface, RestRoute


class RdbTeam(BaseModel):
    __tablename__ = "rdb_teams"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    name: str = ColumnField(length=60, unique=True)


class RdbMember(BaseModel):
    __tablename__ = "rdb_members"

    id: int = ColumnField(primary_key=True, autoincrement=True)
    team_id: int = ColumnField(foreign_key="rdb_teams.id", on_delete=OnDelete.CASCADE, index=True)
    name: str = ColumnField(length=60)
    email: str = ColumnField(length=120, unique=True)
    age: int = ColumnField()
    nickname: str | None = ColumnField(length=60)


class NewMember(Command, frozen=True):
    name: str
    email: str
    age: int


class NewTeam(Command, frozen=True):
    name: str
    members: list[NewMember] = []


class CreateTeam(UseCase[RdbTeam, RdbTeam]):
    """The team and its members in one transaction: a bad member leaves nothing behind."""

    def __init__(self, app: ApplicationInvoker) -> None:
        self.app = app

    async def execute(self, cmd: NewTeam = Input()) -> RdbTeam:
        team = await self.main_repo.create({"name": cmd.name})
        members = self.app.entity(RdbMember)
        for m in cmd.members:
            await members.create(
                payload={"team_id": team.id, "name": m.name, "email": m.email, "age": m.age}
            )
        return team  # type: ignore[no-any-return]


class AddMember(UseCase[RdbMember, RdbMember]):
    async def execute(
        self,
        team_id: int,
        cmd: NewMember = Input(),
        _team: bool = Exists(RdbTeam, from_param="team_id", on_missing=OnMissing.RAISE),
    ) -> RdbMember:
        return await self.main_repo.create({"team_id": team_id, **cmd.__dict__})  # type: ignore[no-any-return]


class RdbTeamInterface(RestInterface[RdbTeam]):
    prefix = "/teams"
    routes = (
        RestRoute(use_case=CreateTeam, method="POST", path="", status_code=201),
        RestRoute(use_case=AddMember, method="POST", path="/{team_id}/members", status_code=201),
        *build_auto_routes(RdbTeam, ("get", "list", "delete")),
    )


class RdbMemberInterface(RestInterface[RdbMember]):
    prefix = "/members"
    auto = True
    pagination_mode = PaginationMode.CURSOR


CONFIG = """\
app:
  name: rest-db-tests
  discovery:
    mode: modules
    modules:
      include: [rest_db_app]
database:
  url: {url}
"""


@contextmanager
def open_client(directory: Path, url: str) -> Iterator[TestClient]:
    path = directory / "api.yaml"
    path.write_text(CONFIG.format(url=url))
    with TestClient(create_app(path), raise_server_exceptions=False) as client:
        yield client
