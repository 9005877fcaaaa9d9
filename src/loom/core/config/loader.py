"""Loading the YAML config: includes, several files merged in order, interpolation.

``load_config("config/base.yaml", "config/api.yaml")`` reads each file, first the
files its ``includes:`` list (relative to it), and merges everything in order, later
values winning. ``${oc.env:NAME,default}`` and ``${oc.decode:...}`` work as in
OmegaConf. Every failure is a :class:`ConfigError` whose one-line message names the
file and key.
"""

from __future__ import annotations

import re
import weakref
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from loom.core.config.errors import ConfigError

__all__ = [
    "ConfigError",
    "config_error",
    "load_config",
    "resolve",
    "section",
    "select",
    "source_of",
]

T = TypeVar("T")


# id(merged config) -> the files it was merged from, in merge order, with their own
# (pre-merge) content: which file set a key is what error messages name.
_SOURCES: dict[int, list[tuple[Path, dict[str, Any]]]] = {}


def source_of(cfg: Any, key: str) -> Path | None:
    """The file that sets ``key`` in a config from :func:`load_config` (the last one in
    merge order), else ``None``."""
    sources = _SOURCES.get(id(cfg)) if isinstance(cfg, DictConfig) else None
    if not sources:
        return None
    parts = [p for p in re.sub(r"\[\d+\]", "", key).split(".") if p]
    for path, content in reversed(sources):
        node: Any = content
        for part in parts:
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            return path
    return None


def config_error(cfg: Any, key: str, message: str) -> ConfigError:
    """``<file>: key '<key>': <message>``, the file being the one that sets ``key``
    (or the first file loaded when none does)."""
    path = source_of(cfg, key)
    if path is None and isinstance(cfg, DictConfig):
        sources = _SOURCES.get(id(cfg))
        path = sources[-1][0] if sources else None
    where = f"{path}: " if path is not None else ""
    return ConfigError(f"{where}key {key!r}: {message}", key=key)


def _read(
    path: Path, chain: tuple[Path, ...], sources: list[tuple[Path, dict[str, Any]]] | None = None
) -> DictConfig:
    if path in chain:
        cycle = " -> ".join(str(p) for p in (*chain, path))
        raise ConfigError(f"{path}: includes form a cycle: {cycle}")
    if not path.is_file():
        origin = f"{chain[-1]}: includes: " if chain else ""
        raise ConfigError(f"{origin}config file not found: {path}")
    try:
        loaded = OmegaConf.load(path)
    except Exception as exc:  # yaml.YAMLError and friends
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{path}: invalid YAML: {first}") from None
    if loaded is None or isinstance(loaded, ListConfig):
        if loaded is None:
            return OmegaConf.create({})
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    includes = loaded.pop("includes", None)
    merged = OmegaConf.create({})
    if includes is not None:
        if isinstance(includes, str):
            includes = [includes]
        if not isinstance(includes, (list, ListConfig)):
            raise ConfigError(f"{path}: includes: must be a list of file names")
        for index, name in enumerate(includes):
            if not isinstance(name, str):
                raise ConfigError(f"{path}: includes[{index}]: must be a file name")
            included = _read((path.parent / name).resolve(), (*chain, path), sources)
            merged = OmegaConf.merge(merged, included)  # type: ignore[assignment]
    if sources is not None:
        content = OmegaConf.to_container(loaded, resolve=False)
        sources.append((path, content if isinstance(content, dict) else {}))  # type: ignore[arg-type]
    result = OmegaConf.merge(merged, loaded)
    assert isinstance(result, DictConfig)
    return result


def load_config(*paths: str | Path) -> DictConfig:
    """The merged config of ``paths`` (interpolations resolved lazily on access)."""
    if not paths:
        raise ConfigError("no config file given")
    merged = OmegaConf.create({})
    first_dir: Path | None = None
    sources: list[tuple[Path, dict[str, Any]]] = []
    for raw in paths:
        path = Path(raw).expanduser().resolve()
        if first_dir is None:
            first_dir = path.parent
        merged = OmegaConf.merge(merged, _read(path, (), sources))  # type: ignore[assignment]
    assert isinstance(merged, DictConfig)
    _SOURCES[id(merged)] = sources
    weakref.finalize(merged, _SOURCES.pop, id(merged), None)
    OmegaConf.set_struct(merged, False)
    if OmegaConf.select(merged, "app.config_dir") is None:
        OmegaConf.update(merged, "app.config_dir", str(first_dir), force_add=True)
    _check_resolvable(merged, paths)
    return merged


def _check_resolvable(cfg: DictConfig, paths: tuple[str | Path, ...]) -> None:
    try:
        OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or "?"
        msg = str(exc).strip().splitlines()[0]
        where = source_of(cfg, key) or ", ".join(str(p) for p in paths)
        raise ConfigError(f"{where}: key {key!r}: {msg}", key=key) from None


def select(cfg: Any, key: str, default: Any = None) -> Any:
    """``cfg[a][b]`` for ``"a.b"``, or ``default`` when any part is missing."""
    if cfg is None:
        return default
    if isinstance(cfg, DictConfig):
        value = OmegaConf.select(cfg, key, default=default)
        return value
    node: Any = cfg
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def resolve(cfg: Any) -> dict[str, Any]:
    """A plain ``dict`` copy with every interpolation resolved."""
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    return dict(cfg or {})


_ABSENT: Any = object()


def section(cfg: Any, key: str, target_type: type[T]) -> T:
    """The config node at dotted ``key`` converted to ``target_type`` (a msgspec Struct,
    dataclass, ``dict[str, X]``...), with interpolations resolved.

    Conversion is lax (``strict=False``) because YAML and ``${oc.env:...}`` give strings
    where a typed field wants ``"8"`` -> ``8`` or ``"true"`` -> ``True``. A missing key or a
    value that does not fit is a :class:`ConfigError` naming the key (and the file that
    set it), so a script such as an Alembic ``env.py`` fails with a readable message.
    """
    try:
        value = select(cfg, key, _ABSENT)
    except OmegaConfBaseException as exc:
        raise config_error(cfg, key, str(exc).strip().splitlines()[0]) from None
    if value is _ABSENT or value is None:
        raise config_error(cfg, key, "is missing (required section)")
    if isinstance(value, (DictConfig, ListConfig)):
        value = OmegaConf.to_container(value, resolve=True)
    try:
        return msgspec.convert(value, target_type, strict=False)
    except msgspec.ValidationError as exc:
        name = getattr(target_type, "__name__", repr(target_type))
        raise config_error(cfg, key, f"does not fit {name}: {exc}") from None
