"""``/sparql``: the SPARQL 1.1 Protocol query endpoint (read-only)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from ...callers import Caller
from ...errors import NotAcceptable, QueryError, UnsupportedFormat
from ...querypool import GRAPH_FORMATS, RESULT_FORMATS, Answer, ClientGone, QueryPool
from ...store import GraphStore
from ..deps import CallerDep, QueryPoolDep, SettingsDep, read_body
from ..negotiation import choose
from ..problems import documented

log = logging.getLogger("fimigraph.api")

router = APIRouter(tags=["sparql"])

ALIASES = {"application/json": "application/sparql-results+json", "application/xml": "application/sparql-results+xml"}
GRAPH_ALIASES = {"application/json": "application/ld+json", "application/xml": "application/rdf+xml", "text/plain": "application/n-triples"}

DOC = """Run a SPARQL 1.1 query (SELECT, ASK, CONSTRUCT, DESCRIBE) over the union of all graphs.

Protocol parameters: `query` (exactly one), `default-graph-uri` and `named-graph-uri` (any number;
when given they define the dataset instead of the union). POST takes
`application/x-www-form-urlencoded` or `application/sparql-query`. Results follow `Accept`:
SPARQL JSON (default), XML, CSV, TSV; Turtle (default), N-Triples, RDF/XML or JSON-LD for graphs.
Bodies and percent-encoded parameters are UTF-8; relative IRIs resolve against the endpoint URL.
Updates are refused: this endpoint is read-only; so is `SERVICE`: the server sends no request.

Limits (settings): nesting depth of the query, its size, its time (it is stopped, also when the
client disconnects), rows and bytes of its answer, memory; over one, a problem names it (400, 413
or 422). When every query worker is busy and the queue is full: 503 with `Retry-After`.
"""

RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {media: {} for media in (*RESULT_FORMATS, *GRAPH_FORMATS)}},
    **documented(
        406,
        _400="Malformed query, an update, SERVICE, or a query nested too deep",
        _413="Query over the size limit",
        _415="POST body neither a form nor a query, or not UTF-8",
        _422="The query needed more time, rows, bytes or memory than its limits; it was stopped",
        _503="Too many queries at once; Retry-After says when to try again",
    ),
}
# Read by hand (repeated parameters, strict UTF-8), so described here for the documentation and fuzzers.
PARAMETERS = [
    {"name": "query", "in": "query", "required": True, "schema": {"type": "string"}, "description": "The SPARQL query."},
    *({"name": name, "in": "query", "required": False, "schema": {"type": "array", "items": {"type": "string"}},
       "style": "form", "explode": True, "description": "IRI of a graph of the dataset (repeatable)."}
      for name in ("default-graph-uri", "named-graph-uri")),
]
BODY = {"required": True, "content": {
    "application/sparql-query": {"schema": {"type": "string"}},
    "application/x-www-form-urlencoded": {"schema": {"type": "object", "required": ["query"], "properties": {
        "query": {"type": "string"}, "default-graph-uri": {"type": "array", "items": {"type": "string"}},
        "named-graph-uri": {"type": "array", "items": {"type": "string"}}}}},
}}


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


def _offer(accept: str | None, offered: dict[str, Any], aliases: dict[str, str]) -> str | None:
    """The media type to answer in, or None if none fits (the worker says so once it knows the query's form)."""
    try:
        return choose(accept, list(offered), aliases=aliases)
    except NotAcceptable:
        return None


async def _disconnected(request: Request) -> None:
    """Return once the client has closed its connection (the request's body is read by now)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


class _AnswerResponse(StreamingResponse):
    """Streams a worker's answer; the worker goes back to the pool, or is stopped, however the response ends."""

    def __init__(self, answer: Answer) -> None:
        charset = "" if "charset" in answer.media or answer.media.endswith("json") else "; charset=utf-8"
        super().__init__(answer.chunks(), media_type=answer.media + charset)
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except TimeoutError:  # past the deadline mid-answer (a slow reader): the connection closes unfinished
            log.warning("a SPARQL answer was cut at the query's deadline")
        finally:
            self.answer.close()


async def _run(request: Request, pool: QueryPool, params: dict[str, list[str]], caller: Caller) -> Response:
    if "update" in params:
        raise QueryError("this endpoint is read-only: SPARQL updates are refused (send 'query', not 'update')")
    accept = request.headers.get("accept")
    job = {
        "query": _one(params, "query"),
        "default_graph": params.get("default-graph-uri") or None,
        "named_graphs": params.get("named-graph-uri") or None,
        # Relative IRIs resolve against the endpoint (the Protocol's "service-defined BASE URI").
        "base_iri": _endpoint(request),
        "accept": accept,
        "solutions": _offer(accept, RESULT_FORMATS, ALIASES),
        "graph": _offer(accept, GRAPH_FORMATS, GRAPH_ALIASES),
        # The caller's need-to-know view: a store holding only what its clearance covers, so no
        # query, however written (GRAPH ?g, FROM, property paths, dataset parameters), reaches more.
        "path": _view_path(request, caller),
    }
    try:
        answer = await pool.run(job, gone=lambda: _disconnected(request))
    except ClientGone:
        return Response(status_code=499)  # nobody reads it: the client is gone (nginx's "client closed request")
    return _AnswerResponse(answer)


def _view_path(request: Request, caller: Caller) -> str | None:
    store: GraphStore = request.app.state.store
    return str(store.views.path_for(caller.clearance, store.path)) if store.path is not None else None


def _endpoint(request: Request) -> str:
    return str(request.url.replace(query="", fragment=""))


@router.get("/sparql", summary="SPARQL query (GET)", description=DOC, responses=RESPONSES,
            openapi_extra={"parameters": PARAMETERS})
async def sparql_get(request: Request, pool: QueryPoolDep, caller: CallerDep) -> Response:
    """SPARQL query by GET."""
    return await _run(request, pool, _params(request.url.query), caller)


@router.post("/sparql", summary="SPARQL query (POST)", description=DOC, responses=RESPONSES,
             openapi_extra={"requestBody": BODY})
async def sparql_post(request: Request, pool: QueryPoolDep, settings: SettingsDep, caller: CallerDep) -> Response:
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
    body = await read_body(request, settings.max_query_bytes, "max_query_bytes")
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
    return await _run(request, pool, params, caller)
