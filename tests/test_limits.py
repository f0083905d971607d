"""Limits on documents and queries, and what the edge checks: each refusal names its limit, nothing is written.

The requests that crashed or hung a real server are in ``test_hostile.py``; these answer in-process.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from support import SAMPLES, store_dump

from conftest import make_client
from fimigraph.errors import LimitExceeded, QueryError
from fimigraph.sparql import check_query, declares_dataset, depth
from fimigraph.store import GraphStore
from fimigraph.stix import EXTENSION_ID

PROBLEM = "application/problem+json"
MINIMAL = (SAMPLES / "minimal-source.ttl").read_bytes()


@pytest.mark.parametrize(("query", "deepest"), [
    ("SELECT * WHERE { ?s ?p ?o }", 1),
    ("SELECT * WHERE { { ?s ?p ?o FILTER((?o > 1)) } }", 4),
    ('SELECT * WHERE { ?s ?p "{{{(((" }', 1),  # brackets in strings
    ("SELECT * WHERE { ?s ?p '''{{{\n''' . ?s ?p \"\"\"a\\\"\"\"{{\"\"\" }", 1),  # long strings, escaped quotes
    ("SELECT * WHERE { ?s ?p ?o } # {{{{{", 1),  # a comment
    ("SELECT * WHERE { ?s ?p <http://x/#> . { } }", 2),  # a hash in an IRI starts no comment
    ("SELECT * WHERE { ?s ?p <http://x/a_(b)> }", 2),  # parentheses in an IRI count while it lasts
    ("SELECT * WHERE { ?s ?p <http://x/))))> . {{{ }}} }", 4),  # ... and what they close is not taken off
    ("PREFIX ex: <http://e/> SELECT * WHERE { ?s ex:a\\#b {{ }} }", 3),  # an escaped hash in a name is no comment
    ("PREFIX ex: <http://e/> SELECT * WHERE { ?s ex:a\\'b {{ }} }", 3),  # ... nor an escaped quote a string
    ("SELECT * WHERE { FILTER(?a<((((1))))>?b) }", 6),  # less-than, or an IRI: counted as the deeper
])
def test_the_depth_of_a_query_is_read_as_the_parser_reads_it(query: str, deepest: int) -> None:
    assert depth(query) == deepest


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { SERVICE <http://x/> { ?s ?p ?o } }",
    "select * where { service silent <http://x/> { ?s ?p ?o } }",
    "SELECT * WHERE { ?s ?p ?o .SERVICE<http://x/>{ ?s ?p ?o } }",
    "SELECT * WHERE { ?s ?p ?o }SERVICE ?x { }",
])
def test_service_is_refused_however_it_is_written(query: str) -> None:
    with pytest.raises(QueryError, match="SERVICE is refused"):
        check_query(query, max_depth=64)


@pytest.mark.parametrize("query", [
    'SELECT * WHERE { ?s ?p "SERVICE <http://x/>" }',
    "SELECT ?service WHERE { ?service ?p ?o } # SERVICE <http://x/>",
    "PREFIX service: <http://e/> SELECT * WHERE { ?s service:p <http://x/SERVICE> }",
    "PREFIX ex: <http://e/> SELECT * WHERE { ?s ex:SERVICE ?o }",
])
def test_the_word_service_elsewhere_is_no_service(query: str) -> None:
    check_query(query, max_depth=64)
    assert not declares_dataset(query)


def test_a_query_nested_too_deep_names_the_limit() -> None:
    check_query("SELECT * WHERE " + "{" * 8 + "}" * 8, max_depth=8)
    with pytest.raises(LimitExceeded) as refused:
        check_query("SELECT * WHERE " + "{" * 9 + "}" * 9, max_depth=8)
    assert refused.value.extra == {"limit": "max_depth", "value": 8}


def post(client: TestClient, body: bytes | str, media: str) -> object:
    return client.post("/sources", content=body, headers={"Content-Type": media})


def assert_refused(response: object, status: int, limit: str | None = None) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == PROBLEM  # type: ignore[attr-defined]
    problem = response.json()  # type: ignore[attr-defined]
    if limit is not None:
        assert problem["limit"] == limit
    return problem


def test_document_limits_are_settings_and_nothing_is_written(empty_store: GraphStore) -> None:
    before = store_dump(empty_store)
    jsonld = json.dumps({"@context": {"@vocab": "urn:v#"}, "@id": "urn:a", "p": {"q": {"r": {"s": {"t": "deep"}}}}})
    with make_client(empty_store, max_triples=5, max_literal_length=20, max_depth=4) as client:
        assert_refused(post(client, MINIMAL, "text/turtle"), 413, "max_triples")
        literal = '<urn:a> <urn:p> "' + "x" * 21 + '" .'
        problem = assert_refused(post(client, literal, "application/n-triples"), 413, "max_literal_length")
        assert problem["value"] == 20 and "FIMIGRAPH_MAX_LITERAL_LENGTH" in problem["detail"]
        assert_refused(post(client, jsonld, "application/ld+json"), 400, "max_depth")
        xml = ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="urn:e#">'
               '<rdf:Description rdf:about="urn:a"><e:p><rdf:Description><e:q>x</e:q></rdf:Description></e:p>'
               "</rdf:Description></rdf:RDF>")
        assert_refused(post(client, xml, "application/rdf+xml"), 400, "max_depth")
        malformed = assert_refused(post(client, "<rdf:RDF><a></b></rdf:RDF>", "application/rdf+xml"), 400)
        assert "line 1" in malformed["detail"] and malformed["title"] == "Malformed input"
    assert store_dump(empty_store) == before


@pytest.mark.parametrize("identity", [
    {"id": "identity--a>b"},
    {"id": "identity--a b"},
    {"extensions": {EXTENSION_ID: {"iri": "https://example.org/a>b"}}},
])
def test_stix_ids_and_iris_are_checked_at_the_edge(client: TestClient, identity: dict[str, object]) -> None:
    bundle = {"type": "bundle", "id": "bundle--1", "objects": [
        {"type": "identity", "id": "identity--1", "name": "x", "identity_class": "organization", **identity}]}
    problem = assert_refused(post(client, json.dumps(bundle), "application/stix+json"), 400)
    assert "not a valid IRI" in problem["detail"] and ("identity--" in problem["detail"] or "a>b" in problem["detail"])
    assert client.get("/sources").json() == []


def test_path_and_query_values_give_a_clear_4xx(seed_client: TestClient) -> None:
    missing = assert_refused(seed_client.get("/sources/x%0D"), 404)
    assert "malformed" not in missing["detail"]
    assert_refused(seed_client.get("/sources/%3Chttps%3A%2F%2Fx%3E%20%7D"), 404)
    assert_refused(seed_client.get("/sources", params={"offset": 2**64}), 400)
    assert_refused(seed_client.get("/sources", params={"limit": 2**64}), 400)
    assert seed_client.get("/sources", params={"offset": 2**63 - 1}).json() == []
    graph = assert_refused(seed_client.get("/sparql", params={"query": "ASK {}", "default-graph-uri": "not an iri"}), 400)
    assert "not an iri" not in graph.get("type", "")


def test_a_write_without_a_content_type_is_415(client: TestClient) -> None:
    assert "Content-Type" in assert_refused(client.post("/sources", content=MINIMAL), 415)["detail"]
    assert client.get("/sources").json() == []


def test_an_internal_error_reaches_the_client_as_a_bare_500(seed_store: GraphStore, monkeypatch: pytest.MonkeyPatch,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: object, **kwargs: object) -> object:
        raise KeyError("secret internals")

    monkeypatch.setattr(seed_store, "source", broken)
    with TestClient(make_client(seed_store).app, raise_server_exceptions=False) as client:
        problem = assert_refused(client.get("/sources/anything"), 500)
    assert "secret" not in json.dumps(problem) and "secret internals" in caplog.text
