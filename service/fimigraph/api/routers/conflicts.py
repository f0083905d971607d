"""``/conflicts``: disagreements to review, both sides with their sources and quotes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response

from ...conflicts import DEFAULT_LIMIT, conflicts
from ..deps import ViewDep
from ..problems import documented

router = APIRouter(tags=["conflicts"])


@router.get("/conflicts", summary="Conflicts to review", responses=documented(400, 404))
def get_conflicts(
    store: ViewDep,
    response: Response,
    state: str | None = Query(None, description="Only conflicts about this state (IRI)."),
    subject: str | None = Query(None, description="Only conflicts about this subject (IRI)."),
    source: str | None = Query(None, description="Only conflicts a side of which rests on this source (id or IRI)."),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=1000, description="At most this many conflicts."),
    offset: int = Query(0, ge=0, description="Skip this many conflicts first (in IRI order)."),
) -> list[dict[str, Any]]:
    """Each conflict with its kind, subject, state and both sides, each side with the sources and verbatim quotes under it;
    the total in ``X-Total-Count``. An analyst settles one by recording their own assessment as a source, never by deleting a side."""
    total, page = conflicts(store, state=state, subject=subject, source=source, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    return page
