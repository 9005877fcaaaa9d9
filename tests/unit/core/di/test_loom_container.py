"""0.2's DI surface: ``LoomContainer``, ``Scope`` and DI modules ``fn(container)``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from loom.bootstrap import build_runtime
from loom.core.di import LoomContainer, Scope
from loom.core.runtime import Components
from loom.core.use_case.use_case import UseCase


class Clock:
    pass


class Mailer:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock


class Session:
    pass


def test_scopes() -> None:
    c = LoomContainer()
    c.register(Clock, scope=Scope.SINGLETON)
    c.register(Mailer, Mailer, scope=Scope.TRANSIENT)
    c.register(Session, scope=Scope.REQUEST)
    assert c.resolve(Clock) is c.resolve(Clock)
    a, b = c.resolve(Mailer), c.resolve(Mailer)
    assert a is not b and a.clock is b.clock is c.resolve(Clock)  # built by injection
    assert c.resolve(Session) is not c.resolve(Session)  # outside a request: fresh
    with c.request_scope():
        first = c.resolve(Session)
        assert c.resolve(Session) is first
    with c.request_scope():
        assert c.resolve(Session) is not first
    assert (c.scope_of(Clock), c.scope_of(Mailer), c.scope_of(Session)) == (
        Scope.SINGLETON,
        Scope.TRANSIENT,
        Scope.REQUEST,
    )


async def test_request_scope_is_per_task() -> None:
    c = LoomContainer()
    c.register(Session, scope=Scope.REQUEST)

    async def one() -> Session:
        with c.request_scope():
            got = c.resolve(Session)
            await asyncio.sleep(0)
            assert c.resolve(Session) is got
            return got

    x, y = await asyncio.gather(one(), one())
    assert x is not y


def test_instances_and_factories() -> None:
    c = LoomContainer()
    clock = Clock()
    c.register(Clock, clock)
    assert c.resolve(Clock) is clock
    c.register_factory(Mailer, lambda container: Mailer(container.resolve(Clock)))
    assert c.resolve(Mailer).clock is clock and c.resolve(Mailer) is c.resolve(Mailer)
    c.register_factory(Session, Session, scope=Scope.TRANSIENT)
    assert c.resolve(Session) is not c.resolve(Session)
    with pytest.raises(TypeError, match="TRANSIENT"):
        c.register(Clock, Clock(), scope=Scope.TRANSIENT)


def test_install_runs_modules_and_names_a_bad_one() -> None:
    c = LoomContainer()

    def infra(container: LoomContainer) -> None:
        container.register(Clock, scope=Scope.SINGLETON)

    c.install(infra)
    assert isinstance(c.resolve(Clock), Clock)
    with pytest.raises(TypeError, match="not callable"):
        c.install("app.di")  # type: ignore[arg-type]


class DiNote(UseCase[Any, str]):
    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer

    async def execute(self) -> str:
        return type(self.mailer.clock).__name__


async def test_build_runtime_modules_feed_use_cases(tmp_path: Path) -> None:
    def infra(container: LoomContainer) -> None:
        container.register(Clock)
        container.register(Mailer, Mailer, scope=Scope.SINGLETON)

    cfg = {"app": {"name": "di"}, "database": {"url": f"sqlite+aiosqlite:///{tmp_path}/d.db"}}
    runtime = build_runtime(cfg, components=Components(use_cases=[DiNote]), modules=[infra])
    assert isinstance(runtime.container, LoomContainer)
    await runtime.startup()
    try:
        assert await runtime.execute(DiNote) == "Clock"
    finally:
        await runtime.shutdown()


SEEN: list[tuple[Session, Clock]] = []


class DiFresh(UseCase[Any, None]):
    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    async def execute(self) -> None:
        SEEN.append((self.session, self.clock))


async def test_transient_dependencies_are_fresh_per_call(tmp_path: Path) -> None:
    def infra(container: LoomContainer) -> None:
        container.register(Session, scope=Scope.TRANSIENT)
        container.register(Clock)

    cfg = {"app": {"name": "di2"}, "database": {"url": f"sqlite+aiosqlite:///{tmp_path}/e.db"}}
    runtime = build_runtime(cfg, components=Components(use_cases=[DiFresh]), modules=[infra])
    await runtime.startup()
    try:
        await runtime.execute(DiFresh)
        await runtime.execute(DiFresh)
    finally:
        await runtime.shutdown()
    (s1, c1), (s2, c2) = SEEN[-2:]
    assert s1 is not s2 and c1 is c2
