"""A small constructor-injection container.

Keys are types: concrete classes, ``RepoFor[Model]`` aliases and repository
contracts (protocols). Building a class inspects its ``__init__`` annotations once;
an unresolvable parameter is a start-up error naming the class and the parameter.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

__all__ = ["Container", "ResolutionError"]


class ResolutionError(TypeError):
    pass


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
        init = cls.__init__
        if init is object.__init__:
            return cls()
        try:
            hints = typing.get_type_hints(init, include_extras=False)
        except Exception as exc:
            raise ResolutionError(
                f"{cls.__qualname__}.__init__: cannot resolve annotations: {exc}"
            ) from None
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
                    f"{cls.__qualname__}.__init__: parameter {name!r} has no type annotation to inject by"
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
