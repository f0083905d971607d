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
Bodies and percent-encoded parameters are UTF-8; relative IRIs resolve against the endpoint URL.
Updates are refused: this endpoint is read-only.
"""


def _one(params: dict[str, list[str]], name: str) -> str:
    values = params.get(name, [])
    if len(values) != 1:
        raise QueryError(f"send exactly one '{name}' parameter (got {len(values)})")
    return values[0]


def _params(text: str) -> dict[str, list[str]]:
    """Form-decode a query string or body; bytes that are not UTF-8 are an error, not U+FFFD."""
    try:
        return parse_qs(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise QueryError(f"percent-encoded parameters must be UTF-8: {exc}") from exc


def _run(store: GraphStore, params: dict[str, list[str]], accept: str | None, base_iri: str) -> Response:
    if "update" in params:
        raise QueryError("this endpoint is read-only: SPARQL updates are refused (send 'query', not 'update')")
    query = _one(params, "query")
    results = store.query(
        query,
        default_graph=params.get("default-graph-uri") or None,
        named_graphs=params.get("named-graph-uri") or None,
        # Relative IRIs resolve against the endpoint (the Protocol's "service-defined BASE URI").
        base_iri=base_iri,
    )
    if isinstance(results, ox.QueryTriples):
        media = choose(accept, list(GRAPH_FORMATS), aliases=GRAPH_ALIASES)
        body = ox.serialize(results, format=GRAPH_FORMATS[media])
    else:
        media = choose(accept, list(RESULT_FORMATS), aliases=ALIASES)
        body = results.serialize(format=RESULT_FORMATS[media])
    charset = "" if "charset" in media or media.endswith("json") else "; charset=utf-8"
    return Response(content=body, media_type=media + charset)


def _endpoint(request: Request) -> str:
    return str(request.url.replace(query="", fragment=""))


@router.get("/sparql", summary="SPARQL query (GET)", description=DOC)
def sparql_get(request: Request, store: StoreDep) -> Response:
    """SPARQL query by GET."""
    return _run(store, _params(request.url.query), request.headers.get("accept"), _endpoint(request))


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
    # The Protocol's bodies are UTF-8 (the suite's bad_query_non_utf8 sends UTF-16 and wants 4xx).
    if charset not in ("utf-8", "us-ascii"):
        raise UnsupportedFormat(f"POST /sparql takes UTF-8 bodies, not charset={charset}")
    body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise QueryError(f"the request body is not valid UTF-8: {exc}") from exc
    params = _params(request.url.query)
    if media == "application/x-www-form-urlencoded":
        for key, values in _params(text).items():
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
    return await run_in_threadpool(_run, store, params, request.headers.get("accept"), _endpoint(request))
