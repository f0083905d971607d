"""``/attribution``: the graded links of one subject."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from ...attribution import attribution
from ..deps import StoreDep

router = APIRouter(tags=["attribution"])


@router.get("/attribution", summary="Graded attribution of a subject")
def get_attribution(
    store: StoreDep,
    subject: str = Query(..., description="IRI of an account, actor or campaign."),
) -> dict[str, Any]:
    """Links to states (strongest grade first), negative findings beside them, and conflicts."""
    return attribution(store, subject)
