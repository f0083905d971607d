"""``/entities``: entities by label or IRI, for type-ahead search and for naming the nodes of a graph."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from ... import entities
from ...errors import InputError
from ..deps import ViewDep

router = APIRouter(tags=["entities"])


@router.get("/entities", summary="Find entities by label or IRI")
def get_entities(
    store: ViewDep,
    q: str | None = Query(None, max_length=entities.MAX_QUERY_LENGTH,
                          description="Text to find in labels or IRIs (case-insensitive); an exact IRI comes first."),
    iri: list[str] = Query([], description=f"Describe these IRIs instead (repeat the parameter; at most {entities.MAX_IRIS})."),
    limit: int = Query(10, ge=1, le=entities.MAX_RESULTS, description="At most this many entities (search only)."),
) -> list[dict[str, Any]]:
    """Entities with label, kind (account, actor, party, organ, state, campaign, narrative, source…) and types.

    Either ``q`` (a search, best matches first: exact label, label starting with it, label holding
    it, IRI holding it) or ``iri`` (a lookup, in the order given), not both.
    """
    if (q is None) == (not iri):
        raise InputError("give either q (text to search for) or iri (IRIs to describe), not both or neither")
    if q is not None:
        return entities.search(store, q, limit=limit)
    return entities.describe(store, iri)
