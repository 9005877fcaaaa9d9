"""The ``loom`` command line: serve, run workers, inspect and migrate an application.

Every command takes the application's config file (``config/api.yaml``) first;
``--config FILE`` adds more files, merged after it as ``create_app(*paths)`` does.
Problems with the config or with the declarations are reported as one line on
stderr, without a traceback (``--traceback`` shows it): exit code 2 for a config
problem (missing file, bad key, module that cannot be imported), 1 for a declaration
or runtime error. ``LOOM_TRACEBACK=1`` is the same as ``--traceback``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from loom.core.config.loader import ConfigError, load_config
from loom.core.config.settings import settings_of
from loom.core.use_case._plan import DeclarationError

__all__ = ["CliError", "main"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CONFIG = 2


class CliError(Exception):
    """A failure to report as one line; ``code`` is the process exit status."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


# -- output helpers --------------------------------------------------------------------


def _progress(message: str) -> None:
    """Progress goes to stderr so that stdout stays parseable (``loom routes | ...``)."""
    print(f"loom: {message}", file=sys.stderr, flush=True)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return first or type(exc).__name__


def _mask(url: str) -> str:
    """A URL fit for a terminal: the password replaced by ``***``."""
    return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url)


def _paths(args: argparse.Namespace) -> list[str]:
    return [args.config, *(args.extra_config or ())]


def _load(args: argparse.Namespace) -> Any:
    paths = _paths(args)
    _progress(f"loading {', '.join(paths)}")
    return load_config(*paths)


def _runtime_and_routes(cfg: Any) -> tuple[Any, list[Any]]:
    from loom.bootstrap import build_runtime
    from loom.rest.routes import compile_routes

    _progress("discovering the application and compiling its use cases")
    runtime = build_runtime(cfg)
    routes = compile_routes(runtime.components.interfaces, runtime)
    return runtime, routes


def _display_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


# -- commands --------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    """Boot discovery and the engine, serve nothing, print a summary."""
    cfg = _load(args)
    runtime, routes = _runtime_and_routes(cfg)
    c = runtime.components
    name = runtime.settings.app.display_name
    # Auto-CRUD use cases are made while compiling the routes: count those too.
    use_cases = list(dict.fromkeys([*c.use_cases, *(r.use_case for r in routes)]))
    print(
        f"OK {name}: {_count(c.models, 'model')}, {_count(use_cases, 'use case')}, "
        f"{_count(routes, 'route')}, {_count(c.jobs, 'job')}"
    )
    return EXIT_OK


def _count(items: Sequence[Any], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def cmd_routes(args: argparse.Namespace) -> int:
    """The route table as the REST adapter serves it."""
    cfg = _load(args)
    _, routes = _runtime_and_routes(cfg)
    rows = [("METHOD", "PATH", "USE CASE", "STATUS")]
    order = {m: i for i, m in enumerate(("GET", "POST", "PUT", "PATCH", "DELETE"))}
    ordered = sorted(routes, key=lambda r: (r.path.rstrip("/"), order.get(r.method, 9), r.method))
    rows += [(r.method, r.path, r.use_case.__qualname__, str(r.status_code)) for r in ordered]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    """Serve the REST application with uvicorn."""
    try:
        import uvicorn
    except ImportError:
        raise CliError("uvicorn is not installed: pip install 'loom[rest]'") from None
    from loom.rest.fastapi.auto import create_app

    cfg = _load(args)
    _progress("building the application")
    app = create_app(cfg)
    base = f"http://{_display_host(args.host)}:{args.port}"
    settings = app.state.loom.settings
    name = settings.app.display_name
    n_routes = len(getattr(app.state, "loom_routes", ()))
    print(f"Loom: serving {name} ({_count(range(n_routes), 'route')}) on {base}", flush=True)
    docs_url = settings.rest.docs_url
    if docs_url:
        print(f"Swagger UI: {base}{docs_url}", flush=True)
    # Loom logs each request itself (with its trace id): uvicorn's access log would repeat it.
    workers = int(getattr(args, "workers", 1) or 1)
    if workers > 1:
        if args.reload:
            raise CliError("--reload and --workers cannot be combined")
        del app
        _serve_workers(args, cfg, workers, uvicorn)
    elif args.reload:
        os.environ["LOOM_CONFIG"] = os.pathsep.join(str(Path(p).resolve()) for p in _paths(args))
        del app
        uvicorn.run(
            "loom.cli._app:create",
            factory=True,
            host=args.host,
            port=args.port,
            reload=True,
            reload_dirs=[str(Path.cwd())],
            access_log=False,
        )
    else:
        from loom.cli._app import silence_access_log

        silence_access_log()
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            access_log=False,
            timeout_graceful_shutdown=args.graceful_timeout,
        )
    return EXIT_OK


def _serve_workers(args: argparse.Namespace, cfg: Any, workers: int, uvicorn: Any) -> None:
    """uvicorn with ``workers`` processes, set up to share what they must.

    Each worker builds the application from ``$LOOM_CONFIG``. ``/metrics`` answers
    the totals of every worker: ``PROMETHEUS_MULTIPROC_DIR`` (the caller's, emptied
    first, or a fresh one removed at exit) is set before any worker starts. SIGTERM
    stops gracefully: readiness answers 503, requests in flight finish, in-process
    jobs finish or go back to pending.
    """
    import shutil
    import tempfile

    from loom.core.observability.metrics import MULTIPROC_ENV

    cache = settings_of(cfg).cache
    if cache.enabled and cache.backend == "memory":
        raise CliError(
            f"--workers {workers}: the memory cache is per process (each worker would "
            "serve reads older than the others' writes); set cache.backend: redis with "
            "cache.url"
        )
    given = os.environ.get(MULTIPROC_ENV)
    directory = Path(given) if given else Path(tempfile.mkdtemp(prefix="loom-metrics-"))
    if given:
        # Files of an earlier run would add to this one's counts.
        shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    os.environ["LOOM_CONFIG"] = os.pathsep.join(str(Path(p).resolve()) for p in _paths(args))
    _progress(f"{workers} worker processes, metrics totals in {directory}")
    try:
        uvicorn.run(
            "loom.cli._app:create",
            factory=True,
            host=args.host,
            port=args.port,
            workers=workers,
            access_log=False,
            timeout_graceful_shutdown=args.graceful_timeout,
        )
    finally:
        if not given:
            shutil.rmtree(directory, ignore_errors=True)


def cmd_worker(args: argparse.Namespace) -> int:
    """Run a Celery worker for the application's jobs."""
    try:
        from loom.celery.auto import create_app as create_worker_app
    except ImportError as exc:
        raise CliError(
            f"the Celery worker is not available ({_one_line(exc)}); "
            "install it with pip install 'loom[celery]'"
        ) from None
    cfg = _load(args)
    _progress("building the worker application")
    celery_app = create_worker_app(cfg)
    argv = ["worker", f"--loglevel={args.loglevel}"]
    if args.queues:
        argv += ["-Q", args.queues]
    if args.concurrency:
        argv += [f"--concurrency={args.concurrency}"]
    if args.pool:
        argv += [f"--pool={args.pool}"]
    broker = str(getattr(celery_app.conf, "broker_url", None) or "memory://")
    name = celery_app.loom_runtime.settings.app.display_name
    print(f"Loom: starting the Celery worker of {name} (broker {_mask(broker)})", flush=True)
    celery_app.worker_main(argv)
    return EXIT_OK


def _db_target(cfg: Any) -> str:
    from loom.migrations import database_url

    return _mask(database_url(cfg))


def cmd_db_revision(args: argparse.Namespace) -> int:
    from loom import migrations

    cfg = _load(args)
    folder = migrations.migrations_dir(cfg)
    if not (folder / "env.py").is_file():
        _progress(f"creating the migrations folder {folder}")
    if args.autogenerate:
        _progress(f"comparing the models with the database {_db_target(cfg)}")
    for path in migrations.revision(cfg, args.message, autogenerate=args.autogenerate):
        print(f"created revision {path}")
    return EXIT_OK


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from loom import migrations

    cfg = _load(args)
    _progress(f"upgrading {_db_target(cfg)} to {args.revision}")
    started = time.perf_counter()
    migrations.upgrade(cfg, args.revision)
    heads = migrations.current(cfg)
    at = ", ".join(heads) or "base"
    print(f"database at {at} ({time.perf_counter() - started:.1f}s)")
    return EXIT_OK


def cmd_db_downgrade(args: argparse.Namespace) -> int:
    from loom import migrations

    cfg = _load(args)
    _progress(f"downgrading {_db_target(cfg)} to {args.revision}")
    migrations.downgrade(cfg, args.revision)
    at = ", ".join(migrations.current(cfg)) or "base"
    print(f"database at {at}")
    return EXIT_OK


def cmd_db_current(args: argparse.Namespace) -> int:
    from loom import migrations

    cfg = _load(args)
    heads = migrations.current(cfg)
    print(", ".join(heads) if heads else "base (no migration applied)")
    return EXIT_OK


def cmd_db_history(args: argparse.Namespace) -> int:
    from loom import migrations

    cfg = _load(args)
    for rev, down, message in migrations.history(cfg):
        print(f"{down or '<base>'} -> {rev}  {message}")
    return EXIT_OK


# -- parser ----------------------------------------------------------------------------


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="the application's YAML config file")
    parser.add_argument(
        "--config",
        dest="extra_config",
        action="append",
        metavar="FILE",
        help="another config file merged after CONFIG (repeatable)",
    )


def _add_command(
    sub: Any, name: str, fn: Callable[[argparse.Namespace], int], help: str
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help, description=help)
    _add_config(parser)
    parser.set_defaults(func=fn)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="loom", description="Run, inspect and migrate a Loom application."
    )
    parser.add_argument(
        "--traceback", action="store_true", help="show the full traceback on errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, fn: Callable[[argparse.Namespace], int], help: str) -> Any:
        return _add_command(sub, name, fn, help)

    run = command("run", cmd_run, "serve the REST API with uvicorn")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--reload", action="store_true", help="restart when code changes")
    run.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (metrics totalled across them; use Redis for the cache)",
    )
    run.add_argument(
        "--graceful-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="on SIGTERM, how long requests in flight may take to finish",
    )

    worker = command("worker", cmd_worker, "run a Celery worker for the application's jobs")
    worker.add_argument("-Q", "--queues", help="comma-separated queues (default: all)")
    worker.add_argument("-c", "--concurrency", type=int, help="worker processes or threads")
    worker.add_argument("-l", "--loglevel", default="INFO")
    worker.add_argument("-P", "--pool", help="celery pool: prefork, solo, threads, ...")

    command("routes", cmd_routes, "print the route table: method, path, use case, status")
    command("check", cmd_check, "load and compile the application without serving it")

    db = sub.add_parser("db", help="database migrations (Alembic)", description="migrations")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)

    def db_command(name: str, fn: Callable[[argparse.Namespace], int], help: str) -> Any:
        return _add_command(db_sub, name, fn, help)

    rev = db_command("revision", cmd_db_revision, "write a new migration")
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument(
        "--autogenerate", action="store_true", help="compare the models with the database"
    )
    up = db_command("upgrade", cmd_db_upgrade, "apply migrations (default: to head)")
    up.add_argument("revision", nargs="?", default="head", metavar="REV")
    down = db_command("downgrade", cmd_db_downgrade, "revert migrations (default: one step)")
    down.add_argument("revision", nargs="?", default="-1", metavar="REV")
    db_command("current", cmd_db_current, "print the revision the database is at")
    db_command("history", cmd_db_history, "list the migrations from base to head")
    return parser


def _fail(message: str, code: int) -> NoReturn:
    print(f"loom: error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``loom`` and ``python -m loom.cli``; returns the exit status."""
    args = build_parser().parse_args(argv)
    show_traceback = args.traceback or os.environ.get("LOOM_TRACEBACK") == "1"
    from loom.migrations import MigrationError

    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if show_traceback:
            traceback.print_exc()
        if isinstance(exc, CliError):
            _fail(str(exc), exc.code)
        if isinstance(exc, ConfigError):
            _fail(f"config: {_one_line(exc)}", EXIT_CONFIG)
        if isinstance(exc, DeclarationError):
            _fail(f"declaration: {_one_line(exc)}", EXIT_ERROR)
        if isinstance(exc, MigrationError):
            _fail(f"migration: {_one_line(exc)}", EXIT_ERROR)
        # A model or repository mistake surfaces as a TypeError/ValueError at boot.
        _fail(f"{type(exc).__name__}: {_one_line(exc)}", EXIT_ERROR)
