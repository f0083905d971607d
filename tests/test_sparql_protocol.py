"""``/sparql`` over real HTTP: the W3C SPARQL 1.1 Protocol suite, then a real client (SPARQLWrapper 2.0).

One ``fimigraph serve`` per module, over a private copy of the seeded store that also holds the
suite's ``data1.nt``…``data3.nt`` in the named graphs the manifest gives them (``ut:graphData``).
The suite is read from ``tests/suites/w3c-sparql11-protocol/manifest.ttl`` (W3C test-suite
licence, see ``LICENSE.md`` and ``SOURCE.md`` there).
"""

from __future__ import annotations

import csv
import gc
import io
import re
import shutil
import urllib.error
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pyoxigraph as ox
import pytest
from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from SPARQLWrapper import CSV, GET, JSON, N3, POST, POSTDIRECTLY, TSV, TURTLE, URLENCODED, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from fimigraph.store import GraphStore
from fimigraph.vocab import FIMI, INFERRED, INFERRED_GRAPH, ONTOLOGY_GRAPH, SKOS, SOURCES_GRAPH
from support import AZERBAIJAN, CAMPAIGN, SUITES, running_server

SUITE = SUITES / "w3c-sparql11-protocol"
MANIFEST = SUITE / "manifest.ttl"
PROBLEM = "application/problem+json"

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
RDFS_LABEL = URIRef("http://www.w3.org/2000/01/rdf-schema#label")

RESULT_MEDIA = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
BOOLEAN_MEDIA = ("application/sparql-results+json", "application/sparql-results+xml")
RDF_MEDIA = {"text/turtle": "turtle", "application/n-triples": "nt", "application/rdf+xml": "xml", "application/ld+json": "json-ld"}


# -- the W3C suite, read from its manifest ----------------------------------------------


@dataclass(frozen=True)
class Exchange:
    """One ht:Request of a protocol test and what its ht:Response must be."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    status_classes: frozenset[str]  # first digits allowed, from hts:StatusCode2xx etc.
    format: str | None  # "boolean", "tabular" or "RDF"
    boolean: bool | None


@dataclass(frozen=True)
class ProtocolTest:
    """One mf:ProtocolTest: its exchanges, run in order."""

    name: str
    title: str
    exchanges: tuple[Exchange, ...]


def _items(graph: Graph, node: Any) -> list[Any]:
    return list(Collection(graph, node)) if node is not None else []


def _exchange(graph: Graph, request: Any) -> Exchange:
    headers = tuple(
        (str(graph.value(h, HT.fieldName)), str(graph.value(h, HT.fieldValue))) for h in _items(graph, graph.value(request, HT.headers))
    )
    body = None
    if (node := graph.value(request, HT.body)) is not None:
        encoding = str(graph.value(node, CNT.characterEncoding) or "UTF-8")
        body = str(graph.value(node, CNT.chars)).encode(encoding)
    response = graph.value(request, HT.resp)
    statuses = frozenset(re.search(r"StatusCode(\d)xx$", str(s)).group(1) for s in graph.objects(response, MF.expectedStatus))
    expected_format = graph.value(response, MF.expectedFormat)
    expected_boolean = graph.value(response, MF.expectedBoolean)
    return Exchange(
        method=str(graph.value(request, HT.methodName)),
        # Every path starts with /sparql/ (the manifest says so); ours is /sparql.
        path=re.sub(r"^/sparql/", "/sparql", str(graph.value(request, HT.absolutePath))),
        headers=headers,
        body=body,
        status_classes=statuses,
        format=str(expected_format) if expected_format is not None else None,
        boolean=expected_boolean.toPython() if isinstance(expected_boolean, Literal) else None,
    )


@cache
def _manifest() -> Graph:
    return Graph().parse(MANIFEST, format="turtle", publicID=MANIFEST.as_uri())


def protocol_tests() -> list[ProtocolTest]:
    """Every mf:ProtocolTest of the manifest, in its mf:entries order."""
    if not MANIFEST.exists():
        return []
    graph = _manifest()
    manifest = next(graph.subjects(RDF.type, MF.Manifest))
    tests = []
    for entry in _items(graph, graph.value(manifest, MF.entries)):
        assert (entry, RDF.type, MF.ProtocolTest) in graph, entry
        requests = _items(graph, graph.value(graph.value(entry, MF.action), HT.requests))
        tests.append(
            ProtocolTest(
                name=str(entry).rsplit("#", 1)[1],
                title=str(graph.value(entry, MF.name)),
                exchanges=tuple(_exchange(graph, r) for r in requests),
            )
        )
    return tests


def suite_graphs() -> dict[str, Path]:
    """The named graphs the dataset tests expect (ut:graphData): graph IRI → local N-Triples file."""
    graph = _manifest()
    graphs = {}
    for data in graph.objects(None, UT.graphData):
        # ut:graph is <data1.nt>, relative to the manifest: the file next to it.
        graphs[str(graph.value(data, RDFS_LABEL))] = SUITE / str(graph.value(data, UT.graph)).rsplit("/", 1)[1]
    return graphs


TESTS = protocol_tests()
# This endpoint is read-only by contract (DESIGN §5: "GET|POST /sparql — query endpoint
# (read-only)"). The update_* tests expect SPARQL Update to succeed, so they do not apply;
# test_updates_are_refused checks the opposite. The bad_update_* tests do apply: 4xx either way.
NOT_APPLICABLE = {t.name for t in TESTS if t.name.startswith("update_")}
APPLICABLE = [t for t in TESTS if t.name not in NOT_APPLICABLE]


# -- the server -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(seed_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``fimigraph serve`` over the seeded store plus the suite's graphs; yields its base URL."""
    path = tmp_path_factory.mktemp("sparql-protocol") / "store"
    shutil.copytree(seed_template, path)
    store = GraphStore(path)
    for iri, file in suite_graphs().items():
        store.ox.load(path=str(file), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(iri))
    store.flush()
    del store
    gc.collect()  # RocksDB's lock goes with the Store object; the server must be able to take it
    with running_server(path) as base:
        yield base


@pytest.fixture(scope="module")
def http(server: str) -> Iterator[httpx.Client]:
    """A plain HTTP client of the server."""
    with httpx.Client(base_url=server, timeout=60) as client:
        yield client


def media_of(response: httpx.Response) -> str:
    """The media type of a response, without parameters."""
    return response.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def assert_problem(response: httpx.Response, status: int | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem (with that status, if given); return its body."""
    assert media_of(response) == PROBLEM, (response.status_code, response.headers, response.text)
    body = response.json()
    assert body["status"] == response.status_code and body["title"] and body["detail"]
    if status is not None:
        assert response.status_code == status, body
    return body


# -- 1. the W3C SPARQL 1.1 Protocol suite -----------------------------------------------


def test_suite_is_present() -> None:
    """The suite is where its SOURCE.md says, with its 34 tests, 27 of them for a query endpoint."""
    assert len(TESTS) == 34, f"protocol manifest missing or changed: {MANIFEST}"
    assert len(NOT_APPLICABLE) == 7 and len(APPLICABLE) == 27
    assert set(suite_graphs()) == {f"http://kasei.us/2009/09/sparql/data/data{i}.rdf" for i in (1, 2, 3)}


def check_format(exchange: Exchange, response: httpx.Response) -> None:
    """The body is in a format of the kind the test expects (and says the expected boolean)."""
    media = media_of(response)
    if exchange.format in ("boolean", "tabular"):
        allowed = BOOLEAN_MEDIA if exchange.format == "boolean" else tuple(RESULT_MEDIA)
        assert media in allowed, f"{media} is not one of {allowed}"
        results = ox.parse_query_results(response.content, format=RESULT_MEDIA[media])
        if exchange.format == "boolean":
            assert isinstance(results, ox.QueryBoolean)
            if exchange.boolean is not None:
                assert bool(results) is exchange.boolean
        else:
            assert isinstance(results, ox.QuerySolutions)
            list(results)
    elif exchange.format == "RDF":
        assert media in RDF_MEDIA, f"{media} is not an RDF serialization"
        Graph().parse(data=response.content, format=RDF_MEDIA[media])


@pytest.mark.parametrize("case", [pytest.param(t, id=t.name) for t in APPLICABLE])
def test_w3c_protocol(case: ProtocolTest, http: httpx.Client) -> None:
    """One W3C protocol test: every exchange gets a status of the expected class and format."""
    for exchange in case.exchanges:
        response = http.request(exchange.method, exchange.path, headers=list(exchange.headers), content=exchange.body)
        status_class = str(response.status_code)[0]
        assert status_class in exchange.status_classes, f"{case.title}: {response.status_code} {response.text[:500]}"
        if status_class == "4":
            assert_problem(response)
        check_format(exchange, response)


# -- read-only: every update form is refused --------------------------------------------

UPDATE = "INSERT DATA { GRAPH <http://example.org/g> { <http://example.org/s> <http://example.org/p> 1 } }"


@pytest.mark.parametrize(
    "method, params, headers, body",
    [
        pytest.param("POST", {}, {"Content-Type": "application/sparql-update"}, UPDATE, id="post-direct"),
        pytest.param("POST", {}, {"Content-Type": "application/x-www-form-urlencoded"}, urlencode({"update": UPDATE}), id="post-form"),
        pytest.param("GET", {"update": UPDATE}, {}, None, id="get"),
        pytest.param("POST", {"update": UPDATE}, {"Content-Type": "application/x-www-form-urlencoded"}, "", id="post-form-in-url"),
        pytest.param("POST", {}, {"Content-Type": "application/x-www-form-urlencoded"}, urlencode({"query": UPDATE}), id="update-as-query"),
    ],
)
def test_updates_are_refused(http: httpx.Client, method: str, params: dict[str, str], headers: dict[str, str], body: str | None) -> None:
    """The endpoint is read-only: an update in any form is a 4xx problem and writes nothing."""
    response = http.request(method, "/sparql", params=params, headers=headers, content=body)
    assert 400 <= response.status_code < 500
    assert_problem(response)
    assert not ask(http, "ASK { GRAPH ?g { <http://example.org/s> ?p ?o } }")


def ask(http: httpx.Client, query: str, **params: Any) -> bool:
    """Run an ASK over HTTP and return its answer."""
    response = http.get("/sparql", params={"query": query, **params}, headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.text
    return response.json()["boolean"]


# -- protocol details beyond the suite --------------------------------------------------


def test_bad_method_is_405_problem_with_allow(http: httpx.Client) -> None:
    """PUT/DELETE on /sparql: 405 problem JSON that says which methods are allowed (RFC 9110 §15.5.6)."""
    for method in ("PUT", "DELETE", "PATCH"):
        response = http.request(method, "/sparql", params={"query": "ASK {}"})
        assert_problem(response, 405)
        assert {m.strip() for m in response.headers.get("allow", "").split(",")} >= {"GET", "POST"}


def test_non_utf8_and_bad_form_bodies_are_refused(http: httpx.Client) -> None:
    """Bodies must be UTF-8: another charset is 415, bytes that are not UTF-8 are 400 — never 200 or 500."""
    latin = http.post("/sparql", content="ASK {}".encode("latin-1"), headers={"Content-Type": "application/sparql-query; charset=ISO-8859-1"})
    assert_problem(latin, 415)
    broken = http.post("/sparql", content=b"ASK { <http://e/\xff> ?p ?o }", headers={"Content-Type": "application/sparql-query"})
    assert_problem(broken, 400)
    broken_form = http.post("/sparql", content=b"query=ASK%20%7B%3Chttp://e/%FF%3E%20?p%20?o%7D", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_problem(broken_form, 400)
    assert_problem(http.get("/sparql?query=ASK%20%7B%3Chttp://e/%FF%3E%20?p%20?o%7D"), 400)
    explicit_utf8 = http.post("/sparql", content="ASK {}".encode(), headers={"Content-Type": "application/sparql-query; charset=UTF-8"})
    assert explicit_utf8.status_code == 200


def test_missing_or_duplicate_query_is_400(http: httpx.Client) -> None:
    """No query, two queries, or a query both in the URL and a direct POST body: 400 problem."""
    assert_problem(http.get("/sparql"), 400)
    assert_problem(http.post("/sparql", content="query=ASK%7B%7D&query=ASK%7B%7D", headers={"Content-Type": "application/x-www-form-urlencoded"}), 400)
    assert_problem(http.post("/sparql", params={"query": "ASK {}"}, content="ASK {}", headers={"Content-Type": "application/sparql-query"}), 400)


def test_relative_iris_resolve_against_the_endpoint(http: httpx.Client) -> None:
    """The service's base IRI is the endpoint URL (SPARQL 1.1 Protocol: it MAY be)."""
    response = http.get("/sparql", params={"query": "SELECT ?x WHERE { BIND(<thing> AS ?x) }"})
    assert response.status_code == 200, response.text
    value = response.json()["results"]["bindings"][0]["x"]
    assert value["type"] == "uri" and value["value"].endswith("/thing") and value["value"].startswith(str(http.base_url).rstrip("/"))


def test_query_dataset_clause_is_honoured(http: httpx.Client) -> None:
    """FROM / FROM NAMED in the query define the dataset when the request names none (SPARQL 1.1 §13.2)."""
    data1, data3 = "http://kasei.us/2009/09/sparql/data/data1.rdf", "http://kasei.us/2009/09/sparql/data/data3.rdf"
    assert ask(http, f"ASK FROM <{data1}> {{ <{data1}> a ?t }}")
    assert not ask(http, f"ASK FROM <{data3}> {{ <{data1}> a ?t }}")
    assert not ask(http, f"ASK FROM NAMED <{data1}> {{ <{data1}> a ?t }}")


def test_named_graphs_only_leave_the_default_graph_empty(http: httpx.Client) -> None:
    """named-graph-uri without default-graph-uri: the default graph is empty (SPARQL 1.1 §13.2, Protocol §2.1.4)."""
    data1 = "http://kasei.us/2009/09/sparql/data/data1.rdf"
    assert ask(http, f"ASK {{ GRAPH <{data1}> {{ <{data1}> a ?t }} }}", **{"named-graph-uri": data1})
    assert not ask(http, f"ASK {{ <{data1}> a ?t }}", **{"named-graph-uri": data1})


def test_default_graphs_only_leave_no_named_graphs(http: httpx.Client) -> None:
    """default-graph-uri without named-graph-uri: GRAPH ?g binds nothing (SPARQL 1.1 §13.2, Protocol §2.1.4)."""
    data1 = "http://kasei.us/2009/09/sparql/data/data1.rdf"
    assert ask(http, f"ASK {{ <{data1}> a ?t }}", **{"default-graph-uri": data1})
    assert not ask(http, "ASK { GRAPH ?g { ?s ?p ?o } }", **{"default-graph-uri": data1})


# -- 2. a real client: SPARQLWrapper over the seeded store -------------------------------

PREFIXES = f"PREFIX fimi: <{FIMI}>\nPREFIX skos: <{SKOS}>\n"
LINKS = PREFIXES + f"""
SELECT ?link ?grade ?directness ?confidence WHERE {{
  ?link a fimi:AttributionLink ; fimi:linkSubject <{CAMPAIGN}> ; fimi:linkTarget <{AZERBAIJAN}> ;
        fimi:grade/skos:notation ?grade ; fimi:directness/skos:notation ?directness ; fimi:confidence ?confidence .
}}"""


def client(server: str, query: str, fmt: str = JSON, *, method: str = GET, request_method: str = URLENCODED) -> SPARQLWrapper:
    """A SPARQLWrapper on the server's /sparql, set up for one query."""
    sparql = SPARQLWrapper(f"{server}/sparql")
    sparql.setQuery(query)
    sparql.setReturnFormat(fmt)
    sparql.setMethod(method)
    sparql.setRequestMethod(request_method)
    return sparql


def check_links(rows: list[dict[str, str]]) -> None:
    """The campaign's only link to Azerbaijan: party-linked, inferred, with a 0–100 confidence."""
    assert [(r["grade"], r["directness"]) for r in rows] == [("party-linked", "inferred")], rows
    assert rows[0]["link"].startswith(str(INFERRED))
    assert 0 <= int(rows[0]["confidence"]) <= 100


CLIENT_MODES = [
    pytest.param(GET, URLENCODED, id="get"),
    pytest.param(POST, URLENCODED, id="post-form"),
    pytest.param(POST, POSTDIRECTLY, id="post-direct"),
]


@pytest.mark.parametrize("method, request_method", CLIENT_MODES)
def test_select_json(server: str, method: str, request_method: str) -> None:
    """SELECT in SPARQL JSON, by GET, form POST and direct POST."""
    result = client(server, LINKS, JSON, method=method, request_method=request_method).queryAndConvert()
    assert result["head"]["vars"] == ["link", "grade", "directness", "confidence"]
    bindings = result["results"]["bindings"]
    check_links([{k: v["value"] for k, v in b.items()} for b in bindings])
    assert bindings[0]["confidence"]["datatype"] == "http://www.w3.org/2001/XMLSchema#integer"


@pytest.mark.parametrize("method, request_method", CLIENT_MODES)
def test_select_xml(server: str, method: str, request_method: str) -> None:
    """SELECT in SPARQL XML."""
    document = client(server, LINKS, XML, method=method, request_method=request_method).queryAndConvert()
    rows = []
    for result in document.getElementsByTagName("result"):
        row = {}
        for binding in result.getElementsByTagName("binding"):
            term = next(n for n in binding.childNodes if n.nodeType == n.ELEMENT_NODE)
            row[binding.getAttribute("name")] = term.firstChild.data
        rows.append(row)
    check_links(rows)


def test_select_csv(server: str) -> None:
    """SELECT in CSV: plain values under a header row."""
    sparql = client(server, LINKS, CSV)
    result = sparql.query()
    assert result.info()["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(result.convert().decode("utf-8"))))
    check_links(rows)


def test_select_tsv(server: str) -> None:
    """SELECT in TSV: terms in Turtle syntax (<iri>, "literal", bare integers)."""
    sparql = client(server, LINKS, TSV, method=POST)
    result = sparql.query()
    assert result.info()["content-type"].startswith("text/tab-separated-values")
    lines = result.convert().decode("utf-8").splitlines()
    assert lines[0].split("\t") == ["?link", "?grade", "?directness", "?confidence"]
    rows = [dict(zip(("link", "grade", "directness", "confidence"), line.split("\t"))) for line in lines[1:]]
    assert len(rows) == 1 and rows[0]["link"].startswith("<") and rows[0]["grade"] == '"party-linked"'
    check_links([{k: v.strip('<>"') for k, v in row.items()} for row in rows])


@pytest.mark.parametrize("fmt", [JSON, XML])
@pytest.mark.parametrize("method, request_method", CLIENT_MODES)
def test_ask(server: str, fmt: str, method: str, request_method: str) -> None:
    """ASK in JSON and XML, true and false."""
    for grade, expected in (("party-linked", True), ("state-official", False)):
        query = PREFIXES + f'ASK {{ ?l fimi:linkSubject <{CAMPAIGN}> ; fimi:linkTarget <{AZERBAIJAN}> ; fimi:grade/skos:notation "{grade}" }}'
        result = client(server, query, fmt, method=method, request_method=request_method).queryAndConvert()
        answer = result["boolean"] if fmt == JSON else result.getElementsByTagName("boolean")[0].firstChild.data == "true"
        assert answer is expected, grade


CONSTRUCT = PREFIXES + f"""
CONSTRUCT {{ <{CAMPAIGN}> ?kind <{AZERBAIJAN}> }} WHERE {{
  ?link fimi:linkSubject <{CAMPAIGN}> ; fimi:linkTarget <{AZERBAIJAN}> ; fimi:grade ?kind .
}}"""


@pytest.mark.parametrize("accept, rdflib_format", [("text/turtle", "turtle"), ("application/n-triples", "nt")])
@pytest.mark.parametrize("method, request_method", CLIENT_MODES)
def test_construct(server: str, accept: str, rdflib_format: str, method: str, request_method: str) -> None:
    """CONSTRUCT in Turtle and N-Triples, parsed with rdflib."""
    sparql = client(server, CONSTRUCT, TURTLE if accept == "text/turtle" else N3, method=method, request_method=request_method)
    sparql.addCustomHttpHeader("Accept", accept)
    result = sparql.query()
    assert result.info()["content-type"].split(";")[0] == accept
    graph = Graph().parse(data=result.convert(), format=rdflib_format)
    assert set(graph) == {(URIRef(CAMPAIGN), FIMI.PartyLinked, URIRef(AZERBAIJAN))}


def test_describe(server: str) -> None:
    """DESCRIBE returns RDF about the resource (Turtle by default)."""
    result = client(server, f"DESCRIBE <{CAMPAIGN}>", TURTLE).query()
    assert result.info()["content-type"].startswith("text/turtle")
    graph = Graph().parse(data=result.convert(), format="turtle")
    assert len(graph) > 0 and set(graph.subjects()) == {URIRef(CAMPAIGN)}


def source_graphs(http: httpx.Client) -> dict[str, str]:
    """Source IRI → its named graph, from GET /sources."""
    sources = http.get("/sources").json()
    return {s["iri"]: f"https://w3id.org/fimigraph/graph/source/{s['id']}" for s in sources}


CAMPAIGN_CLAIMS = PREFIXES + f"SELECT ?claim WHERE {{ ?claim a fimi:Claim ; fimi:claimSubject <{CAMPAIGN}> }}"


def test_default_graph_uri_restricts_the_dataset(server: str, http: httpx.Client) -> None:
    """default-graph-uri = one source graph: only its claims; = the inferred graph: no claims, no grade labels."""
    graphs = source_graphs(http)
    viginum = next(g for iri, g in graphs.items() if iri.endswith("viginum-report"))
    reuters = next(g for iri, g in graphs.items() if iri.endswith("reuters-article"))
    claims = {}
    for graph in (viginum, reuters):
        sparql = client(server, CAMPAIGN_CLAIMS, JSON, method=POST, request_method=POSTDIRECTLY)
        sparql.addDefaultGraph(graph)
        claims[graph] = {b["claim"]["value"] for b in sparql.queryAndConvert()["results"]["bindings"]}
    assert len(claims[viginum]) >= 1 and all("/claim/viginum-" in c for c in claims[viginum])
    assert not claims[reuters] & claims[viginum]
    union = {b["claim"]["value"] for b in client(server, CAMPAIGN_CLAIMS).queryAndConvert()["results"]["bindings"]}
    assert union == claims[viginum] | claims[reuters]

    sparql = client(server, LINKS, JSON)
    sparql.addDefaultGraph(str(INFERRED_GRAPH))
    assert sparql.queryAndConvert()["results"]["bindings"] == []  # the grade's skos:notation lives in the ontology graph
    sparql.addDefaultGraph(str(ONTOLOGY_GRAPH))
    check_links([{k: v["value"] for k, v in b.items()} for b in sparql.queryAndConvert()["results"]["bindings"]])


def test_named_graph_uri_with_graph_pattern(server: str, http: httpx.Client) -> None:
    """named-graph-uri limits what GRAPH ?g can bind to."""
    graphs = source_graphs(http)
    viginum = next(g for iri, g in graphs.items() if iri.endswith("viginum-report"))
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    everything = {b["g"]["value"] for b in client(server, query).queryAndConvert()["results"]["bindings"]}
    assert {str(INFERRED_GRAPH), str(ONTOLOGY_GRAPH), str(SOURCES_GRAPH), *graphs.values()} <= everything
    for method, request_method in ((GET, URLENCODED), (POST, URLENCODED), (POST, POSTDIRECTLY)):
        sparql = client(server, query, method=method, request_method=request_method)
        sparql.addNamedGraph(viginum)
        sparql.addNamedGraph(str(INFERRED_GRAPH))
        assert {b["g"]["value"] for b in sparql.queryAndConvert()["results"]["bindings"]} == {viginum, str(INFERRED_GRAPH)}


def test_union_default_graph_sees_claims_and_inferences_together(server: str) -> None:
    """Without dataset parameters the default graph is the union: an inferred link, its grade label and its source claim join."""
    query = PREFIXES + f"""
    SELECT ?grade ?claim ?source WHERE {{
      ?link fimi:linkSubject <{CAMPAIGN}> ; fimi:linkTarget <{AZERBAIJAN}> ; fimi:grade/skos:notation ?grade ; fimi:premise ?claim .
      ?claim a fimi:Claim ; fimi:statedIn ?source .
    }}"""
    rows = [{k: v["value"] for k, v in b.items()} for b in client(server, query).queryAndConvert()["results"]["bindings"]]
    assert rows and {r["grade"] for r in rows} == {"party-linked"}
    assert {r["source"] for r in rows} == {"https://w3id.org/fimigraph/case/boycottparis2024/viginum-report"}


def test_malformed_query_is_400_naming_the_position(server: str, http: httpx.Client) -> None:
    """A syntax error: SPARQLWrapper raises QueryBadFormed; the body is problem JSON with line:column."""
    with pytest.raises(QueryBadFormed):
        client(server, "SELECT ?s WHERE { ?s ?p }").query()
    response = http.get("/sparql", params={"query": "SELECT ?s WHERE { ?s ?p }"})
    problem = assert_problem(response, 400)
    assert re.search(r"\b1:2[0-9]\b", problem["detail"]), problem["detail"]


def test_unacceptable_accept_is_406(server: str, http: httpx.Client) -> None:
    """Nothing the client accepts: 406 problem JSON listing what is available."""
    sparql = client(server, LINKS, JSON)
    sparql.addCustomHttpHeader("Accept", "image/png")
    with pytest.raises(urllib.error.HTTPError) as raised:
        sparql.query()
    assert raised.value.code == 406
    problem = assert_problem(http.get("/sparql", params={"query": LINKS}, headers={"Accept": "image/png"}), 406)
    assert "application/sparql-results+json" in problem["detail"]
    graph = http.get("/sparql", params={"query": CONSTRUCT}, headers={"Accept": "application/sparql-results+json"})
    assert_problem(graph, 406)


def test_updates_through_sparqlwrapper_are_refused(server: str, http: httpx.Client) -> None:
    """SPARQLWrapper's update request (POST, both encodings) gets 400 and nothing is written."""
    for request_method in (URLENCODED, POSTDIRECTLY):
        with pytest.raises(QueryBadFormed):
            client(server, UPDATE, method=POST, request_method=request_method).query()
    assert not ask(http, "ASK { GRAPH ?g { <http://example.org/s> ?p ?o } }")
