"""Alembic environment of a Loom application (created by ``loom db revision``).

Run it through ``loom db upgrade CONFIG`` and friends, which hand over the loaded
application config. A plain ``alembic`` run works too when ``$LOOM_CONFIG`` (or
``loom_config`` in an ``alembic.ini``) names the config file(s).

The target metadata is built from the models that the application's discovery finds,
so ``--autogenerate`` compares the database with exactly what the models declare.
The database URL is the application's ``database.url``; async URLs
(``sqlite+aiosqlite``, ``postgresql+asyncpg``) run the migrations inside
``connection.run_sync``. Edit freely: this file belongs to the application.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy.engine import make_url

from loom.migrations import config_for_env, database_url, render_item, run_on_connection
from loom.migrations import target_metadata as build_target_metadata

cfg = config_for_env(context.config)
url = database_url(cfg)
target_metadata = build_target_metadata(cfg)

# SQLite cannot ALTER most things: batch mode recreates the table instead.
options: dict[str, Any] = {
    "target_metadata": target_metadata,
    "render_item": render_item,
    "render_as_batch": make_url(url).get_backend_name() == "sqlite",
    "compare_type": True,
}


def run_migrations_offline() -> None:
    """``--sql`` mode: write the SQL instead of running it."""
    context.configure(url=url, literal_binds=True, **options)
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Any) -> None:
    context.configure(connection=connection, **options)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    run_on_connection(url, do_run_migrations)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
