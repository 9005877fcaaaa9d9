"""A small constructor-injection container.

Keys are types: concrete classes, ``RepoFor[Model]`` aliases and repository
contracts (protocols). Building a class inspects its ``__init__`` annotations once;
an unresolvable parameter is a start-up error naming the class and the parameter.

Application services are registered with :func:`provide` (process-wide, read by every
runtime built afterwards) or passed to the runtime as ``services=``::

    provide(Mailer, SmtpMailer("smtp.example.com"))   # an instance
    provide(Clock, factory=SystemClock)                # built (once) on first use
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

__all__ = ["Container", "ResolutionError", "provide", "provided_services"]


class ResolutionError(TypeError):
    pass


_MISSING: Any = object()
_PROVIDED: dict[Any, tuple[Any, Callable[[], Any] | None]] = {}


def provide(
    key: Any, instance: Any = _MISSING, *, factory: Callable[[], Any] | None = None
) -> None:
    """Make ``instance`` (or what ``factory()`` returns) injectable under ``key``."""
    if (instance is _MISSING) == (factory is None):
        raise TypeError("provide(key, instance) or provide(key, factory=...), not both")
    _PROVIDED[key] = (None if instance is _MISSING else instance, factory)


def provided_services() -> dict[Any, tuple[Any, Callable[[], Any] | None]]:
    """What :func:`provide` registered: ``key -> (instance, factory)``."""
    return dict(_PROVIDED)


class Container:
    def __init__(self) -> None:
        self._instances: dict[Any, Any] = {}
        self._factories: dict[Any, Callable[[], Any]] = {}
        self._generic: list[Callable[[Any], Any]] = []

    def register(self, key: Any, instance: Any) -> None:
        self._instances[key] = instance

    def register_factory(self, key: Any, factory: Callable[[], Any]) -> None:
        self._factories[key] = factory

    def add_resolver(self, resolver: Callable[[Any], Any]) -> None:
        """``resolver(key)`` returns an instance or raises ``LookupError``."""
        self._generic.append(resolver)

    def has(self, key: Any) -> bool:
        try:
            self.resolve(key)
        except LookupError:
            return False
        return True

    def resolve(self, key: Any) -> Any:
        if key in self._instances:
            return self._instances[key]
        factory = self._factories.get(key)
        if factory is not None:
            instance = self._instances[key] = factory()
            return instance
        for resolver in self._generic:
            try:
                return resolver(key)
            except LookupError:
                continue
        raise LookupError(key)

    def build(self, cls: type, **overrides: Any) -> Any:
        """An instance of ``cls`` with every constructor parameter injected by type."""
        init = cls.__dict__.get("__init__") or getattr(cls, "__init__")  # noqa: B009
        if init is object.__init__:
            return cls()
        hints = _init_hints(cls, init)
        kwargs: dict[str, Any] = {}
        for index, (name, p) in enumerate(inspect.signature(init).parameters.items()):
            if index == 0 or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            if name in overrides:
                kwargs[name] = overrides[name]
                continue
            annotation = hints.get(name)
            if annotation is None:
                if p.default is not p.empty:
                    continue
                raise ResolutionError(
                    f"{cls.__qualname__}.__init__: parameter {name!r} has no type "
                    "annotation to inject by"
                )
            try:
                kwargs[name] = self.resolve(annotation)
            except LookupError:
                if p.default is not p.empty:
                    continue
                raise ResolutionError(
                    f"{cls.__qualname__}.__init__: nothing registered for parameter "
                    f"{name!r}: {getattr(annotation, '__name__', annotation)!s}"
                ) from None
        return cls(**kwargs)


def _init_hints(cls: type, init: Any) -> dict[str, Any]:
    """``__init__``'s resolved annotations; one that cannot be resolved is an error
    naming its parameter."""
    try:
        return typing.get_type_hints(init, include_extras=False)
    except Exception:
        pass
    namespace = dict(getattr(init, "__globals__", {}))
    hints: dict[str, Any] = {}
    for name, raw in getattr(init, "__annotations__", {}).items():
        if name == "return":
            continue
        try:
            hints[name] = eval(raw, namespace) if isinstance(raw, str) else raw
        except Exception as exc:
            raise ResolutionError(
                f"{cls.__qualname__}.__init__: parameter {name!r}: cannot resolve its "
                f"annotation {raw!r} ({type(exc).__name__}: {exc})"
            ) from None
    return hints
