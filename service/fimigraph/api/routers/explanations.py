"""``/explanations``: the proof tree of a link, down to claims, sources and quotes."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from ...explain import explain, render_text
from ..deps import StoreDep
from ..negotiation import choose

router = APIRouter(tags=["explanations"])


@router.get(
    "/explanations",
    summary="Proof tree of a link",
    responses={200: {"content": {"application/json": {}, "text/plain": {}}}},
)
def get_explanation(
    request: Request,
    store: StoreDep,
    link: str = Query(..., description="IRI of an attribution link, negative finding, conflict or claim."),
) -> Response:
    """Every rule and premise behind a link, with the sources' quotes (JSON, or text on Accept: text/plain)."""
    media = choose(request.headers.get("accept"), ["application/json", "text/plain"])
    tree = explain(store, link)
    if media == "text/plain":
        return PlainTextResponse(render_text(tree))
    return JSONResponse(tree)
