"""``loom.core.backend.sqlalchemy`` as an Alembic ``env.py`` of the 0.2 API uses it:
``reset_registry(); compile_all(*models); target_metadata = get_metadata()``."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateTable

    from loom.core.backend.sqlalchemy import (
        compile_all, get_compiled_core, get_metadata, reset_registry,
    )
    from loom.core.model import BaseModel, Cardinality, ColumnField, RelationField
    from loom.core.repository.sqlalchemy import table_for


    class BkOwner(BaseModel):
        __tablename__ = "bk_owners"
        id: int = ColumnField(primary_key=True, autoincrement=True)
        name: str = ColumnField(length=30)


    class BkPet(BaseModel):
        __tablename__ = "bk_pets"
        id: int = ColumnField(primary_key=True, autoincrement=True)
        owner_id: int = ColumnField(foreign_key="bk_owners.id")
        owner: BkOwner | None = RelationField(
            foreign_key="owner_id", cardinality=Cardinality.MANY_TO_ONE
        )


    class BkUnrelated(BaseModel):
        __tablename__ = "bk_unrelated"
        id: int = ColumnField(primary_key=True, autoincrement=True)


    reset_registry()
    compiled = compile_all(BkPet)
    target_metadata = get_metadata()
    # What the migration sees: the pet and the owner it references, nothing else.
    print(sorted(target_metadata.tables))
    # Exactly the tables the repositories use (same objects), after another reset too.
    reset_registry()
    assert compile_all(BkPet) == compiled
    assert target_metadata.tables["bk_pets"] is table_for(BkPet)
    ddl = str(CreateTable(table_for(BkPet)).compile(dialect=postgresql.dialect()))
    assert "FOREIGN KEY(owner_id) REFERENCES bk_owners (id)" in ddl, ddl
    core = get_compiled_core(BkPet)
    print(" ".join(str(core.select().where(core.ownerId == 1)).split()))
    """
)


def test_an_alembic_env_gets_exactly_the_models_tables() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    tables, select = done.stdout.strip().splitlines()
    assert tables == "['bk_owners', 'bk_pets']"
    assert select == (
        "SELECT bk_pets.id, bk_pets.owner_id FROM bk_pets WHERE bk_pets.owner_id = :owner_id_1"
    )
