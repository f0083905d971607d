"""``/queries``: the analyst questions shipped with fimigraph (``data/queries/*.rq``), for the SPARQL editor."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter

from ...resources import data_dir

router = APIRouter(tags=["queries"])


@cache
def _queries() -> tuple[dict[str, Any], ...]:
    """The shipped questions, read once: they change only with the installation."""
    out = []
    for path in sorted((data_dir() / "queries").glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        out.append({"name": path.stem, "question": _question(text), "query": text})
    return tuple(out)


def _question(text: str) -> str | None:
    """The file's ``# Question:`` paragraph, its comment marks removed."""
    lines: list[str] = []
    for line in text.splitlines():
        body = line.lstrip("#").strip() if line.startswith("#") else None
        if not lines:
            if body and body.startswith("Question:"):
                lines.append(body.removeprefix("Question:").strip())
        elif body:  # the paragraph ends at an empty comment line or at the query
            lines.append(body)
        else:
            break
    return " ".join(lines) or None


@router.get("/queries", summary="Analyst questions in SPARQL")
def get_queries() -> list[dict[str, Any]]:
    """Each shipped question: its file name, the question it answers, and the query (run it on /sparql)."""
    return list(_queries())
