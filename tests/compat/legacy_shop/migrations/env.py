"""Alembic environment, written the 0.2 way: the metadata comes from the models that
discovery finds, compiled by ``loom.core.backend.sqlalchemy``; migrations run on a
synchronous psycopg URL derived from the app's async one."""

from __future__ import annotations

from logging.config import fileConfig

import msgspec
from alembic import context
from sqlalchemy import engine_from_config, pool

from loom.core.backend.sqlalchemy import compile_all, get_metadata, reset_registry
from loom.core.config.loader import load_config, section
from loom.core.discovery import ModulesDiscoveryEngine

MODEL_MODULES = [
    "app.user.model",
    "app.note.model",
    "app.product.model",
]


class DatabaseSettings(msgspec.Struct, kw_only=True):
    url: str
    echo: bool = False


config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)

cfg = load_config("config/api.yaml")
db = section(cfg, "database", DatabaseSettings)
sync_url = db.url.replace("+asyncpg", "+psycopg").replace("+aiosqlite", "")
config.set_main_option("sqlalchemy.url", sync_url)

models = ModulesDiscoveryEngine(MODEL_MODULES).discover().models
reset_registry()
compile_all(*models)
target_metadata = get_metadata()


def run_migrations_offline() -> None:
    context.configure(
        url=sync_url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
