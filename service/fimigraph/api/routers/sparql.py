"""``/sparql``: the SPARQL 1.1 Protocol query endpoint (read-only)."""

from __future__ import annotations

from urllib.parse import parse_qs

import pyoxigraph as ox
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from ...errors import QueryError, UnsupportedFormat
from ...store import GraphStore
from ..deps import StoreDep
from ..negotiation import choose

router = APIRouter(tags=["sparql"])

RESULT_FORMATS = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
GRAPH_FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/ld+json": ox.RdfFormat.JSON_LD,
}
ALIASES = {"application/json": "application/sparql-results+json", "application/xml": "application/sparql-results+xml"}
GRAPH_ALIASES = {"application/json": "application/ld+json", "application/xml": "application/rdf+xml", "text/plain": "application/n-triples"}

DOC = """Run a SPARQL 1.1 query (SELECT, ASK, CONSTRUCT, DESCRIBE) over the union of all graphs.

Protocol parameters: `query` (exactly one), `default-graph-uri` and `named-graph-uri` (any number;
when given they define the dataset instead of the union). POST takes
`application/x-www-form-urlencoded` or `application/sparql-query`. Results follow `Accept`:
SPARQL JSON (default), XML, CSV, TSV; Turtle (default), N-Triples, RDF/XML or JSON-LD for graphs.
Updates are refused: this endpoint is read-only.
"""


def _one(params: dict[str, list[str]], name: str) -> str:
    values = params.get(name, [])
    if len(values) != 1:
        raise QueryError(f"send exactly one '{name}' parameter (got {len(values)})")
    return values[0]


def _run(store: GraphStore, params: dict[str, list[str]], accept: str | None) -> Response:
    if "update" in params:
        raise QueryError("this endpoint is read-only: SPARQL updates are refused (send 'query', not 'update')")
    query = _one(params, "query")
    results = store.query(
        query,
        default_graph=params.get("default-graph-uri") or None,
        named_graphs=params.get("named-graph-uri") or None,
    )
    if isinstance(results, ox.QueryTriples):
        media = choose(accept, list(GRAPH_FORMATS), aliases=GRAPH_ALIASES)
        body = ox.serialize(results, format=GRAPH_FORMATS[media])
    else:
        media = choose(accept, list(RESULT_FORMATS), aliases=ALIASES)
        body = results.serialize(format=RESULT_FORMATS[media])
    charset = "" if "charset" in media or media.endswith("json") else "; charset=utf-8"
    return Response(content=body, media_type=media + charset)


@router.get("/sparql", summary="SPARQL query (GET)", description=DOC)
def sparql_get(request: Request, store: StoreDep) -> Response:
    """SPARQL query by GET."""
    params = parse_qs(request.url.query, keep_blank_values=True)
    return _run(store, params, request.headers.get("accept"))


@router.post("/sparql", summary="SPARQL query (POST)", description=DOC)
async def sparql_post(request: Request, store: StoreDep) -> Response:
    """SPARQL query by POST, form-encoded or as a raw query."""
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    charset = "utf-8"
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "charset":
            charset = value.strip('"').lower()
    body = await request.body()
    try:
        text = body.decode(charset)
    except (LookupError, UnicodeDecodeError) as exc:
        raise QueryError(f"the request body is not valid {charset}: {exc}") from exc
    params = parse_qs(request.url.query, keep_blank_values=True)
    if media == "application/x-www-form-urlencoded":
        for key, values in parse_qs(text, keep_blank_values=True).items():
            params.setdefault(key, []).extend(values)
    elif media == "application/sparql-query":
        if "query" in params:
            raise QueryError("send the query either in the body or as a parameter, not both")
        params["query"] = [text]
    elif media == "application/sparql-update":
        raise QueryError("this endpoint is read-only: SPARQL updates are refused")
    else:
        raise UnsupportedFormat(
            f"POST /sparql takes application/x-www-form-urlencoded or application/sparql-query, not {media or 'no content type'!r}"
        )
    return await run_in_threadpool(_run, store, params, request.headers.get("accept"))
