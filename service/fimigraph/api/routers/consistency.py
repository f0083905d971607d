"""``/consistency``: check a document, or a loaded source, against the ontology's OWL axioms with HermiT."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from ...consistency import check, check_source
from ...errors import InputError
from ...ingest import ACCEPTED_MEDIA_TYPES, media_type_for, parse_document
from ..deps import EditorDep, SettingsDep, ViewDep, read_body
from ..problems import documented

router = APIRouter(tags=["consistency"])


@router.post(
    "/consistency",
    summary="Check a source against the ontology's OWL axioms (HermiT)",
    openapi_extra={"requestBody": {"required": False,
                                   "content": {media: {"schema": {"type": "string"}} for media in ACCEPTED_MEDIA_TYPES}}},
    responses=documented(403, 404, _413="Document over a size limit", _415="Unsupported media type"),
)
async def post_consistency(
    request: Request,
    store: ViewDep,
    caller: EditorDep,
    settings: SettingsDep,
    source: str | None = Query(None, description="Id (or IRI) of a loaded source to check, instead of a document in the body."),
) -> dict[str, Any]:
    """Run HermiT over the ontology plus one source: the document in the body (nothing is written), or a loaded source.

    The answer says whether they are consistent and, for each individual that breaks a
    disjointness axiom (a party typed as a state, a person as an account), the axiom and the
    statements and axioms that lead there. About 2 s: a Java process starts for each check, so
    editors only. A loaded source is looked up as the caller may see it.
    """
    body = await read_body(request, settings.max_upload_bytes)
    if source is not None:
        if body:
            raise InputError("send a document or name a loaded source (?source=), not both")
        return (await run_in_threadpool(check_source, store, source)).as_dict()
    if not body:
        raise InputError("send the document to check in the body, or name a loaded source with ?source=")
    media_type = media_type_for(None, request.headers.get("content-type") or "text/turtle")
    # Parsed on a thread, within the limits: a document nested thousands deep or an XML DTD is refused as for /sources.
    graph, _ = await run_in_threadpool(parse_document, body, media_type=media_type, limits=settings.limits)
    return (await run_in_threadpool(check, graph)).as_dict()
