"""A custom repository registered with ``@repository_for`` (the examples page's shape)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from repo_support import ItrProduct, ItrProductRepo

from loom.core.command import Command
from loom.core.errors import ValidationError
from loom.core.repository.registry import registered_repositories
from loom.core.repository.sqlalchemy import RepositorySQLAlchemy, repository_for


class CreateItrProduct(Command, frozen=True):
    sku: str
    name: str
    price_cents: int


@repository_for(ItrProduct, contract=ItrProductRepo)
class ItrProductRepository(RepositorySQLAlchemy[ItrProduct, int]):
    async def create(self, data: msgspec.Struct) -> ItrProduct:  # type: ignore[override]
        payload = msgspec.to_builtins(data)
        payload["name"] = str(payload["name"]).strip()
        return await super().create(payload)

    async def get_by_sku(self, sku: str) -> ItrProduct | None:
        stmt = self._plan.select.where(self.table.c.sku == sku)
        row = (await self._run(stmt)).first()
        return self._plan.make(row) if row is not None else None


def test_registration_records_model_repository_and_contract() -> None:
    reg = registered_repositories()[ItrProduct]
    assert reg.repository is ItrProductRepository
    assert reg.contract is ItrProductRepo
    assert ItrProductRepository.model is ItrProduct


def test_repository_for_rejects_non_repository_classes() -> None:
    with pytest.raises(TypeError):
        repository_for(ItrProduct)(object)  # type: ignore[arg-type]


async def test_custom_create_passes_camel_case_builtins_to_super(database: Any) -> None:
    repo = ItrProductRepository(database)
    cmd = CreateItrProduct(sku="SKU-1", name="  Lamp  ", price_cents=1999)
    assert msgspec.to_builtins(cmd)["priceCents"] == 1999  # camelCase keys on the wire
    product = await repo.create(cmd)
    assert (product.sku, product.name, product.price_cents) == ("SKU-1", "Lamp", 1999)
    assert await repo.get_by_sku("SKU-1") == product
    assert await repo.get_by_sku("nope") is None
    assert await repo.get_by_id(product.id) == product


async def test_custom_create_still_validates(database: Any) -> None:
    repo = ItrProductRepository(database)
    with pytest.raises(ValidationError) as err:
        await repo.create(CreateItrProduct(sku="x" * 65, name="n", price_cents=1))
    assert err.value.errors[0].field == "sku"


async def test_table_is_compiled_with_declared_constraints(database: Any) -> None:
    table = ItrProductRepository(database).table
    assert isinstance(table.c.sku.type, sa.String) and table.c.sku.type.length == 64
    assert table.c.created_at.type.timezone is True
    assert list(table.c.keys())[-2:] == ["created_at", "updated_at"]
