"""``/sources``: ingest, list, read and retract source documents."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ...callers import Caller
from ...errors import Forbidden, UnsupportedFormat
from ...ingest import (ACCEPTED_MEDIA_TYPES, SourceDocument, check_consistency, media_type_for, read_document, retract,
                       write_document)
from ...querypool import QueryPool
from ...store import GraphStore, SourceInfo
from ...views import document_rank, most_restrictive, notation
from ..deps import CompactorDep, EditorDep, QueryPoolDep, SettingsDep, StoreDep, ViewDep, read_body
from ..negotiation import choose
from ..problems import documented

router = APIRouter(prefix="/sources", tags=["sources"])

MAX_PAGE = 2**63 - 1
"""The largest limit or offset: what SPARQL's LIMIT and OFFSET take."""


def _changed(store: GraphStore, pool: QueryPool) -> None:
    """After a change (made, or failed): the query workers open the store anew before their next query.

    Flushed first: a read-only open replays RocksDB's write-ahead log, about 15 ms a MB, and
    without flushes the log of a server taking changes grew to 100 MB (1.5 s for every reopen).
    A flush after a change took 10-190 ms at 100k triples.
    """
    store.flush()
    pool.store_changed()


def _check_within_clearance(doc: SourceDocument, caller: Caller) -> None:
    """Refuse (403) a document marked above what its caller may read: no one writes what it could not read back."""
    rank = document_rank(doc.metadata + doc.claims)
    if rank > caller.clearance:
        raise Forbidden(f"the document is marked {notation(rank)}, above {caller.name}'s clearance ({notation(caller.clearance)})")


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
    responses=documented(
        403, 503,
        _400="Malformed document (the problem names the line and column), nested too deep, or an XML DTD",
        _409="A source with that IRI is loaded already",
        _413="Document over a size limit: bytes, triples or the length of a literal (the problem names it)",
        _415="Unsupported media type, or none given",
        _422="The document breaks the SHACL shapes; the problem carries the report",
    ),
)
async def post_source(
    request: Request,
    store: StoreDep,
    caller: EditorDep,
    settings: SettingsDep,
    compactor: CompactorDep,
    pool: QueryPoolDep,
    background: BackgroundTasks,
    replace: bool = Query(False, description="Replace the source if one with the same IRI is loaded."),
    base: str | None = Query(None, description="Base IRI for relative IRIs in the document."),
) -> JSONResponse:
    """Validate and store one document atomically, then bring inferences up to date.

    The body is the document itself, its format named by Content-Type: Turtle, TriG, JSON-LD,
    N-Triples, N-Quads, RDF/XML or a STIX 2.1 bundle (application/stix+json). On any error
    nothing is written.
    """
    declared = request.headers.get("content-type")
    if not declared:  # never guessed: a form a browser posts across sites has one, and it is not RDF
        raise UnsupportedFormat(f"name the document's format with Content-Type: one of {', '.join(ACCEPTED_MEDIA_TYPES)}")
    media_type = media_type_for(None, declared)
    body = await read_body(request, settings.max_upload_bytes, "max_upload_bytes")
    doc = await run_in_threadpool(read_document, body, media_type=media_type, base_iri=base, limits=settings.limits)
    _check_within_clearance(doc, caller)
    if settings.owl_check:
        await run_in_threadpool(check_consistency, doc.metadata + doc.claims)
    try:
        result = await run_in_threadpool(write_document, store, doc, replace=replace, engine=settings.engine)
    finally:  # whether it was written or failed: the workers cannot tell, so they read the store anew
        await run_in_threadpool(_changed, store, pool)
    # After the response, in the thread pool: deciding reads the store (not on the event loop), and a
    # compaction took 35-73 s at 1M triples.
    background.add_task(compactor.compact_if_due)
    answer = {**asdict(result), "warnings": list(result.warnings)}
    if caller.clearance < most_restrictive():  # the whole inferred graph's size counts what the caller may not see
        answer["inferred"] = None
    return JSONResponse(
        answer,
        status_code=201,
        headers={"Location": f"/sources/{result.id}"},
    )


@router.get("", summary="List loaded sources", responses=documented(400))
def list_sources(
    store: ViewDep,
    response: Response,
    limit: int | None = Query(None, ge=1, le=MAX_PAGE, description="At most this many sources (default: all)."),
    offset: int = Query(0, ge=0, le=MAX_PAGE, description="Skip this many sources first (in id order)."),
) -> list[dict[str, Any]]:
    """Loaded sources in id order, with IRI, title, publisher and claim count; the total in ``X-Total-Count``."""
    response.headers["X-Total-Count"] = str(store.source_count())
    return [_info(info) for info in store.sources(limit=limit, offset=offset)]


@router.get(
    "/{source_id}",
    summary="One source",
    responses={200: {"content": {"application/json": {}, "text/turtle": {}, "application/n-triples": {}}}, **documented(404, 406)},
)
def get_source(source_id: str, request: Request, store: ViewDep) -> Response:
    """A source's metadata as JSON, or its claims and metadata as Turtle / N-Triples."""
    info = store.source(source_id)
    media = choose(request.headers.get("accept"), ["application/json", "text/turtle", "application/n-triples"])
    if media == "application/json":
        return JSONResponse(_info(info))
    metadata, claims = store.source_graphs(info.id)
    graph = metadata + claims
    return Response(graph.serialize(format="turtle" if media == "text/turtle" else "nt"), media_type=media)


@router.delete("/{source_id}", summary="Retract a source", responses=documented(403, 404, 503))
def delete_source(source_id: str, store: StoreDep, view: ViewDep, caller: EditorDep, settings: SettingsDep,
                  compactor: CompactorDep, pool: QueryPoolDep, background: BackgroundTasks) -> dict[str, Any]:
    """Remove a source's claims; inferences that rested on them go too."""
    view.source(source_id)  # 404 before anything is written, and for a source the caller may not see
    try:
        info, report = retract(store, source_id, engine=settings.engine)
    finally:  # whether it was retracted or failed: the workers read the store anew
        _changed(store, pool)
    background.add_task(compactor.compact_if_due)
    return {"deleted": _info(info), "inferred": report.triples if caller.clearance >= most_restrictive() else None}
