"""``/attribution``: the graded links of one subject."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from ...attribution import attribution
from ...stix import export_attribution
from ..deps import ViewDep
from ..negotiation import choose
from ..problems import documented

STIX_JSON = "application/stix+json"

router = APIRouter(tags=["attribution"])


@router.get(
    "/attribution",
    summary="Graded attribution of a subject",
    responses={200: {"content": {"application/json": {}, STIX_JSON: {}}}, **documented(400, 404, 406)},
)
def get_attribution(
    request: Request,
    store: ViewDep,
    subject: str = Query(..., description="IRI of an account, actor or campaign."),
) -> JSONResponse:
    """Links to states (strongest grade first), negative findings beside them, and conflicts.

    JSON by default; a STIX 2.1 bundle (``attributed-to`` relationships with fimigraph's
    extension for grade, directness, via and negative findings) on ``Accept: application/stix+json``.
    """
    media = choose(request.headers.get("accept"), ["application/json", STIX_JSON])
    if media == STIX_JSON:
        return JSONResponse(export_attribution(store, subject), media_type=STIX_JSON)
    return JSONResponse(attribution(store, subject))
