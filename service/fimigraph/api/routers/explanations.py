"""``/explanations``: the proof of a conclusion, down to claims, sources and quotes."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from ...explain import explain, render_text
from ...whynot import render_text as render_why_not, why_not
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


@router.get(
    "/explanations/why-not",
    summary="What a stronger grade would need",
    responses={200: {"content": {"application/json": {}, "text/plain": {}}}, **documented(400, 404, 406)},
)
def get_why_not(
    request: Request,
    store: ViewDep,
    subject: str = Query(..., description="IRI of an account, actor or campaign."),
    state: str = Query(..., description="IRI of a state (or state organ)."),
    grade: str = Query(..., description="A grade: state-official, state-controlled, state-linked, party-linked or state-aligned."),
) -> Response:
    """Each rule that could give the grade, with the premises it finds and the first it lacks (in words, following a missing
    link down to the claims a source would have to make), and the negative findings, conflicts and disputes against it
    (JSON, or text on Accept: text/plain)."""
    media = choose(request.headers.get("accept"), ["application/json", "text/plain"])
    answer = why_not(store, subject, state, grade)
    if media == "text/plain":
        return PlainTextResponse(render_why_not(answer))
    return JSONResponse(answer)
