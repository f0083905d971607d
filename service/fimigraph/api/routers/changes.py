"""``/changes``: the change log, what each ingest, replace and retraction did to the conclusions."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from ...changes import DEFAULT_LIMIT, changes, parse_since
from ..deps import ViewDep
from ..problems import documented

router = APIRouter(tags=["changes"])


@router.get("/changes", summary="What changed in the conclusions, and because of which source", responses=documented(400))
def get_changes(
    store: ViewDep,
    since: str | None = Query(None, description="Changes made at or after this date (2024-05-02, from midnight UTC) or time (2024-05-02T14:00:00Z)."),
    subject: str | None = Query(None, description="Only changes that touched a conclusion about this subject (IRI), with only those effects."),
    state: str | None = Query(None, description="Only changes that touched a conclusion about this state (IRI), with only those effects."),
    source: str | None = Query(None, description="Only changes of this source (its id or IRI), retracted ones included."),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=1000, description="At most this many changes."),
    offset: int = Query(0, ge=0, description="Skip this many changes first (in the order they were made)."),
) -> JSONResponse:
    """Changes in the order they were made: when, who, which source and document, counts, and each conclusion added,
    removed, regraded or re-scored (figures before and after), with a summary line; the total in ``X-Total-Count``."""
    total, page = changes(store, since=parse_since(since) if since else None, subject=subject, state=state, source=source,
                          limit=limit, offset=offset)
    # Encoded as it is: a day of changes is hundreds of kilobytes, which FastAPI's own encoding would walk again.
    return JSONResponse(page, headers={"X-Total-Count": str(total)})
