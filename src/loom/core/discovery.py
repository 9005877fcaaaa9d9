"""Finding an application's components from its config.

Modes (``app.discovery.mode``):

* ``interfaces`` (the default): start from the interfaces in
  ``app.discovery.interfaces.modules`` (``interfaces.include`` is the same key; entries are
  modules or ``module:Class``) and follow what they reference;
* ``modules``: import ``app.discovery.modules.include`` and collect what they define (a
  listed package: what its submodules define), then what that references;
* ``manifest``: ``app.discovery.manifest.module`` lists ``MODELS``, ``USE_CASES``,
  ``REPOSITORIES``, ``JOBS``, ``CALLBACKS`` and ``INTERFACES``.

With no ``mode`` the mode is the one whose key is present (``modules:`` or ``manifest:``),
else ``interfaces``. In every mode the jobs and callbacks defined or imported beside a
discovered use case are collected too, so a worker knows every job the API may dispatch.

The three engines are usable on their own (an Alembic ``env.py`` builds its metadata from
``ModulesDiscoveryEngine(modules).discover().models``).
"""

from __future__ import annotations

import importlib
import inspect
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, TypeGuard, runtime_checkable

from loom.core.config.errors import ConfigError
from loom.core.config.settings import DiscoverySettings, settings_of
from loom.core.job.job import Job
from loom.core.model._base import BaseModel, model_by_table
from loom.core.repository.registry import registered_repositories
from loom.core.runtime import Components
from loom.core.use_case.use_case import UseCase

__all__ = [
    "DiscoveryEngine",
    "DiscoveryResult",
    "InterfacesDiscoveryEngine",
    "ManifestDiscoveryEngine",
    "ModulesDiscoveryEngine",
    "add_code_path",
    "discover",
    "engine_from_config",
]

MODES = ("interfaces", "modules", "manifest")


def add_code_path(cfg: Any) -> Path | None:
    """Put ``app.code_path`` on ``sys.path``.

    The path is taken relative to the config file's folder, then to its parent (the
    usual ``config/`` + ``src/`` layout), then to the working directory.
    """
    settings = settings_of(cfg)
    code_path = settings.app.code_path
    if not code_path:
        return None
    base = Path(settings.app.config_dir or ".")
    raw = Path(str(code_path)).expanduser()
    candidates = [raw] if raw.is_absolute() else [base / raw, base.parent / raw, Path.cwd() / raw]
    for candidate in candidates:
        if candidate.is_dir():
            resolved = str(candidate.resolve())
            if resolved not in sys.path:
                sys.path.insert(0, resolved)
            return candidate.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise settings.error("app.code_path", f"folder {code_path!r} not found (tried {tried})")


Fail = Callable[[str, str], Exception]
"""``fail(where, message)``: the exception to raise; ``where`` is ``""`` or an index
suffix such as ``"[2]"`` that a config-driven caller appends to its key."""


def _plain_fail(where: str, message: str) -> Exception:
    return ConfigError(f"discovery{where}: {message}")


def _import(name: str, fail: Fail, where: str = "") -> ModuleType:
    try:
        return importlib.import_module(name)
    except Exception as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise fail(where, f"cannot import module {name!r}: {type(exc).__name__}: {detail}") from exc


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

    def scan(self, module: ModuleType, *, defined_only: bool = False) -> None:
        """Collect the module's components; ``defined_only``: only those whose class is
        defined there (or, for a package, in one of its submodules), not imported."""
        prefix = module.__name__ + "."
        package = hasattr(module, "__path__")
        for obj in list(vars(module).values()):
            if defined_only:
                owner = getattr(obj, "__module__", None)
                if not isinstance(owner, str) or not (
                    owner == module.__name__ or (package and owner.startswith(prefix))
                ):
                    continue
            self.add(obj)

    def add_beside_use_cases(self) -> None:
        """Jobs and callbacks live beside the use cases that dispatch them."""
        for uc in list(self.use_cases):
            uc_module = sys.modules.get(uc.__module__)
            if uc_module is not None:
                for obj in list(vars(uc_module).values()):
                    if is_job(obj) or is_callback(obj):
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
                    # Exists, LoadById, Load...: every marker names its model.
                    marked = getattr(p.default, "model", None)
                    if is_model(marked):
                        _append(self.models, marked)
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

    def result(self) -> DiscoveryResult:
        self.follow_references()
        return DiscoveryResult(
            models=tuple(self.models),
            use_cases=tuple(self.use_cases),
            interfaces=tuple(self.interfaces),
            jobs=tuple(self.jobs),
            callbacks=tuple(self.callbacks),
            repositories=tuple(self.repositories),
        )

    def components(self) -> Components:
        return self.result().components()


def _append(items: list[type], obj: type) -> None:
    if obj not in items:
        items.append(obj)


def _module_names(value: Any, fail: Fail) -> list[str]:
    if isinstance(value, str):
        return [value]
    try:
        return [str(v) for v in value]
    except TypeError:
        raise fail("", "must be a list of module names") from None


@dataclass(frozen=True, slots=True)
class DiscoveryResult:
    """What an engine found. ``jobs``, ``callbacks`` and ``repositories`` are Loom's
    additions (0.2 returned the first three only)."""

    models: tuple[type, ...] = ()
    use_cases: tuple[type, ...] = ()
    interfaces: tuple[type, ...] = ()
    jobs: tuple[type, ...] = ()
    callbacks: tuple[type, ...] = ()
    repositories: tuple[type, ...] = ()

    def components(self) -> Components:
        return Components(
            models=self.models,
            use_cases=self.use_cases,
            jobs=self.jobs,
            callbacks=self.callbacks,
            interfaces=self.interfaces,
            repositories=self.repositories,
        )


@runtime_checkable
class DiscoveryEngine(Protocol):
    def discover(self) -> DiscoveryResult: ...


class ModulesDiscoveryEngine:
    """Imports ``module_paths`` and collects the components they define, then what
    those reference (models by foreign key, markers and interfaces; use cases by route)."""

    def __init__(self, module_paths: Sequence[str] | str, *, _fail: Fail = _plain_fail) -> None:
        self.module_paths = tuple(_module_names(module_paths, _fail))
        self._fail = _fail

    def discover(self) -> DiscoveryResult:
        collector = _Collector()
        for i, name in enumerate(self.module_paths):
            collector.scan(_import(name, self._fail, f"[{i}]"), defined_only=True)
        collector.follow_references()
        collector.add_beside_use_cases()
        return collector.result()


class InterfacesDiscoveryEngine:
    """Starts from the REST interfaces of ``interface_modules`` (module names, or
    ``"module:Class"`` for one interface) and follows what they reference.

    ``warn_recommended``: a listed module that holds no interface is most likely a
    mistake (a models module listed where its interface module was meant); warn then.
    """

    def __init__(
        self,
        interface_modules: Sequence[str] | str,
        *,
        warn_recommended: bool = True,
        _fail: Fail = _plain_fail,
    ) -> None:
        self.interface_modules = tuple(_module_names(interface_modules, _fail))
        self.warn_recommended = warn_recommended
        self._fail = _fail

    def discover(self) -> DiscoveryResult:
        collector = _Collector()
        for i, entry in enumerate(self.interface_modules):
            module_name, _, attr = entry.partition(":")
            module = _import(module_name, self._fail, f"[{i}]")
            if attr:
                obj = getattr(module, attr, None)
                if obj is None or not is_interface(obj):
                    raise self._fail(f"[{i}]", f"{entry!r} is not a RestInterface")
                collector.add(obj)
                continue
            found = [obj for obj in vars(module).values() if is_interface(obj)]
            if not found and self.warn_recommended:
                warnings.warn(
                    f"discovery: module {module_name!r} defines no RestInterface; list the "
                    "modules that declare the interfaces (or use discovery mode 'modules')",
                    UserWarning,
                    stacklevel=2,
                )
            for obj in found:
                collector.add(obj)
        collector.follow_references()
        collector.add_beside_use_cases()
        return collector.result()


class ManifestDiscoveryEngine:
    """Takes exactly what ``manifest_module`` (a module name or module) lists in
    ``MODELS``, ``USE_CASES``, ``INTERFACES``, ``JOBS``, ``CALLBACKS`` (``REPOSITORIES``
    register themselves with ``@repository_for`` on import)."""

    def __init__(self, manifest_module: str | ModuleType, *, _fail: Fail = _plain_fail) -> None:
        self.manifest_module = manifest_module
        self._fail = _fail

    def discover(self) -> DiscoveryResult:
        fail = self._fail
        if isinstance(self.manifest_module, ModuleType):
            manifest = self.manifest_module
        else:
            manifest = _import(str(self.manifest_module), fail)
        name = manifest.__name__
        collector = _Collector()
        for attr in ("MODELS", "REPOSITORIES", "USE_CASES", "JOBS", "CALLBACKS", "INTERFACES"):
            value = getattr(manifest, attr, ())
            if not isinstance(value, (list, tuple, set, frozenset)):
                raise fail("", f"{name}.{attr}: must be a list")
            for obj in value:
                if attr == "CALLBACKS" and isinstance(obj, type):
                    _append(collector.callbacks, obj)
                elif attr == "REPOSITORIES":
                    continue  # registered by @repository_for on import
                else:
                    before = _counts(collector)
                    collector.add(obj)
                    if _counts(collector) == before and not _already(collector, obj):
                        raise fail(
                            "",
                            f"{name}.{attr}: {getattr(obj, '__qualname__', obj)!r} is not a "
                            f"{attr.lower().rstrip('s').replace('_', ' ')}",
                        )
        return collector.result()


def _mode(found: DiscoverySettings) -> str:
    if found.mode is not None:
        return found.mode
    # No mode: 0.2's ``interfaces.modules`` means its default mode; otherwise the key
    # that is present says which one (configs written for Loom's old default,
    # ``modules``, keep working); none means ``interfaces``.
    if found.interfaces_modules is not None:
        return "interfaces"
    if found.modules:
        return "modules"
    if found.manifest:
        return "manifest"
    return "interfaces"


def engine_from_config(cfg: Any) -> DiscoveryEngine:
    """The engine ``app.discovery`` describes (``cfg``: the config or its
    ``AppSettings``); config errors name the file and key."""
    settings = settings_of(cfg)
    found = settings.app.discovery

    def fail_at(key: str) -> Fail:
        return lambda where, message: settings.error(key + where, message)

    mode = _mode(found)
    if mode == "modules":
        key = "app.discovery.modules.include"
        value = found.modules_include
        if value is None:
            raise settings.error(key, "is required for discovery mode 'modules'")
        return ModulesDiscoveryEngine(value, _fail=fail_at(key))
    if mode == "manifest":
        key = "app.discovery.manifest.module"
        name = found.manifest_module
        if not name:
            raise settings.error(key, "is required for discovery mode 'manifest'")
        return ManifestDiscoveryEngine(str(name), _fail=fail_at(key))
    if mode == "interfaces":
        key = "app.discovery.interfaces.modules"
        value = found.interfaces_modules
        if value is None and found.interfaces_include is not None:
            key = "app.discovery.interfaces.include"
            value = found.interfaces_include
        if value is None:
            raise settings.error(
                "app.discovery.interfaces.modules",
                "is required for discovery mode 'interfaces' (the default): list the "
                "modules that declare the REST interfaces, or set app.discovery.mode",
            )
        return InterfacesDiscoveryEngine(
            value, warn_recommended=found.warn_recommended, _fail=fail_at(key)
        )
    raise settings.error(
        "app.discovery.mode", f"unknown mode {mode!r}; use one of {', '.join(MODES)}"
    )


def discover(cfg: Any) -> Components:
    """What ``app.discovery`` finds (``cfg``: the config or its ``AppSettings``)."""
    settings = settings_of(cfg)
    add_code_path(settings)
    return engine_from_config(settings).discover().components()


def _counts(c: _Collector) -> tuple[int, ...]:
    return (len(c.models), len(c.use_cases), len(c.jobs), len(c.interfaces), len(c.callbacks))


def _already(c: _Collector, obj: Any) -> bool:
    return any(obj in group for group in (c.models, c.use_cases, c.jobs, c.interfaces, c.callbacks))
