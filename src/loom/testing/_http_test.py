"""``HttpTestHarness``: REST interfaces served on fake repositories, no config, no database.

::

    http = HttpTestHarness()
    http.inject_repo(Product, InMemoryRepository(Product))
    http.force_error(Order, "create", Conflict("duplicate order"))
    client = http.build_app([ProductInterface, OrderInterface])
    assert client.get("/products/1").status_code == 404

The app is Loom's own (the same routing, decoding, error bodies and status codes as
``create_app``), built from just the interfaces given: their use cases and models are
collected from the interfaces, every model's repository is the fake you injected or an
:class:`~loom.testing.InMemoryRepository`, and nothing is read from YAML. The client is
Starlette's synchronous ``TestClient`` with ``raise_server_exceptions=False``, so an
unexpected exception is answered as the 500 a client would see.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

from loom.core.discovery import _Collector
from loom.testing._faults import FaultSchedule, system_error
from loom.testing._harness import UseCaseHarness

__all__ = ["HttpTestHarness"]

# Keyword arguments build_app maps onto Loom's app.rest config keys.
_REST_KEYS = ("title", "version", "description", "docs_url", "redoc_url", "max_body_size")


class HttpTestHarness:
    """Fakes and faults first, then :meth:`build_app` for a ``TestClient``."""

    def __init__(self) -> None:
        self._repos: dict[type, Any] = {}
        self._faults = FaultSchedule()
        self.harness: UseCaseHarness | None = None
        """The use-case harness the last app runs on (repositories, captured jobs)."""
        self.app: Any = None

    def inject_repo(self, model: type, fake: Any) -> HttpTestHarness:
        """``model``'s repository in the app (anything with the methods its routes call)."""
        self._repos[model] = fake
        return self

    def force_error(
        self, model: type, method: str, exc: BaseException | type[BaseException]
    ) -> HttpTestHarness:
        """Make ``method`` of ``model``'s repository raise ``exc`` (a ``LoomError``
        becomes its status code; anything else a 500)."""
        self._faults.add(model, method, exc)
        return self

    def simulate_system_error(self, model: type, method: str) -> HttpTestHarness:
        """Make ``method`` fail as an infrastructure error would: a 500."""
        return self.force_error(model, method, system_error(model, method))

    def repo(self, model: type) -> Any:
        """The repository the last built app uses for ``model`` (to seed or inspect)."""
        if self.harness is None:
            raise RuntimeError("HttpTestHarness.repo: call build_app(...) first")
        return self.harness.repo(model)

    def build_app(self, interfaces: Iterable[type] | type, **fastapi_kwargs: Any) -> Any:
        """A ``TestClient`` over an app serving ``interfaces`` (one or several).

        ``title``, ``version``, ``description``, ``docs_url``, ``redoc_url`` and
        ``max_body_size`` configure the app as the ``app.rest`` keys would; any other
        keyword is set on the FastAPI app (``debug=True``...) and must be one of its
        attributes.
        """
        with warnings.catch_warnings():
            # Starlette deprecates its httpx-based client in favour of a package this
            # project does not depend on; the client works the same.
            warnings.filterwarnings("ignore", message=".*starlette.testclient.*")
            from fastapi.testclient import TestClient

        from loom.rest.fastapi.app import build_fastapi_app

        if isinstance(interfaces, type):
            interfaces = [interfaces]
        collector = _Collector()
        for interface in interfaces:
            collector.interfaces.append(interface)
        components = collector.components()
        rest = {k: fastapi_kwargs.pop(k) for k in _REST_KEYS if k in fastapi_kwargs}
        harness = UseCaseHarness(repositories=self._repos, config={"app": {"rest": rest}})
        harness._wrap = lambda model, repo: self._faults.wrap((model,), repo)
        runtime = harness.runtime
        for model in components.models:
            runtime.register_model(model)
        runtime.components.interfaces.extend(components.interfaces)
        runtime.components.use_cases.extend(components.use_cases)
        runtime.prepare()
        app = build_fastapi_app(runtime)
        for key, value in fastapi_kwargs.items():
            if not hasattr(app, key):
                raise TypeError(f"HttpTestHarness.build_app: FastAPI has no setting {key!r}")
            setattr(app, key, value)
        self.harness = harness
        self.app = app
        return TestClient(app, raise_server_exceptions=False)
