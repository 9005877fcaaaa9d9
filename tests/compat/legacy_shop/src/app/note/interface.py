from loom.core.repository.abc.query import PageResult
from loom.core.use_case.use_case import UseCase
from loom.rest.model import RestInterface, RestRoute

from app.user.model import Note


class ListNotesOfUserUseCase(UseCase[Note, PageResult[Note]]):
    async def execute(self, user_id: int) -> PageResult[Note]:
        from loom.core.repository.abc.query import (
            FilterGroup,
            FilterOp,
            FilterSpec,
            PaginationMode,
            QuerySpec,
        )

        query = QuerySpec(
            filters=FilterGroup(
                filters=(FilterSpec(field="user_id", op=FilterOp.EQ, value=user_id),)
            ),
            pagination=PaginationMode.OFFSET,
            limit=50,
            page=1,
        )
        return await self.main_repo.list_with_query(query)


class NoteRestInterface(RestInterface[Note]):
    # auto = True, but routes are declared: 0.2 exposes exactly these routes.
    prefix = "/notes"
    tags = ("Notes",)
    auto = True
    routes = (RestRoute(use_case=ListNotesOfUserUseCase, method="GET", path="/by-user/{user_id}"),)


class NoteAdminRestInterface(RestInterface[Note]):
    prefix = "/admin/notes"
    tags = ("Notes",)
    auto = True
    include = ("create", "get")
