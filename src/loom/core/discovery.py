"""Finding an application's components from its config.

Modes (``app.discovery.mode``):

* ``modules``: import ``app.discovery.modules.include`` and collect what they define
  or import;
* ``manifest``: ``app.discovery.manifest.module`` lists ``MODELS``, ``USE_CASES``,
  ``REPOSITORIES``, ``JOBS``, ``CALLBACKS`` and ``INTERFACES``;
* ``interfaces``: start from the interfaces in ``app.discovery.interfaces.include``
  (modules, or ``module:Class``) and follow what they reference.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any, TypeGuard

from loom.core.config.loader import config_error, select
from loom.core.job.job import Job
from loom.core.model._base import BaseModel, model_by_table
from loom.core.repository.registry import registered_repositories
from loom.core.runtime import Components
from loom.core.use_case._markers import Exists, LoadById
from loom.core.use_case.use_case import UseCase

__all__ = ["add_code_path", "discover"]

MODES = ("modules", "manifest", "interfaces")


def add_code_path(cfg: Any) -> Path | None:
    """Put ``app.code_path`` on ``sys.path``.

    The path is taken relative to the config file's folder, then to its parent (the
    usual ``config/`` + ``src/`` layout), then to the working directory.
    """
    code_path = select(cfg, "app.code_path")
    if not code_path:
        return None
    base = Path(select(cfg, "app.config_dir") or ".")
    raw = Path(str(code_path)).expanduser()
    candidates = [raw] if raw.is_absolute() else [base / raw, base.parent / raw, Path.cwd() / raw]
    for candidate in candidates:
        if candidate.is_dir():
            resolved = str(candidate.resolve())
            if resolved not in sys.path:
                sys.path.insert(0, resolved)
            return candidate.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise config_error(cfg, "app.code_path", f"folder {code_path!r} not found (tried {tried})")


def _import(cfg: Any, name: str, key: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except Exception as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise config_error(
            cfg, key, f"cannot import module {name!r}: {type(exc).__name__}: {detail}"
        ) from exc


def is_model(obj: Any) -> TypeGuard[type]:
    return (
        isinstance(obj, type)
        and issubclass(obj, BaseModel)
        and bool(obj.__dict__.get("__tablename__") or getattr(obj, "__tablename__", None))
        and model_by_table(obj.__tablename__) is obj
    )


def is_use_case(obj: Any) -> TypeGuard[type]:
    return (
        isinstance(obj, type)
        and issubclass(obj, UseCase)
        and obj is not UseCase
        and "execute" in _all_attrs(obj)
        and not getattr(obj, "__loom_abstract__", False)
        and not inspect.isabstract(obj)
    )


def is_job(obj: Any) -> bool:
    return (
        isinstance(obj, type)
        and issubclass(obj, Job)
        and obj is not Job
        and "execute" in _all_attrs(obj)
    )


def is_interface(obj: Any) -> bool:
    """A concrete REST interface (duck-typed: the core does not import ``loom.rest``)."""
    return (
        isinstance(obj, type)
        and getattr(obj, "__loom_interface__", False) is True
        and not obj.__dict__.get("__loom_base__", False)
    )


def is_callback(obj: Any) -> bool:
    return (
        isinstance(obj, type)
        and not issubclass(obj, (UseCase, Job, BaseModel))
        and (
            callable(getattr(obj, "on_success", None)) or callable(getattr(obj, "on_failure", None))
        )
    )


def _all_attrs(cls: type) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass in (UseCase, Job, object):
            continue
        names.update(klass.__dict__)
    return names


class _Collector:
    def __init__(self) -> None:
        self.models: list[type] = []
        self.use_cases: list[type] = []
        self.jobs: list[type] = []
        self.callbacks: list[type] = []
        self.interfaces: list[type] = []
        self.repositories: list[type] = []

    def scan(self, module: ModuleType) -> None:
        for obj in list(vars(module).values()):
            self.add(obj)

    def add(self, obj: Any) -> None:
        if is_model(obj):
            _append(self.models, obj)
        elif is_use_case(obj):
            _append(self.use_cases, obj)
        elif is_job(obj):
            _append(self.jobs, obj)
        elif is_interface(obj):
            _append(self.interfaces, obj)
        elif is_callback(obj):
            _append(self.callbacks, obj)

    def follow_references(self) -> None:
        """Add models referenced by use cases, markers, interfaces and foreign keys."""
        for interface in self.interfaces:
            model = getattr(interface, "model", None)
            if is_model(model):
                _append(self.models, model)
            for route in getattr(interface, "routes", ()) or ():
                uc = getattr(route, "use_case", None)
                if is_use_case(uc):
                    _append(self.use_cases, uc)
        for cls in [*self.use_cases, *self.jobs]:
            model = getattr(cls, "model", None)
            if is_model(model):
                _append(self.models, model)
            execute = getattr(cls, "execute", None)
            if execute is not None:
                for p in inspect.signature(execute).parameters.values():
                    if isinstance(p.default, (Exists, LoadById)) and is_model(p.default.model):
                        _append(self.models, p.default.model)
        changed = True
        while changed:
            changed = False
            for model in list(self.models):
                for decl in getattr(model, "__loom_declarations__", {}).values():
                    fk = getattr(decl, "foreign_key", None)
                    if isinstance(fk, str) and "." in fk:
                        target = model_by_table(fk.split(".", 1)[0])
                        if target is not None and target not in self.models:
                            self.models.append(target)
                            changed = True
        registry = registered_repositories()
        for model in self.models:
            reg = registry.get(model)
            if reg is not None:
                _append(self.repositories, reg.repository)

    def components(self) -> Components:
        self.follow_references()
        return Components(
            models=self.models,
            use_cases=self.use_cases,
            jobs=self.jobs,
            callbacks=self.callbacks,
            interfaces=self.interfaces,
            repositories=self.repositories,
        )


def _append(items: list[type], obj: type) -> None:
    if obj not in items:
        items.append(obj)


def _names(cfg: Any, key: str) -> list[str]:
    value = select(cfg, key)
    if value is None:
        raise config_error(cfg, key, "is required for this discovery mode")
    if isinstance(value, str):
        return [value]
    try:
        names = [str(v) for v in value]
    except TypeError:
        raise config_error(cfg, key, "must be a list of module names") from None
    return names


def discover(cfg: Any) -> Components:
    add_code_path(cfg)
    mode = select(cfg, "app.discovery.mode", "modules")
    collector = _Collector()
    if mode == "modules":
        key = "app.discovery.modules.include"
        for i, name in enumerate(_names(cfg, key)):
            collector.scan(_import(cfg, name, f"{key}[{i}]"))
    elif mode == "manifest":
        key = "app.discovery.manifest.module"
        name = select(cfg, key)
        if not name:
            raise config_error(cfg, key, "is required for discovery mode 'manifest'")
        manifest = _import(cfg, str(name), key)
        for attr in ("MODELS", "REPOSITORIES", "USE_CASES", "JOBS", "CALLBACKS", "INTERFACES"):
            for obj in _iter(cfg, key, getattr(manifest, attr, ()), f"{name}.{attr}"):
                if attr == "CALLBACKS" and isinstance(obj, type):
                    _append(collector.callbacks, obj)
                elif attr == "REPOSITORIES":
                    continue  # registered by @repository_for on import
                else:
                    before = _counts(collector)
                    collector.add(obj)
                    if _counts(collector) == before and not _already(collector, obj):
                        raise config_error(
                            cfg,
                            key,
                            f"{name}.{attr}: {getattr(obj, '__qualname__', obj)!r} is not a "
                            f"{attr.lower().rstrip('s').replace('_', ' ')}",
                        )
    elif mode == "interfaces":
        key = "app.discovery.interfaces.include"
        for i, entry in enumerate(_names(cfg, key)):
            module_name, _, attr = entry.partition(":")
            module = _import(cfg, module_name, f"{key}[{i}]")
            if attr:
                obj = getattr(module, attr, None)
                if obj is None or not is_interface(obj):
                    raise config_error(cfg, f"{key}[{i}]", f"{entry!r} is not a RestInterface")
                collector.add(obj)
            else:
                for obj in vars(module).values():
                    if is_interface(obj):
                        collector.add(obj)
        # Jobs and callbacks live beside the use cases that dispatch them.
        collector.follow_references()
        for uc in list(collector.use_cases):
            uc_module = sys.modules.get(uc.__module__)
            if uc_module is not None:
                for obj in vars(uc_module).values():
                    if is_job(obj) or is_callback(obj):
                        collector.add(obj)
    else:
        raise config_error(
            cfg, "app.discovery.mode", f"unknown mode {mode!r}; use one of {', '.join(MODES)}"
        )
    return collector.components()


def _counts(c: _Collector) -> tuple[int, ...]:
    return (len(c.models), len(c.use_cases), len(c.jobs), len(c.interfaces), len(c.callbacks))


def _already(c: _Collector, obj: Any) -> bool:
    return any(obj in group for group in (c.models, c.use_cases, c.jobs, c.interfaces, c.callbacks))


def _iter(cfg: Any, key: str, value: Any, where: str) -> Iterable[Any]:
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    raise config_error(cfg, key, f"{where}: must be a list")
