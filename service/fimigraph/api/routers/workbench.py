"""``/``: the analyst's workbench, a single page built from ``web/`` and served from the package.

It uses only the public API, as any other client: what a caller may not see through the API,
the page does not show. Nothing is fetched from elsewhere: the Content-Security-Policy below
lets the page load scripts, styles and data from this server only.
"""

from __future__ import annotations

import mimetypes
from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from ...errors import NotFound
from ...resources import workbench_dir

router = APIRouter(tags=["workbench"], include_in_schema=False)

# Inline styles: Cytoscape, CodeMirror and the results table set style attributes; scripts stay 'self' only.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'")


@cache
def _assets() -> dict[str, Path]:
    """The built assets by file name: only these are served (no path from a request reaches the file system)."""
    folder = workbench_dir() / "assets"
    return {p.name: p for p in folder.iterdir() if p.is_file()} if folder.is_dir() else {}


@router.get("/")
def index() -> Response:
    """The workbench's page."""
    page = workbench_dir() / "index.html"
    if not page.is_file():
        raise NotFound("the workbench is not built into this installation (build it from web/: npm ci && npm run build)")
    # Revalidated on every load: a new build's page names new asset files.
    return FileResponse(page, media_type="text/html", headers={
        "Cache-Control": "no-cache", "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"})


@router.get("/third-party-licenses")
def licences() -> Response:
    """The licences of the third-party code the workbench bundles."""
    path = workbench_dir() / "THIRD-PARTY-LICENSES.txt"
    if not path.is_file():
        raise NotFound("the workbench is not built into this installation")
    return FileResponse(path, media_type="text/plain; charset=utf-8", headers={"X-Content-Type-Options": "nosniff"})


@router.get("/assets/{name}")
def asset(name: str) -> Response:
    """One built asset (script, style sheet, font) by its file name."""
    path = _assets().get(name)
    if path is None:
        raise NotFound(f"no workbench asset named {name!r}")
    media = mimetypes.guess_type(name)[0] or "application/octet-stream"
    # The build names each file by a hash of its content: a name never changes meaning.
    return FileResponse(path, media_type=media, headers={
        "Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"})
