from loom.core.command import Command, Patch
from loom.core.errors import NotFound
from loom.core.repository.abc.query import (
    CursorResult,
    FilterGroup,
    FilterOp,
    FilterSpec,
    PageResult,
    QuerySpec,
)
from loom.core.use_case import Exists, Input, OnMissing
from loom.core.use_case.use_case import UseCase

from app.address.model import Address
from app.user.model import User


class CreateUserAddress(Command, frozen=True):
    label: str
    street: str
    city: str
    country: str
    zip_code: str


class CreateAddressRecord(Command, frozen=True):
    user_id: int
    label: str
    street: str
    city: str
    country: str
    zip_code: str


class UpdateAddress(Command, frozen=True):
    label: Patch[str] = None
    street: Patch[str] = None
    city: Patch[str] = None
    country: Patch[str] = None
    zip_code: Patch[str] = None


class CreateAddressUseCase(UseCase[Address, Address]):
    async def execute(
        self,
        user_id: int,
        cmd: CreateUserAddress = Input(),
        _user_exists: bool = Exists(
            User, from_param="user_id", against="id", on_missing=OnMissing.RAISE
        ),
    ) -> Address:
        payload = CreateAddressRecord(user_id=user_id, **cmd.__dict__)
        return await self.main_repo.create(payload)


class ListAddressesUseCase(UseCase[Address, PageResult[Address] | CursorResult[Address]]):
    async def execute(
        self,
        user_id: int,
        query: QuerySpec,
        profile: str = "default",
        _user_exists: bool = Exists(
            User, from_param="user_id", against="id", on_missing=OnMissing.RAISE
        ),
    ) -> PageResult[Address] | CursorResult[Address]:
        scoped_query = QuerySpec(
            filters=FilterGroup(
                filters=(FilterSpec(field="user_id", op=FilterOp.EQ, value=user_id),),
                groups=(query.filters,) if query.filters else (),
            ),
            sort=query.sort,
            pagination=query.pagination,
            limit=query.limit,
            page=query.page,
            cursor=query.cursor,
        )
        return await self.main_repo.list_with_query(scoped_query, profile=profile)


async def _owned(repo: object, user_id: int, address_id: int) -> Address:
    """The address, only when it belongs to ``user_id``: another owner's row is a 404."""
    address = await repo.get_by_id(address_id)  # type: ignore[attr-defined]
    if address is None or address.user_id != user_id:
        raise NotFound(model="Address", id=address_id)
    return address  # type: ignore[no-any-return]


class GetAddressUseCase(UseCase[Address, Address]):
    async def execute(self, user_id: int, address_id: int) -> Address:
        return await _owned(self.main_repo, user_id, address_id)


class UpdateAddressUseCase(UseCase[Address, Address]):
    async def execute(self, user_id: int, address_id: int, cmd: UpdateAddress = Input()) -> Address:
        await _owned(self.main_repo, user_id, address_id)
        updated = await self.main_repo.update(address_id, cmd)
        if updated is None:
            raise NotFound(model="Address", id=address_id)
        return updated


class DeleteAddressUseCase(UseCase[Address, bool]):
    async def execute(self, user_id: int, address_id: int) -> bool:
        await _owned(self.main_repo, user_id, address_id)
        return await self.main_repo.delete(address_id)
