"""Per-call use-case instances from a constructor plan resolved once at start-up.

0.2 builds a use case for every call, so an application may keep per-call state on
``self``. Resolving the constructor's dependencies is the expensive part (signature
and annotation inspection, container look-ups); it is done once here, and each call
only runs ``cls(**resolved)`` (or, with no constructor of its own, allocates the
instance and sets its repository).

A class that provably keeps no state on its instances (no constructor of its own, and
no code in its methods that assigns or deletes an attribute, or reaches ``setattr``,
``delattr`` or ``__dict__``) shares one instance: a new one would be indistinguishable.
"""

from __future__ import annotations

import dis
import inspect
import types
from collections.abc import Callable, Iterator
from typing import Any

from loom.core.di import Container, _init_hints
from loom.core.use_case.use_case import UseCase

__all__ = ["instance_factory"]


def _resolved_kwargs(cls: type, container: Container) -> dict[str, Any]:
    """The keyword arguments ``Container.build`` passes to ``cls``."""
    init = cls.__dict__.get("__init__") or getattr(cls, "__init__")  # noqa: B009
    hints = _init_hints(cls, init)
    kwargs: dict[str, Any] = {}
    for index, (name, p) in enumerate(inspect.signature(init).parameters.items()):
        if index == 0 or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        annotation = hints.get(name)
        if annotation is None:
            continue  # Container.build refused it already unless it has a default
        try:
            kwargs[name] = container.resolve(annotation)
        except LookupError:
            continue
    return kwargs


def _has_per_call_dependency(cls: type, container: Container) -> bool:
    """A constructor parameter registered with a TRANSIENT or REQUEST scope
    (``LoomContainer``): it must be resolved again for every call."""
    scope_of = getattr(container, "scope_of", None)
    if scope_of is None:
        return False
    init = cls.__dict__.get("__init__") or getattr(cls, "__init__")  # noqa: B009
    try:
        hints = _init_hints(cls, init)
    except Exception:
        return False
    return any(scope_of(h) not in (None, "singleton") for h in hints.values() if h is not None)


_WRITES = frozenset({"STORE_ATTR", "DELETE_ATTR"})
_ESCAPES = frozenset({"setattr", "delattr", "__dict__", "__setattr__", "__delattr__", "vars"})


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _functions(cls: type) -> Iterator[Any]:
    """The functions of ``cls`` and its own bases; None for a descriptor that is not
    a plain function (it cannot be inspected)."""
    for klass in cls.__mro__:
        if klass in (UseCase, object) or klass.__module__ == "typing":
            continue
        for name, value in vars(klass).items():
            if name.startswith("__") and name.endswith("__") and name != "__call__":
                continue  # class machinery (__orig_bases__, __parameters__...)
            if isinstance(value, staticmethod | classmethod):
                value = value.__func__
            if isinstance(value, property):
                yield from (f for f in (value.fget, value.fset, value.fdel) if f is not None)
            elif isinstance(value, types.FunctionType):
                yield value
            elif hasattr(type(value), "__get__") and not isinstance(value, type):
                yield None  # another descriptor (cached_property, partialmethod...)


def is_stateless(cls: type) -> bool:
    """True when no method of ``cls`` can change an instance's attributes."""
    if getattr(cls, "__init__") is not UseCase.__init__:  # noqa: B009
        return False
    for fn in _functions(cls):
        if fn is None:
            return False
        for co in _code_objects(fn.__code__):
            if _ESCAPES.intersection(co.co_names):
                return False
            if any(ins.opname in _WRITES for ins in dis.get_instructions(co)):
                return False
    return True


def instance_factory(cls: type, container: Container, main_repo: Any) -> Callable[[], Any] | None:
    """A no-argument callable building a new instance of use case ``cls``, with the
    dependencies the container resolved for it at start-up and ``main_repo`` set
    unless the constructor set one; None when ``cls`` is stateless (one instance
    serves every call)."""
    if is_stateless(cls):
        return None
    new = object.__new__
    if getattr(cls, "__init__") is UseCase.__init__:  # noqa: B009
        if main_repo is None:
            return lambda: new(cls)

        def bare() -> Any:
            inst: Any = new(cls)
            inst._main_repo = main_repo
            return inst

        return bare
    if _has_per_call_dependency(cls, container):

        def rebuilt() -> Any:
            inst = container.build(cls)
            if main_repo is not None and "_main_repo" not in inst.__dict__:
                inst._main_repo = main_repo
            return inst

        return rebuilt
    try:
        kwargs = _resolved_kwargs(cls, container)
    except Exception:
        return lambda: container.build(cls)
    if main_repo is None:
        return lambda: cls(**kwargs)

    def build() -> Any:
        inst = cls(**kwargs)
        if "_main_repo" not in inst.__dict__:
            inst._main_repo = main_repo
        return inst

    return build
