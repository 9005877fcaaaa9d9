"""Swagger UI served from the application itself, not from a CDN.

FastAPI's default ``/docs`` page loads Swagger UI's JavaScript and CSS from a public
CDN, so it stays blank on a machine without internet access (CI, air-gapped
deployments). When the ``swagger-ui-bundle-v2`` package (part of the ``rest``
extra) is installed, its files are served under ``<docs_url>/assets``; otherwise
the page falls back to the CDN.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from loom.rest.asgi._fast_router import LabelledRoute

__all__ = ["install_swagger_ui", "local_swagger_assets"]


def local_swagger_assets() -> Path | None:
    """The folder holding ``swagger-ui-bundle.js`` and ``swagger-ui.css``, if installed."""
    try:
        import swagger_ui_bundle
    except ImportError:
        return None
    folder = Path(str(swagger_ui_bundle.swagger_ui_path))
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def install_swagger_ui(app: FastAPI, docs_url: str, *, title: str, openapi_url: str) -> None:
    """Serve Swagger UI at ``docs_url`` (and its OAuth2 redirect page)."""
    assets = local_swagger_assets()
    base = docs_url.rstrip("/")
    oauth2_url = f"{base}/oauth2-redirect"
    kwargs: dict[str, str] = {}
    if assets is not None:
        app.mount(f"{base}/assets", StaticFiles(directory=assets), name="swagger-ui-assets")
        kwargs = {
            "swagger_js_url": f"{base}/assets/swagger-ui-bundle.js",
            "swagger_css_url": f"{base}/assets/swagger-ui.css",
            "swagger_favicon_url": f"{base}/assets/favicon-32x32.png",
        }

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        page_kwargs = {k: root + v for k, v in kwargs.items()}
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{title} - Swagger UI",
            oauth2_redirect_url=root + oauth2_url,
            **page_kwargs,
        )

    async def oauth2_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    for path, endpoint in ((docs_url, swagger_ui), (oauth2_url, oauth2_redirect)):
        app.router.routes.append(LabelledRoute(path, endpoint, include_in_schema=False))
