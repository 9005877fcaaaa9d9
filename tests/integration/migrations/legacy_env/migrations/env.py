"""An Alembic environment written the 0.2 way: typed database section, models from
``ModulesDiscoveryEngine``, tables from ``loom.core.backend.sqlalchemy``, and a
synchronous psycopg URL derived from the application's async one."""

from __future__ import annotations

from logging.config import fileConfig

import msgspec
from alembic import context
from sqlalchemy import engine_from_config, pool

from loom.core.backend.sqlalchemy import compile_all, get_metadata, reset_registry
from loom.core.config.loader import load_config, section
from loom.core.discovery import ModulesDiscoveryEngine


class DatabaseSettings(msgspec.Struct, kw_only=True):
    url: str
    echo: bool = False


config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)

cfg = load_config("config/api.yaml")
db = section(cfg, "database", DatabaseSettings)
sync_url = db.url.replace("+asyncpg", "+psycopg")
config.set_main_option("sqlalchemy.url", sync_url)

models = ModulesDiscoveryEngine(["ctmig_app.models"]).discover().models
reset_registry()
compile_all(*models)
target_metadata = get_metadata()


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    # Only this application's tables (the process may know Loom's own as well).
    if type_ == "table":
        return name.startswith("ctmig_")
    return True


def run_migrations_online() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
