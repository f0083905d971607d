"""``/explanations``: the proof of a conclusion, down to claims, sources and quotes."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from ...explain import explain, render_text
from ..deps import ViewDep
from ..negotiation import choose
from ..problems import documented

router = APIRouter(tags=["explanations"])


@router.get(
    "/explanations",
    summary="Proof of a conclusion",
    responses={200: {"content": {"application/json": {}, "text/plain": {}}}, **documented(400, 404, 406)},
)
def get_explanation(
    request: Request,
    store: ViewDep,
    link: str = Query(..., description="IRI of an attribution link, negative finding, conflict or claim."),
    all: bool = Query(False, description="List every other derivation, not only the five most confident."),  # noqa: A002 - the parameter's public name
) -> Response:
    """A summary paragraph, the best derivation's tree with the sources' quotes, the other derivations ranked (JSON, or text on Accept: text/plain)."""
    media = choose(request.headers.get("accept"), ["application/json", "text/plain"])
    tree = explain(store, link, all_derivations=all)
    if media == "text/plain":
        return PlainTextResponse(render_text(tree))
    return JSONResponse(tree)
