"""A small constructor-injection container.

Keys are types: concrete classes, ``RepoFor[Model]`` aliases and repository
contracts (protocols). Building a class inspects its ``__init__`` annotations once;
an unresolvable parameter is a start-up error naming the class and the parameter.

Application services are registered with :func:`provide` (process-wide, read by every
runtime built afterwards) or passed to the runtime as ``services=``::

    provide(Mailer, SmtpMailer("smtp.example.com"))   # an instance
    provide(Clock, factory=SystemClock)                # built (once) on first use

Applications written for 0.2 use :class:`LoomContainer` (the runtime's container is
one) with a :class:`Scope` per registration, and DI modules: plain callables
``fn(container)`` that register providers, passed to the worker's
``create_app(modules=...)`` or to :func:`loom.bootstrap.build_runtime`::

    def infrastructure(container: LoomContainer) -> None:
        container.register(Mailer, SmtpMailer, scope=Scope.SINGLETON)
        container.register(Clock, SystemClock, scope=Scope.TRANSIENT)
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
import inspect
import typing
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = [
    "Container",
    "DIModule",
    "LoomContainer",
    "ResolutionError",
    "Scope",
    "apply_modules",
    "provide",
    "provided_services",
]


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


class Scope(enum.StrEnum):
    """How long a registered provider's instance lives.

    ``SINGLETON``: one per container, built on first use. ``TRANSIENT``: a new one on
    every resolution. ``REQUEST``: one per :meth:`LoomContainer.request_scope` block (a
    new one on every resolution outside such a block).
    """

    SINGLETON = "singleton"
    REQUEST = "request"
    TRANSIENT = "transient"


DIModule = Callable[["LoomContainer"], Any]
"""A DI module: ``fn(container)`` registers the application's providers."""

_REQUEST_CACHE: contextvars.ContextVar[dict[Any, Any] | None] = contextvars.ContextVar(
    "loom_di_request_cache", default=None
)


class LoomContainer(Container):
    """:class:`Container` with 0.2's registration surface: scoped providers that may be
    an instance, a class (built by constructor injection) or a factory callable.

    Instances registered the plain way (``register(key, instance)``) behave exactly as
    in :class:`Container`; a *class* given as the provider is built, not stored.
    """

    def __init__(self) -> None:
        super().__init__()
        self._scoped: dict[Any, tuple[Callable[[], Any], Scope]] = {}

    def register(
        self, key: Any, provider: Any = _MISSING, *, scope: Scope | str = Scope.SINGLETON
    ) -> None:
        """``provider``: an instance (always a singleton), a class to build (the key
        itself when omitted) or, with ``register_factory``, a callable."""
        scope = Scope(scope)
        if provider is _MISSING:
            provider = key
        if not isinstance(provider, type):
            if scope is not Scope.SINGLETON:
                raise TypeError(
                    f"register({_name(key)}, <instance>, scope={scope.name}): an instance "
                    "is one object; give a class or use register_factory for that scope"
                )
            self._scoped.pop(key, None)
            self._factories.pop(key, None)
            super().register(key, provider)
            return
        self.register_factory(key, provider, scope=scope)

    def register_factory(
        self,
        key: Any,
        factory: Callable[..., Any],
        *,
        scope: Scope | str = Scope.SINGLETON,
    ) -> None:
        """``factory()`` or ``factory(container)`` (when it takes one parameter) makes
        the instance; ``scope`` says how long it is kept."""
        scope = Scope(scope)
        if isinstance(factory, type):
            cls = factory
            call: Callable[[], Any] = lambda: self.build(cls)  # noqa: E731
        else:
            call = _zero_arg(factory, self)
        self._instances.pop(key, None)
        if scope is Scope.SINGLETON:
            self._scoped.pop(key, None)
            super().register_factory(key, call)
        else:
            self._factories.pop(key, None)
            self._scoped[key] = (call, scope)

    def register_instance(self, key: Any, instance: Any) -> None:
        self._scoped.pop(key, None)
        self._factories.pop(key, None)
        Container.register(self, key, instance)

    def resolve(self, key: Any) -> Any:
        scoped = self._scoped.get(key)
        if scoped is None:
            return super().resolve(key)
        factory, scope = scoped
        if scope is Scope.REQUEST:
            cache = _REQUEST_CACHE.get()
            if cache is not None:
                if key not in cache:
                    cache[key] = factory()
                return cache[key]
        return factory()

    def scope_of(self, key: Any) -> Scope | None:
        """The registered scope of ``key`` (``None`` when not registered here)."""
        try:
            if key in self._scoped:
                return self._scoped[key][1]
            if key in self._instances or key in self._factories:
                return Scope.SINGLETON
        except TypeError:  # an unhashable annotation is no registered key
            pass
        return None

    @contextlib.contextmanager
    def request_scope(self) -> Iterator[None]:
        """``REQUEST`` providers resolve to one instance per block."""
        token = _REQUEST_CACHE.set({})
        try:
            yield
        finally:
            _REQUEST_CACHE.reset(token)

    def install(self, *modules: DIModule) -> None:
        """Run DI modules: each is called as ``fn(container)``."""
        apply_modules(self, modules)


def apply_modules(container: LoomContainer, modules: Iterable[DIModule]) -> None:
    """Call each DI module with ``container``; a module that is not callable is an
    error naming it."""
    for module in modules:
        if not callable(module):
            raise TypeError(
                f"DI module {module!r} is not callable: a module is a function "
                "fn(container) that registers providers"
            )
        module(container)


def _name(key: Any) -> str:
    return str(getattr(key, "__qualname__", key))


def _zero_arg(factory: Callable[..., Any], container: Container) -> Callable[[], Any]:
    try:
        params = [
            p
            for p in inspect.signature(factory).parameters.values()
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return factory
    if len(params) == 1:
        return lambda: factory(container)
    return factory
