"""The workbench as the service serves it: the page, its assets built from web/, their size and licences.

What the page does in a browser is tested in ``test_workbench_browser.py``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

import fimigraph
from fimigraph.resources import workbench_dir

from support import REPO

DIST = workbench_dir()
WEB = REPO / "web"


def test_the_workbench_is_the_page_at_the_root(client: TestClient) -> None:
    """GET / answers the page, and every script and style sheet it names is served, from this server only."""
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert not [a for a in assets if re.match(r"(https?:)?//", a)], "the page loads nothing from elsewhere"
    scripts = [a for a in assets if a.endswith((".js", ".css"))]
    assert scripts
    for asset in scripts:
        answer = client.get("/" + asset.removeprefix("./"))
        assert answer.status_code == 200, asset
        assert answer.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript", "text/css")
        assert "immutable" in answer.headers["cache-control"]


def test_an_unknown_asset_is_a_404_and_no_path_reaches_the_disk(client: TestClient) -> None:
    """Only the built files are served, by name."""
    for path in ("/assets/nothing.js", "/assets/..%2F..%2F__init__.py", "/assets/%2E%2E%2Findex.html"):
        answer = client.get(path)
        assert answer.status_code == 404 and answer.headers["content-type"] == "application/problem+json", path


def test_the_workbench_is_not_part_of_the_api_description(client: TestClient) -> None:
    """OpenAPI lists the API (with /entities and /queries), not the page and its files."""
    paths = client.get("/openapi.json").json()["paths"]
    assert "/entities" in paths and "/queries" in paths
    assert "/" not in paths and not [p for p in paths if p.startswith("/assets")]


def _sources_digest() -> str:
    """The digest ``web/scripts/after-build.mjs`` records: every file under web/ but node_modules, path and content."""
    digest = hashlib.sha256()
    for path in sorted(p for p in WEB.rglob("*") if p.is_file() and "node_modules" not in p.relative_to(WEB).parts):
        digest.update(path.relative_to(WEB).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def test_the_committed_bundle_is_built_from_the_committed_sources() -> None:
    """A change to web/ comes with its build (cd web && npm ci && npm run build), so pip installs what the sources say."""
    build = json.loads((DIST / "build.json").read_text(encoding="utf-8"))
    assert build["sources_sha256"] == _sources_digest(), "web/ changed since the bundle was built: run `npm run build` in web/"


def test_the_bundle_fits_in_a_megabyte_gzipped() -> None:
    """Every script, style sheet and page of the workbench, gzipped, together under 1 MB."""
    files = [p for p in DIST.rglob("*") if p.suffix in (".js", ".css", ".html")]
    total = sum(len(gzip.compress(p.read_bytes(), compresslevel=9)) for p in files)
    assert 0 < total <= 1_000_000, f"{total} bytes gzipped"


def test_the_licences_of_what_the_bundle_holds_ship_with_it(client: TestClient) -> None:
    """Each third-party package bundled has its licence text in THIRD-PARTY-LICENSES.txt, which the page links to."""
    packages = json.loads((DIST / "third-party-packages.json").read_text(encoding="utf-8"))
    names = {p["name"] for p in packages}
    assert {"cytoscape", "@zazuko/yasgui", "codemirror", "jquery"} <= names
    text = client.get("/third-party-licenses")
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    for p in packages:
        assert f"{p['name']} {p['version']} ({p['license']})" in text.text
    assert "third-party-licenses" in client.get("/").text


def test_the_workbench_folder_is_in_the_package() -> None:
    """The bundle lives inside the Python package, where hatch's wheel takes it from (no npm at install)."""
    assert DIST.is_relative_to(Path(fimigraph.__file__).parent)
    assert (DIST / "index.html").is_file() and list((DIST / "assets").glob("*.js"))
