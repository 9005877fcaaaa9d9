"""Alembic migrations generated from a Loom application's models.

``loom db revision/upgrade/downgrade/current`` drive these functions; they can also
be called from Python. The migrations folder is the config key ``database.migrations``
(default ``migrations``), relative to the project: the config file's folder, or its
parent when that folder is called ``config`` (the usual ``config/`` + ``src/``
layout, where ``migrations/`` sits beside ``config/``). The first
``revision`` creates the folder from the templates shipped in this package.

Alembic runs the folder's ``env.py``, which calls :func:`config_for_env` to get the
application config and :func:`target_metadata` to get the tables of the models that
discovery finds, so autogenerate compares the database with exactly what the models
declare.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from loom.core.config.loader import ConfigError, load_config
from loom.core.config.settings import settings_of

__all__ = [
    "MIGRATIONS_KEY",
    "MigrationError",
    "alembic_config",
    "config_for_env",
    "current",
    "database_url",
    "downgrade",
    "history",
    "migrations_dir",
    "render_item",
    "revision",
    "run_on_connection",
    "target_metadata",
    "upgrade",
]

MIGRATIONS_KEY = "database.migrations"
CONFIG_ENV = "LOOM_CONFIG"
"""For plain ``alembic`` runs: config file path(s), separated by ``os.pathsep``."""

TEMPLATE_DIR = Path(__file__).parent / "template"


class MigrationError(Exception):
    """A migration command failed; ``str(err)`` is one line for the terminal."""


def _project_dir(cfg: Any) -> Path:
    config_dir = Path(settings_of(cfg).app.config_dir or ".").resolve()
    return config_dir.parent if config_dir.name == "config" else config_dir


def migrations_dir(cfg: Any) -> Path:
    """Where this application's migrations live (the folder may not exist yet)."""
    settings = settings_of(cfg)
    raw = Path(settings.database.migrations or "migrations").expanduser()
    if raw.is_absolute():
        return raw
    config_dir = Path(settings.app.config_dir or ".").resolve()
    for candidate in (config_dir / raw, config_dir.parent / raw):
        if (candidate / "env.py").is_file():
            return candidate.resolve()
    return (_project_dir(cfg) / raw).resolve()


def database_url(cfg: Any) -> str:
    """``database.url``, the same database the application uses."""
    return settings_of(cfg).database.url


def _init_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("env.py", "script.py.mako", "README"):
        target = folder / name
        if not target.exists():
            shutil.copyfile(TEMPLATE_DIR / name, target)
    (folder / "versions").mkdir(exist_ok=True)


def alembic_config(cfg: Any, *, create: bool = False) -> Any:
    """An Alembic ``Config`` for the application, without any ``alembic.ini``.

    The loaded Loom config travels in ``config.attributes["loom_config"]`` so
    ``env.py`` does not read the YAML a second time. ``create=True`` makes the folder
    from the package templates when it does not exist yet.
    """
    try:
        from alembic.config import Config
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise MigrationError("Alembic is not installed: pip install 'loom[migrations]'") from None
    folder = migrations_dir(cfg)
    if not (folder / "env.py").is_file():
        if not create:
            raise MigrationError(
                f"no migrations folder at {folder} (key {MIGRATIONS_KEY!r}); "
                "create the first one with: loom db revision CONFIG -m 'initial' --autogenerate"
            )
        _init_folder(folder)
    config = Config()
    config.set_main_option("script_location", str(folder))
    config.set_main_option("version_locations", str(folder / "versions"))
    config.set_main_option("path_separator", "os")
    config.set_main_option("sqlalchemy.url", database_url(cfg).replace("%", "%%"))
    config.attributes["loom_config"] = cfg
    return config


def config_for_env(alembic_cfg: Any) -> Any:
    """The Loom config inside ``env.py``.

    ``loom db`` passes it in ``attributes``; a plain ``alembic`` run names the files in
    the ``loom_config`` option of ``alembic.ini`` or in ``$LOOM_CONFIG``.
    """
    cfg = alembic_cfg.attributes.get("loom_config")
    if cfg is not None:
        return cfg
    raw = alembic_cfg.get_main_option("loom_config") or os.environ.get(CONFIG_ENV)
    if not raw:
        raise ConfigError(
            "env.py needs the application config: run it through `loom db ...`, "
            f"or set {CONFIG_ENV} (or loom_config in alembic.ini) to the config file(s)"
        )
    # alembic.ini paths are relative to the ini file, $LOOM_CONFIG ones to the cwd.
    from_ini = bool(alembic_cfg.get_main_option("loom_config"))
    base = Path(alembic_cfg.config_file_name or ".").resolve().parent if from_ini else Path.cwd()
    return load_config(*(base / p for p in raw.split(os.pathsep) if p))


def target_metadata(cfg: Any) -> sa.MetaData:
    """A ``MetaData`` holding the tables of the application's models and Loom's own.

    Other models imported into the same process (tests, scripts) are left out, so
    autogenerate never proposes tables the application does not declare.
    """
    from loom.core.discovery import discover
    from loom.core.repository.sqlalchemy import metadata as shared
    from loom.core.repository.sqlalchemy import table_for
    from loom.core.repository.sqlalchemy._idempotency import idempotency_table
    from loom.core.repository.sqlalchemy._jobs import jobs_table

    components = discover(cfg)
    tables = [table_for(model) for model in components.models]
    naming: Any = shared.naming_convention
    target = sa.MetaData(naming_convention=naming)
    for table in sorted(tables, key=lambda t: t.name):
        table.to_metadata(target)
    # Loom's own tables (the job outbox, stored idempotent responses) belong to every
    # application's schema: with create_tables off, migrations are what creates them.
    jobs_table(target)
    idempotency_table(target)
    return target


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render Loom's column types with plain SQLAlchemy ones in migration files.

    ``UTCDateTime`` converts values in Python; the column itself is a timezone-aware
    ``DateTime``, and migration files should not import Loom's internals.
    """
    from loom.core.repository.sqlalchemy import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, sa.JSON) and getattr(obj, "_variant_mapping", None):
        # Alembic renders the variant's arguments without the ``sa.`` prefix when the
        # migration is generated on another dialect (NameError: Text); spell it out.
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return 'sa.JSON().with_variant(postgresql.JSONB(), "postgresql")'
    return False


def _run(action: Callable[[], Any]) -> Any:
    from alembic.util import CommandError

    try:
        return action()
    except CommandError as exc:
        raise MigrationError(str(exc).strip().splitlines()[0]) from None
    except sa.exc.SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None) or exc
        first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
        raise MigrationError(f"database error: {type(orig).__name__}: {first}") from None
    except OSError as exc:
        raise MigrationError(f"cannot reach the database: {exc}") from None


def revision(cfg: Any, message: str, *, autogenerate: bool = False) -> list[Path]:
    """Write a new revision (compared with the database when ``autogenerate``)."""
    from alembic import command

    config = alembic_config(cfg, create=True)
    result = _run(lambda: command.revision(config, message=message, autogenerate=autogenerate))
    scripts = result if isinstance(result, list) else [result]
    paths = [Path(s.path) for s in scripts if s is not None]
    _format(paths)
    return paths


def _format(paths: list[Path]) -> None:
    """Run ``ruff format`` on new revisions when ruff is installed (it is optional).

    Alembic writes long lines and single quotes; formatted files pass the
    project's own lint without a manual step.
    """
    import subprocess

    beside = Path(sys.executable).with_name("ruff")
    ruff = str(beside) if beside.is_file() else shutil.which("ruff")
    if ruff is None or not paths:
        return
    subprocess.run(
        [ruff, "format", "--quiet", *map(str, paths)],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def upgrade(cfg: Any, target: str = "head") -> None:
    from alembic import command

    config = alembic_config(cfg)
    _run(lambda: command.upgrade(config, target))


def downgrade(cfg: Any, target: str = "-1") -> None:
    from alembic import command

    config = alembic_config(cfg)
    _run(lambda: command.downgrade(config, target))


def current(cfg: Any) -> list[str]:
    """The revision ids the database is at (empty when it has none applied)."""
    alembic_config(cfg)  # fails clearly when there is no migrations folder

    def read() -> list[str]:
        from alembic.runtime.migration import MigrationContext

        heads = run_on_connection(
            database_url(cfg), lambda conn: MigrationContext.configure(conn).get_current_heads()
        )
        return list(heads)

    heads: list[str] = _run(read)
    return heads


def history(cfg: Any) -> list[tuple[str, str | None, str]]:
    """``(revision, down_revision, message)`` from base to head."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(cfg))
    out: list[tuple[str, str | None, str]] = []
    for rev in reversed(list(script.walk_revisions())):
        down = rev.down_revision
        if down is not None and not isinstance(down, str):
            down = ",".join(down)
        out.append((rev.revision, down, rev.doc or ""))
    return out


def run_on_connection(raw_url: str, fn: Callable[[sa.Connection], Any]) -> Any:
    """Run ``fn`` on a sync connection, through an async engine when the URL is async.

    Alembic's operations are synchronous; with ``sqlite+aiosqlite`` or
    ``postgresql+asyncpg`` they run inside ``AsyncConnection.run_sync``, so the
    application's own URL works unchanged. Must be called outside an event loop.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    url = make_url(raw_url)
    if not url.get_dialect().is_async:
        engine = sa.create_engine(url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                return fn(conn)
        finally:
            engine.dispose()

    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    async def go() -> Any:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(fn)
        finally:
            await engine.dispose()

    return asyncio.run(go())
