import re

from loom.core.command import Command, Patch
from loom.core.errors import NotFound
from loom.core.use_case import Exists, F, Input, LoadById, Rule
from loom.core.use_case.use_case import UseCase

from app.user.model import User

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def invalid_email(email: str | None) -> str | None:
    if email is None or not _EMAIL.match(email):
        return "must be a valid email address"
    return None


def blank_name(name: str | None) -> str | None:
    if name is None or not name.strip():
        return "must not be blank"
    return None


def email_taken(cmd: Command, fields_set: frozenset[str], taken: bool) -> bool:
    return bool(taken)


class CreateUser(Command, frozen=True):
    full_name: str
    email: str


class UpdateUser(Command, frozen=True):
    full_name: Patch[str] = None
    email: Patch[str] = None


class CreateUserUseCase(UseCase[User, User]):
    """Register a user; the email must be valid and not registered yet."""

    rules = (
        Rule.check(F(CreateUser).email, via=invalid_email),
        Rule.check(F(CreateUser).full_name, via=blank_name),
        Rule.forbid(email_taken, message="email is already registered")
        .from_params("email_taken")
        .when_present(F(CreateUser).email),
    )

    async def execute(
        self,
        cmd: CreateUser = Input(),
        email_taken: bool = Exists(User, from_command="email", against="email"),
    ) -> User:
        return await self.main_repo.create(cmd)


def email_taken_by_another(
    cmd: UpdateUser, fields_set: frozenset[str], taken: bool, user: User
) -> bool:
    return bool(taken) and cmd.email != user.email


class UpdateUserUseCase(UseCase[User, User]):
    """Change a user's name or email (only the fields sent)."""

    rules = (
        Rule.check(F(UpdateUser).email, via=invalid_email).when_present(F(UpdateUser).email),
        Rule.check(F(UpdateUser).full_name, via=blank_name).when_present(F(UpdateUser).full_name),
        Rule.forbid(email_taken_by_another, message="email is already registered")
        .from_params("email_taken", "user")
        .when_present(F(UpdateUser).email),
    )

    async def execute(
        self,
        user_id: int,
        cmd: UpdateUser = Input(),
        user: User = LoadById(User, by="user_id"),
        email_taken: bool = Exists(User, from_command="email", against="email"),
    ) -> User:
        updated = await self.main_repo.update(user_id, cmd)
        if updated is None:
            raise NotFound(model="User", id=user_id)
        return updated
