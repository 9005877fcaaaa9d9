"""``HttpHarness``: the real application from its config, on a throwaway database.

The app is built exactly as ``loom run`` builds it (``create_app(*config_paths)``),
with ``database.url`` pointed at a new SQLite file in a temporary folder (its tables
created at start-up) unless you pass another URL, and served to an
``httpx.AsyncClient`` over ASGI with the app's lifespan running. Nothing listens on a
port; the folder is removed on exit.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from loom.core.config.loader import load_config
from loom.testing._jobs import JobCapture

__all__ = ["HttpHarness"]


class HttpHarness:
    """``async with HttpHarness("config/api.yaml") as http: await http.get("/users")``.

    ``overrides`` sets config keys by dotted name (``{"metrics.enabled": False}``);
    ``database_url`` replaces the throwaway SQLite database (e.g. a PostgreSQL test
    database); ``capture_jobs=True`` records dispatches in :attr:`jobs` instead of
    running them (release them with ``await http.jobs.release()``).

    ``get/post/put/patch/delete/request`` are the ``httpx.AsyncClient`` methods;
    :attr:`client`, :attr:`app` and :attr:`runtime` are there for anything else.
    """

    def __init__(
        self,
        *config_paths: str | Path,
        overrides: Mapping[str, Any] | None = None,
        database_url: str | None = None,
        capture_jobs: bool = False,
        base_url: str = "http://testserver",
    ) -> None:
        if not config_paths:
            raise ValueError("HttpHarness needs the application's config file(s)")
        self._paths = config_paths
        self._overrides = dict(overrides or {})
        self._database_url = database_url
        self._capture = capture_jobs
        self._base_url = base_url
        self._tmp: Path | None = None
        self._lifespan: Any = None
        self.app: Any = None
        self.client: Any = None
        self.jobs: JobCapture | None = None

    @property
    def runtime(self) -> Any:
        """The application's :class:`~loom.core.runtime.Runtime` (repositories, jobs)."""
        return self.app.state.loom

    def repo(self, model: type) -> Any:
        """A model's repository, to seed or check rows behind the API's back."""
        return self.runtime.repo_for(model)

    async def __aenter__(self) -> HttpHarness:
        import httpx

        from loom.rest.fastapi.auto import create_app

        cfg = load_config(*self._paths)
        url = self._database_url
        if url is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="loom-test-"))
            url = f"sqlite+aiosqlite:///{self._tmp / 'app.db'}"
        settings: dict[str, Any] = {"database.url": url, "database.create_tables": True}
        settings.update(self._overrides)
        for key, value in settings.items():
            OmegaConf.update(cfg, key, value, force_add=True)
        try:
            self.app = create_app(cfg)
            if self._capture:
                service = self.runtime.job_service
                self.jobs = JobCapture(service.backend)
                service.backend = self.jobs
            self._lifespan = self.app.router.lifespan_context(self.app)
            await self._lifespan.__aenter__()
        except BaseException:
            self._cleanup()
            raise
        transport = httpx.ASGITransport(app=self.app)
        self.client = httpx.AsyncClient(transport=transport, base_url=self._base_url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self.client is not None:
                await self.client.aclose()
            if self._lifespan is not None:
                await self._lifespan.__aexit__(None, None, None)
        finally:
            self._cleanup()

    def _cleanup(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # -- the client's verbs ------------------------------------------------------------

    async def request(self, method: str, url: str, **kwargs: Any) -> Any:
        return await self.client.request(method, url, **kwargs)

    async def get(self, url: str, **kwargs: Any) -> Any:
        return await self.client.get(url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> Any:
        return await self.client.post(url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> Any:
        return await self.client.put(url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> Any:
        return await self.client.patch(url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> Any:
        return await self.client.delete(url, **kwargs)
