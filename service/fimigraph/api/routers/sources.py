"""``/sources``: ingest, list, read and retract source documents."""

from __future__ import annotations

import base64
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ...errors import PayloadTooLarge
from ...ingest import ACCEPTED_MEDIA_TYPES, ingest, media_type_for, retract
from ...originals import original
from ...store import SourceInfo
from ..deps import ActorDep, CompactorDep, SettingsDep, StoreDep
from ..negotiation import choose

router = APIRouter(prefix="/sources", tags=["sources"])


def _info(info: SourceInfo) -> dict[str, Any]:
    return {**asdict(info), "types": list(info.types), "graph": str(info.graph)}


@router.post(
    "",
    status_code=201,
    summary="Ingest one source document",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {media: {"schema": {"type": "string"}} for media in ACCEPTED_MEDIA_TYPES},
        }
    },
    responses={
        400: {"description": "Malformed document (the problem names the line and column)"},
        409: {"description": "A source with that IRI is loaded already"},
        413: {"description": "Document over the size limit"},
        415: {"description": "Unsupported media type"},
        422: {"description": "The document breaks the SHACL shapes; the problem carries the report"},
    },
)
async def post_source(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    compactor: CompactorDep,
    actor: ActorDep,
    background: BackgroundTasks,
    replace: bool = Query(False, description="Replace the source if one with the same IRI is loaded."),
    base: str | None = Query(None, description="Base IRI for relative IRIs in the document."),
) -> JSONResponse:
    """Validate and store one document atomically, then bring inferences up to date.

    The body is the document itself, its format named by Content-Type: Turtle, TriG, JSON-LD,
    N-Triples, N-Quads, RDF/XML or a STIX 2.1 bundle (application/stix+json). On any error
    nothing is written.
    """
    media_type = media_type_for(None, request.headers.get("content-type") or "text/turtle")
    declared = int(request.headers.get("content-length") or 0)
    if declared > settings.max_upload_bytes:
        raise PayloadTooLarge(f"the document has {declared} bytes; the limit is {settings.max_upload_bytes}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > settings.max_upload_bytes:
            raise PayloadTooLarge(f"the document is over the limit of {settings.max_upload_bytes} bytes")
    result = await run_in_threadpool(
        ingest, store, bytes(body), media_type=media_type, base_iri=base, replace=replace, engine=settings.engine, actor=actor,
    )
    # After the response, in the thread pool: deciding reads the store (not on the event loop), and a
    # compaction took 35-73 s at 1M triples.
    background.add_task(compactor.compact_if_due)
    return JSONResponse(
        {**asdict(result), "warnings": list(result.warnings)},
        status_code=201,
        headers={"Location": f"/sources/{result.id}"},
    )


@router.get("", summary="List loaded sources")
def list_sources(
    store: StoreDep,
    response: Response,
    limit: int | None = Query(None, ge=1, description="At most this many sources (default: all)."),
    offset: int = Query(0, ge=0, description="Skip this many sources first (in id order)."),
) -> list[dict[str, Any]]:
    """Loaded sources in id order, with IRI, title, publisher and claim count; the total in ``X-Total-Count``."""
    response.headers["X-Total-Count"] = str(store.source_count())
    return [_info(info) for info in store.sources(limit=limit, offset=offset)]


@router.get(
    "/{source_id}",
    summary="One source",
    responses={200: {"content": {"application/json": {}, "text/turtle": {}, "application/n-triples": {}}}},
)
def get_source(source_id: str, request: Request, store: StoreDep) -> Response:
    """A source's metadata as JSON, or its claims and metadata as Turtle / N-Triples."""
    info = store.source(source_id)
    media = choose(request.headers.get("accept"), ["application/json", "text/turtle", "application/n-triples"])
    if media == "application/json":
        return JSONResponse(_info(info))
    metadata, claims = store.source_graphs(info.id)
    graph = metadata + claims
    return Response(graph.serialize(format="turtle" if media == "text/turtle" else "nt"), media_type=media)


@router.delete("/{source_id}", summary="Retract a source")
def delete_source(source_id: str, store: StoreDep, settings: SettingsDep, compactor: CompactorDep, actor: ActorDep,
                  background: BackgroundTasks) -> dict[str, Any]:
    """Remove a source's claims; inferences that rested on them go too (``GET /changes`` says which)."""
    info, report = retract(store, source_id, engine=settings.engine, actor=actor)
    background.add_task(compactor.compact_if_due)
    return {"deleted": _info(info), "inferred": report.triples}


@router.get(
    "/{source_id}/original",
    summary="A source's document as submitted",
    responses={200: {"content": {media: {} for media in ACCEPTED_MEDIA_TYPES}},
               404: {"description": "No such source, or no such version of it"},
               500: {"description": "The kept bytes no longer match their checksum (the error is logged)"}},
)
def get_original(
    source_id: str,
    store: StoreDep,
    sha256: str | None = Query(None, pattern="^[0-9a-fA-F]{64}$", description=(
        "A version by its checksum (as GET /changes gives it), also of a replaced or retracted source; default: the loaded one.")),
) -> Response:
    """The exact bytes and media type that were submitted, checked against their SHA-256 (also in ``ETag`` and ``Repr-Digest``)."""
    doc = original(store, source_id, sha256=sha256)
    digest = base64.b64encode(bytes.fromhex(doc.sha256)).decode()
    # The media type as recorded, with nothing added (Starlette would append a charset to text/*).
    return Response(doc.data, headers={"Content-Type": doc.media_type, "ETag": f'"{doc.sha256}"', "Repr-Digest": f"sha-256=:{digest}:"})
