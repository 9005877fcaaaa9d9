"""Per-call use-case instances from a constructor plan resolved once at start-up.

0.2 builds a use case for every call, so an application may keep per-call state on
``self``. Resolving the constructor's dependencies is the expensive part (signature
and annotation inspection, container look-ups); it is done once here, and each call
only runs ``cls(**resolved)`` (or, with no constructor of its own, allocates the
instance and sets its repository).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
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


def instance_factory(cls: type, container: Container, main_repo: Any) -> Callable[[], Any]:
    """A no-argument callable building a new instance of use case ``cls``, with the
    dependencies the container resolved for it at start-up and ``main_repo`` set
    unless the constructor set one."""
    new = object.__new__
    if getattr(cls, "__init__") is UseCase.__init__:  # noqa: B009
        if main_repo is None:
            return lambda: new(cls)

        def bare() -> Any:
            inst: Any = new(cls)
            inst._main_repo = main_repo
            return inst

        return bare
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
