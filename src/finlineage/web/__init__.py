"""The dashboard page (issue #7): plain ES modules and CSS served by the API itself.

`register(app)` (in `api.services.ROUTERS`) serves `GET /` (the page shell) and `/static/...`
(its own JavaScript, CSS and icon). Both are public: the page holds no data, and everything it
shows comes from the authenticated API, called with the key the user enters.

No build step, no CDN, no third-party JavaScript: what is in `static/` is what the browser runs.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"
INDEX = STATIC_DIR / "index.html"
STATIC_PREFIX = "/static"
PUBLIC_PREFIXES = ("/", STATIC_PREFIX)
"""Paths the page itself needs without a key (exactly `/`, and everything under /static)."""

_NO_STORE = {"Cache-Control": "no-cache"}


class _RevalidatingStatic(StaticFiles):
    """Static files that the browser revalidates (ETag) on every load: after an upgrade the page
    never mixes old and new modules."""

    def file_response(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        response = super().file_response(*args, **kwargs)
        response.headers.setdefault("Cache-Control", "no-cache")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response


def static_size_bytes() -> int:
    """Total size of the page's own code (HTML, CSS, JS, icon), uncompressed."""
    return sum(p.stat().st_size for p in STATIC_DIR.rglob("*") if p.is_file())


def register(app: FastAPI) -> None:
    """ROUTERS hook: `/` and `/static/*`."""

    @app.get("/", include_in_schema=False)
    def dashboard() -> Response:
        return FileResponse(INDEX, media_type="text/html; charset=utf-8", headers=_NO_STORE)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return FileResponse(STATIC_DIR / "img" / "logo.svg", media_type="image/svg+xml")

    app.mount(STATIC_PREFIX, _RevalidatingStatic(directory=STATIC_DIR), name="web-static")
