"""A real browser for the workbench's tests and bench: Debian's Chromium, driven by Playwright for Python.

Playwright's own browser download is not reachable from these machines; Debian's ``chromium``
package is (``.ci/run`` installs it), and Playwright drives it by its executable path.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
"""axe-core, copied from npm by the workbench's build (``web/scripts/after-build.mjs``)."""

# Headless, and quiet: without the background-networking flags Chromium keeps calling Google's
# hosts, which this machine's closed network refuses, many at a time.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium() -> str | None:
    """The Chromium to drive: ``$FIMIGRAPH_CHROMIUM``, else Debian's ``chromium`` on the PATH (None: no browser here)."""
    given = os.environ.get("FIMIGRAPH_CHROMIUM")
    if given:
        return given if Path(given).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch(playwright: Any, executable: str) -> Any:
    """Start headless Chromium with a new, empty profile (Playwright makes one per launch)."""
    return playwright.chromium.launch(executable_path=executable, headless=True, args=ARGS)


def axe_violations(page: Any, *, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict[str, Any]]:
    """The accessibility violations axe-core finds on the page as it is now, of these impacts.

    Injected through the DevTools protocol rather than a script tag: the page's Content-Security-Policy
    allows scripts from its own server only, and this test must not weaken it.
    """
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    found = page.evaluate("() => axe.run(document, { resultTypes: ['violations'] }).then(r => r.violations)")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in found if v["impact"] in impacts]
