"""Typed settings: the merged config decoded once, at boot, into frozen structs.

Bootstrap calls :func:`load_settings` on the config and hands each part the struct it
needs (the database its ``DatabaseSettings``, the REST app its ``RestSettings``...), so
no module reads raw keys and a key's default lives in one place: here. Values from
YAML or ``${oc.env:...}`` are often strings (``"8"``, ``"false"``), so conversion is lax;
a value that does not fit is a :class:`ConfigError` naming the file and the key.

Settings whose check needs an adapter's knowledge (``database.plan_lists``, the cache
backend) are validated where the adapter is built, with :meth:`AppSettings.error` so
the message still names the file that set the key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import msgspec

from loom.core.config.errors import ConfigError
from loom.core.config.loader import config_error, resolve, select

__all__ = [
    "AppInfo",
    "AppSettings",
    "CacheSettings",
    "CelerySettings",
    "DatabaseSettings",
    "DiscoverySettings",
    "IdempotencySettings",
    "JobOverrides",
    "JobsSettings",
    "LoggerSettings",
    "MetricsSettings",
    "RestSettings",
    "TraceSettings",
    "load_settings",
    "settings_of",
    "truthy",
]

T = TypeVar("T")

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./loom.db"
DEFAULT_MAX_BODY = 1024 * 1024

_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
_FALSE = frozenset({"0", "false", "no", "off", "n", "f", ""})


def truthy(value: Any, default: bool = False) -> bool:
    """A config boolean: ``${oc.env:...}`` without ``oc.decode`` yields strings, and
    ``bool("false")`` is true. ``None`` and unrecognised text give ``default``."""
    if value is None:
        return default
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return default
    return bool(value)


class DiscoverySettings(msgspec.Struct, frozen=True, kw_only=True):
    """``app.discovery`` as written. Which mode applies, and whether its list is
    missing, is decided when discovering (``loom.core.discovery.engine_from_config``):
    a runtime built from given components needs none of it."""

    mode: str | None = None
    interfaces_modules: Any = None
    interfaces_include: Any = None
    warn_recommended: bool = True
    modules: bool = False
    """Whether a ``modules`` sub-section is present (it implies that mode)."""
    modules_include: Any = None
    manifest: bool = False
    """Whether a ``manifest`` sub-section is present (it implies that mode)."""
    manifest_module: Any = None


class AppInfo(msgspec.Struct, frozen=True, kw_only=True):
    """The ``app`` section."""

    name: str | None = None
    secret_key: str | None = None
    code_path: str | None = None
    config_dir: str | None = None
    discovery: DiscoverySettings = DiscoverySettings()

    @property
    def display_name(self) -> str:
        return self.name or "app"

    @property
    def cursor_secret(self) -> str:
        """What signs pagination cursors: ``app.secret_key``, else one derived from the name."""
        return self.secret_key or f"loom:{self.display_name}:cursor"


class DatabaseSettings(msgspec.Struct, frozen=True, kw_only=True):
    """``database``; ``None`` means "the adapter's default" (it owns those numbers)."""

    url: str = DEFAULT_DATABASE_URL
    echo: bool = False
    pool_size: int | None = None
    max_overflow: int | None = None
    pool_pre_ping: bool = False
    pool_timeout: float = 10.0
    pool_idle_timeout: float | None = None
    pgbouncer: bool | None = None
    """``None`` is ``auto``: the first connection tells."""
    connect_timeout: float = 5.0
    statement_timeout_ms: int | None = None
    plan_lists: str = "values"
    create_tables: bool = True
    migrations: str | None = None


class CacheSettings(msgspec.Struct, frozen=True, kw_only=True):
    """``cache`` (see :mod:`loom.core.cache.config`); ``None`` seconds mean no limit."""

    enabled: bool = False
    backend: str = "memory"
    url: str = "redis://127.0.0.1:6379/0"
    namespace: str = "loom:app"
    timeout: float | None = 1.0
    retry_after: float = 5.0
    default_ttl: float | None = 300.0
    default_list_ttl: float | None = 60.0
    aiocache: dict[str, Any] | None = None


CELERY_LOOM_KEYS = ("queues", "relay_interval", "relay_grace", "relay_batch")


class CelerySettings(msgspec.Struct, frozen=True, kw_only=True):
    """``celery``: Loom's own keys, and ``conf``, every other key for ``app.conf``."""

    broker_url: str | None = None
    task_always_eager: bool = False
    queues: tuple[str, ...] = ()
    relay_interval: float = 2.0
    relay_grace: float = 5.0
    relay_batch: int = 100
    conf: dict[str, Any] = {}

    @property
    def wanted(self) -> bool:
        """Whether jobs go through Celery (a broker, or eager mode for tests)."""
        return bool(self.broker_url) or self.task_always_eager


class JobOverrides(msgspec.Struct, frozen=True, kw_only=True):
    """``jobs.<JobClass>``: what the config overrides of one job's declaration."""

    queue: str | None = None
    retries: int | None = None
    countdown: float | None = None
    timeout: float | None = None
    priority: int | None = None
    retry_backoff: float | None = None
    retry_backoff_max: float | None = None


class JobsSettings(msgspec.Struct, frozen=True, kw_only=True):
    """``jobs``: the backend's settings, and per-job overrides keyed by class name."""

    concurrency: int | None = None
    """``None``: the backend picks (1 on SQLite, 4 elsewhere)."""
    shutdown_timeout: float = 10.0
    retry_backoff: float | None = None
    retry_backoff_max: float = 60.0
    status_path: str | None = "/jobs"
    per_job: dict[str, JobOverrides] = {}

    def overrides(self, name: str) -> JobOverrides:
        return self.per_job.get(name) or _NO_OVERRIDES


_NO_OVERRIDES = JobOverrides()


class IdempotencySettings(msgspec.Struct, frozen=True, kw_only=True):
    enabled: bool = True
    ttl_seconds: float = 86400.0
    methods: tuple[str, ...] = ("POST",)


class RestSettings(msgspec.Struct, frozen=True, kw_only=True):
    """``app.rest``; ``defaults`` stays a mapping: the REST adapter owns its type."""

    title: str = "Loom API"
    version: str = "0.1.0"
    description: str | None = None
    docs_url: str | None = "/docs"
    redoc_url: str | None = "/redoc"
    max_body_size: int = DEFAULT_MAX_BODY
    defaults: dict[str, Any] | None = None
    idempotency: IdempotencySettings = IdempotencySettings()


class TraceSettings(msgspec.Struct, frozen=True, kw_only=True):
    enabled: bool = True
    header: str = "x-request-id"


class MetricsSettings(msgspec.Struct, frozen=True, kw_only=True):
    enabled: bool = True
    path: str = "/metrics"


class LoggerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """``logger``: ``access_log``, and the section as given for ``configure_logging``."""

    access_log: bool = True
    options: dict[str, Any] = {}


class AppSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Every section Loom reads, decoded; ``source`` is the config it came from."""

    app: AppInfo = AppInfo()
    database: DatabaseSettings = DatabaseSettings()
    cache: CacheSettings = CacheSettings()
    celery: CelerySettings = CelerySettings()
    jobs: JobsSettings = JobsSettings()
    rest: RestSettings = RestSettings()
    trace: TraceSettings = TraceSettings()
    metrics: MetricsSettings = MetricsSettings()
    logger: LoggerSettings = LoggerSettings()
    source: Any = None

    def error(self, key: str, message: str) -> ConfigError:
        """``<file>: key '<key>': <message>``, for a check made after decoding."""
        return config_error(self.source, key, message)


# -- decoding ---------------------------------------------------------------------------


class _Reader:
    """Reads one config with conversions that name the key (and its file) on failure."""

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg

    def raw(self, key: str, default: Any = None) -> Any:
        return select(self.cfg, key, default)

    def fail(self, key: str, message: str) -> ConfigError:
        return config_error(self.cfg, key, message)

    def _convert(self, key: str, value: Any, kind: Callable[[Any], T], what: str) -> T:
        if isinstance(value, bool) and kind is not bool:
            raise self.fail(key, f"expected {what}, got {value!r}")
        try:
            return kind(value)
        except (TypeError, ValueError):
            raise self.fail(key, f"expected {what}, got {value!r}") from None

    def number(self, key: str, default: float) -> float:
        value = self.raw(key, default)
        return default if value is None else self._convert(key, value, float, "a number")

    def optional_number(self, key: str, default: float | None = None) -> float | None:
        value = self.raw(key, default)
        return None if value is None else self._convert(key, value, float, "a number")

    def integer(self, key: str, default: int) -> int:
        value = self.raw(key, default)
        return default if value is None else self._convert(key, value, int, "an integer")

    def optional_integer(self, key: str) -> int | None:
        value = self.raw(key)
        return None if value is None else self._convert(key, value, int, "an integer")

    def flag(self, key: str, default: bool) -> bool:
        return truthy(self.raw(key), default)

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.raw(key, default)
        return None if value is None else str(value)

    def mapping(self, key: str) -> dict[str, Any] | None:
        value = self.raw(key)
        if value is None:
            return None
        if isinstance(value, Mapping) or hasattr(value, "keys"):
            return dict(resolve(value))
        raise self.fail(key, f"expected a mapping, got {value!r}")

    def shorthand(self, key: str) -> Mapping[str, Any]:
        """A section that may be a bare flag (``trace: false`` is ``enabled: false``)."""
        value = self.raw(key)
        if value is None:
            return {}
        if isinstance(value, Mapping) or hasattr(value, "keys"):
            return dict(resolve(value))
        return {"enabled": value}


def _pgbouncer(r: _Reader) -> bool | None:
    value = r.raw("database.pgbouncer", "auto")
    if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise r.fail("database.pgbouncer", f"expected true, false or auto, got {value!r}")


def _database(r: _Reader) -> DatabaseSettings:
    return DatabaseSettings(
        url=str(r.raw("database.url") or DEFAULT_DATABASE_URL),
        echo=r.flag("database.echo", False),
        pool_size=r.optional_integer("database.pool_size"),
        max_overflow=r.optional_integer("database.max_overflow"),
        pool_pre_ping=r.flag("database.pool_pre_ping", False),
        pool_timeout=r.number("database.pool_timeout", 10.0),
        pool_idle_timeout=r.optional_number("database.pool_idle_timeout"),
        pgbouncer=_pgbouncer(r),
        connect_timeout=r.number("database.connect_timeout", 5.0),
        statement_timeout_ms=r.optional_integer("database.statement_timeout_ms"),
        plan_lists=str(r.raw("database.plan_lists", "values")),
        create_tables=r.flag("database.create_tables", True),
        migrations=r.text("database.migrations"),
    )


def _seconds(r: _Reader, key: str, default: float | None) -> float | None:
    value = r.raw(key, default)
    if value is None:
        return None
    return r._convert(key, value, float, "a number of seconds")


def _cache(r: _Reader, app: AppInfo) -> CacheSettings:
    aiocache = r.raw("cache.aiocache")
    retry_after = _seconds(r, "cache.retry_after", 5.0)
    return CacheSettings(
        enabled=r.flag("cache.enabled", False),
        backend=str(r.raw("cache.backend", "memory") or "memory").lower(),
        url=str(r.raw("cache.url", "redis://127.0.0.1:6379/0")),
        namespace=str(r.raw("cache.namespace") or f"loom:{app.display_name}"),
        timeout=_seconds(r, "cache.timeout", 1.0),
        retry_after=5.0 if retry_after is None else retry_after,
        default_ttl=_seconds(r, "cache.default_ttl", 300.0),
        default_list_ttl=_seconds(r, "cache.default_list_ttl", 60.0),
        aiocache=None if aiocache is None else dict(resolve(aiocache)),
    )


def _celery(r: _Reader) -> CelerySettings:
    raw = r.mapping("celery") or {}
    return CelerySettings(
        broker_url=str(raw["broker_url"]) if raw.get("broker_url") else None,
        task_always_eager=truthy(raw.get("task_always_eager")),
        queues=tuple(str(q) for q in (raw.get("queues") or ())),
        relay_interval=r.number("celery.relay_interval", 2.0),
        relay_grace=r.number("celery.relay_grace", 5.0),
        relay_batch=r.integer("celery.relay_batch", 100),
        conf={k: v for k, v in raw.items() if k not in CELERY_LOOM_KEYS},
    )


_JOBS_KEYS = frozenset(
    {"concurrency", "shutdown_timeout", "retry_backoff", "retry_backoff_max", "status_path"}
)


def _job_overrides(r: _Reader, name: str) -> JobOverrides:
    key = f"jobs.{name}"
    return JobOverrides(
        queue=r.text(f"{key}.queue"),
        retries=r.optional_integer(f"{key}.retries"),
        countdown=r.optional_number(f"{key}.countdown"),
        timeout=r.optional_number(f"{key}.timeout"),
        priority=r.optional_integer(f"{key}.priority"),
        retry_backoff=r.optional_number(f"{key}.retry_backoff"),
        retry_backoff_max=r.optional_number(f"{key}.retry_backoff_max"),
    )


def _jobs(r: _Reader) -> JobsSettings:
    raw = r.mapping("jobs") or {}
    per_job = {
        str(name): _job_overrides(r, str(name))
        for name, value in raw.items()
        if name not in _JOBS_KEYS and isinstance(value, Mapping)
    }
    concurrency = r.optional_integer("jobs.concurrency")
    return JobsSettings(
        concurrency=concurrency or None,
        shutdown_timeout=r.number("jobs.shutdown_timeout", 10.0),
        retry_backoff=r.optional_number("jobs.retry_backoff"),
        retry_backoff_max=r.number("jobs.retry_backoff_max", 60.0),
        status_path=r.text("jobs.status_path", "/jobs"),
        per_job=per_job,
    )


def _rest(r: _Reader, app: AppInfo) -> RestSettings:
    methods = r.raw("app.rest.idempotency.methods") or ["POST"]
    description = r.raw("app.rest.description")
    return RestSettings(
        title=str(r.raw("app.rest.title") or app.name or "Loom API"),
        version=str(r.raw("app.rest.version") or "0.1.0"),
        description=None if description is None else str(description),
        docs_url=r.text("app.rest.docs_url", "/docs"),
        redoc_url=r.text("app.rest.redoc_url", "/redoc"),
        max_body_size=r.integer("app.rest.max_body_size", DEFAULT_MAX_BODY),
        defaults=r.mapping("app.rest.defaults"),
        idempotency=IdempotencySettings(
            enabled=r.flag("app.rest.idempotency.enabled", True),
            ttl_seconds=r.number("app.rest.idempotency.ttl_seconds", 86400.0),
            methods=tuple(str(m).upper() for m in methods),
        ),
    )


def _observability(r: _Reader) -> tuple[TraceSettings, MetricsSettings, LoggerSettings]:
    trace = r.shorthand("trace")
    metrics = r.shorthand("metrics")
    logger = r.shorthand("logger")
    path = str(metrics.get("path") or "/metrics")
    return (
        TraceSettings(
            enabled=truthy(trace.get("enabled"), True),
            header=str(trace.get("header") or "x-request-id"),
        ),
        MetricsSettings(
            enabled=truthy(metrics.get("enabled"), True),
            path=path if path.startswith("/") else "/" + path,
        ),
        LoggerSettings(access_log=truthy(logger.get("access_log"), True), options=dict(logger)),
    )


def _names(r: _Reader, key: str) -> Any:
    """A module list as written, a YAML list made a plain one; the discovery engine
    checks the entries (and refuses anything else, naming the key)."""
    value = r.raw(key)
    if value is None or isinstance(value, str) or hasattr(value, "keys"):
        return value
    try:
        return list(value)
    except TypeError:
        return value


def _discovery(r: _Reader) -> DiscoverySettings:
    mode = r.raw("app.discovery.mode")
    return DiscoverySettings(
        mode=None if mode is None else str(mode),
        interfaces_modules=_names(r, "app.discovery.interfaces.modules"),
        interfaces_include=_names(r, "app.discovery.interfaces.include"),
        warn_recommended=r.flag("app.discovery.interfaces.warn_recommended", True),
        modules=r.raw("app.discovery.modules") is not None,
        modules_include=_names(r, "app.discovery.modules.include"),
        manifest=r.raw("app.discovery.manifest") is not None,
        manifest_module=r.raw("app.discovery.manifest.module"),
    )


def load_settings(cfg: Any) -> AppSettings:
    """Decode ``cfg`` (a loaded config, a plain dict, or ``None``) into :class:`AppSettings`."""
    r = _Reader(cfg)
    app = AppInfo(
        name=r.text("app.name"),
        secret_key=r.text("app.secret_key"),
        code_path=r.text("app.code_path"),
        config_dir=r.text("app.config_dir"),
        discovery=_discovery(r),
    )
    trace, metrics, logger = _observability(r)
    return AppSettings(
        app=app,
        database=_database(r),
        cache=_cache(r, app),
        celery=_celery(r),
        jobs=_jobs(r),
        rest=_rest(r, app),
        trace=trace,
        metrics=metrics,
        logger=logger,
        source=cfg,
    )


def settings_of(cfg: Any) -> AppSettings:
    """``cfg`` itself when already decoded, else :func:`load_settings` of it: public
    helpers (``cache_from_config``, ``celery_settings``...) accept either."""
    return cfg if isinstance(cfg, AppSettings) else load_settings(cfg)
