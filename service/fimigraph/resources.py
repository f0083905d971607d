"""Where the ontology, rules and seed case live, installed or in a checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def _root(name: str) -> Path:
    # A wheel carries the folders under fimigraph/_data; a checkout has them at the repo root.
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parents[1] / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"fimigraph's {name}/ folder is missing from the installation")


def ontology_dir() -> Path:
    """The folder of the OWL ontology in Turtle."""
    return _root("ontology")


def rules_dir() -> Path:
    """The folder of SHACL shapes and SHACL-AF rules."""
    return _root("rules")


def data_dir() -> Path:
    """The folder of real cases, analyst queries and sample inputs."""
    return _root("data")


def workbench_dir() -> Path:
    """The folder of the workbench's built assets (``web/`` builds it; the bundle is committed, so no npm at install)."""
    return _PACKAGE / "web" / "dist"
