"""The HTTP API as an integrator uses it: sources, attribution, explanations, errors."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support import ACCOUNT, AZERBAIJAN, CAMPAIGN, CASE, INDIVIDUAL, PARTY, SAMPLES, SEED_FILES, Proxy, denial, full_disk, store_dump

from conftest import make_client
from fimigraph.store import GraphStore

OUTLET = "https://example.org/fimi-sample/outlet"
PROBLEM = "application/problem+json"


def post(client: TestClient, name: str, media: str = "text/turtle", **params: str):
    return client.post("/sources", content=(SAMPLES / name).read_bytes(), headers={"Content-Type": media}, params=params)


def test_post_source_then_its_attribution(client: TestClient) -> None:
    response = post(client, "minimal-source.ttl")
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/sources/{body['id']}"
    assert body["claims"] == 1 and body["replaced"] is False
    links = client.get("/attribution", params={"subject": OUTLET}).json()["links"]
    assert [(l["grade"], l["directness"], l["state_label"], l["confidence"]) for l in links] == [
        ("state-controlled", "direct", "Ruritania", 80)
    ]


def test_list_read_and_retract_a_source(client: TestClient) -> None:
    sid = post(client, "minimal-source.ttl").json()["id"]
    listed = client.get("/sources").json()
    assert [(s["id"], s["title"], s["publisher"], s["claims"]) for s in listed] == [(sid, "Sample report", "Sample research lab", 1)]
    assert client.get(f"/sources/{sid}").json()["issued"] == "2024-05-02"
    turtle = client.get(f"/sources/{sid}", headers={"Accept": "text/turtle"})
    assert turtle.headers["content-type"].startswith("text/turtle") and "editorially controlled" in turtle.text
    deleted = client.delete(f"/sources/{sid}")
    assert deleted.status_code == 200 and deleted.json()["deleted"]["id"] == sid
    assert client.get("/sources").json() == []
    assert client.get(f"/sources/{sid}").status_code == 404
    assert client.get("/attribution", params={"subject": OUTLET}).status_code == 404



def test_sources_are_listed_in_pages(seed_client: TestClient) -> None:
    everything = seed_client.get("/sources")
    ids = [s["id"] for s in everything.json()]
    assert len(ids) == 2 and ids == sorted(ids) and everything.headers["x-total-count"] == "2"
    pages = [seed_client.get("/sources", params={"limit": 1, "offset": k}) for k in range(3)]
    assert [[s["id"] for s in p.json()] for p in pages] == [ids[:1], ids[1:], []]
    assert {p.headers["x-total-count"] for p in pages} == {"2"}
    assert pages[0].json()[0] == everything.json()[0]
    bad = seed_client.get("/sources", params={"limit": 0})
    assert bad.status_code == 400 and bad.headers["content-type"] == PROBLEM and "limit" in bad.text

def test_same_source_twice_is_a_conflict_unless_replaced(client: TestClient) -> None:
    assert post(client, "minimal-source.ttl").status_code == 201
    again = post(client, "minimal-source.ttl")
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM
    assert "replace" in again.json()["detail"]
    replaced = post(client, "minimal-source.ttl", replace="true")
    assert replaced.status_code == 201 and replaced.json()["replaced"] is True
    assert len(client.get("/sources").json()) == 1


def test_malformed_input_is_400_naming_the_line_and_writes_nothing(seed_store: GraphStore) -> None:
    before = store_dump(seed_store)
    with make_client(seed_store) as client:
        response = post(client, "malformed.ttl")
    assert response.status_code == 400 and response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["title"] == "Malformed input" and "line 7" in problem["detail"]
    assert store_dump(seed_store) == before


def test_invalid_input_is_422_with_the_shacl_report_and_writes_nothing(seed_store: GraphStore) -> None:
    before = store_dump(seed_store)
    with make_client(seed_store) as client:
        response = post(client, "invalid-claim.ttl")
    assert response.status_code == 422, response.text
    problem = response.json()
    paths = {r["path"].rsplit("#", 1)[-1] for r in problem["results"]}
    assert {"confidence", "quote", "validFrom"} <= paths
    assert all(r["focus_node"] == "https://example.org/fimi-sample/bad-claim" for r in problem["results"])
    assert "sh:conforms" in problem["report"] or "Conforms: False" in problem["report"]
    assert store_dump(seed_store) == before


def test_structural_problems_are_422(client: TestClient) -> None:
    two = post(client, "two-sources.ttl")
    assert two.status_code == 422 and "exactly one fimi:Source" in two.json()["detail"]
    forged = post(client, "forged-inference.ttl")
    assert forged.status_code == 422 and "inferred" in forged.json()["detail"]
    empty = client.post("/sources", content=b"", headers={"Content-Type": "text/turtle"})
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]
    assert client.get("/sources").json() == []


def test_a_claim_written_as_a_blank_node_is_422_naming_the_problem(client: TestClient) -> None:
    document = (SAMPLES / "minimal-source.ttl").read_text().replace("ex:claim-1 a fimi:Claim", "[] a fimi:Claim")
    response = client.post("/sources", content=document.encode(), headers={"Content-Type": "text/turtle"})
    assert response.status_code == 422, response.text
    assert "not written as a blank node" in response.json()["detail"]
    assert client.get("/sources").json() == []


def test_unsupported_and_oversized_input(empty_store: GraphStore) -> None:
    before = store_dump(empty_store)
    with make_client(empty_store, max_upload_bytes=200) as client:
        unsupported = post(client, "minimal-source.ttl", media="text/csv")
        assert unsupported.status_code == 415 and "text/csv" in unsupported.json()["detail"]
        big = post(client, "minimal-source.ttl")
        assert big.status_code == 413
    assert store_dump(empty_store) == before
    assert empty_store.sources() == []


def test_other_rdf_formats_are_accepted(client: TestClient) -> None:
    from rdflib import Graph

    graph = Graph().parse(SAMPLES / "minimal-source.ttl")
    for media, fmt in (("application/ld+json", "json-ld"), ("application/n-triples", "nt")):
        response = client.post("/sources", content=graph.serialize(format=fmt), headers={"Content-Type": media}, params={"replace": "true"})
        assert response.status_code == 201, (media, response.text)
    assert len(client.get("/attribution", params={"subject": OUTLET}).json()["links"]) == 1


def test_seed_attribution_over_http(seed_client: TestClient) -> None:
    body = seed_client.get("/attribution", params={"subject": str(CAMPAIGN)}).json()
    assert body["label"] and body["links"] and body["not_directly_linked"]
    assert {l["grade"] for l in body["links"] if l["state"] == str(AZERBAIJAN)} == {"party-linked"}
    link = body["links"][0]
    assert set(link) >= {"link", "state", "state_label", "grade", "directness", "confidence", "confidence_label",
                         "via", "rule", "valid_from", "valid_until", "marking"}



def test_a_disputed_claim_is_a_conflict_of_every_subject_whose_links_rest_on_it(seed_client: TestClient) -> None:
    assert seed_client.get("/attribution", params={"subject": str(CAMPAIGN)}).json()["conflicts"] == []
    affiliation = CASE["claim/viginum-individual-affiliated-with-party"]
    posted = seed_client.post("/sources", content=denial(affiliation), headers={"Content-Type": "text/turtle"})
    assert posted.status_code == 201, posted.text

    def conflicts(subject: str) -> list[tuple[str, str | None, list[tuple[str, str, tuple[str, ...]]]]]:
        body = seed_client.get("/attribution", params={"subject": subject}).json()
        return [(c["kind"], c["state"], sorted((s["node"], s["type"], tuple(q["quote"] for q in s["sources"])) for s in c["sides"]))
                for c in body["conflicts"]]

    sides = [
        ("https://example.org/denial/denial", "claim", ("these accusations are groundless",)),
        (str(affiliation), "claim", ("an Azerbaijani individual on social media X, formerly Twitter, "
                                     "with links to the Azeri presidential party",)),
    ]
    # about the individual (the disputed claim's subject), and reported by the account and the
    # campaign, whose links to Azerbaijan rest on that claim; the party's link does not
    for subject in (INDIVIDUAL, ACCOUNT, CAMPAIGN):
        assert conflicts(str(subject)) == [("disputed", None, sides)], subject
    assert conflicts(str(PARTY)) == []

def test_attribution_errors(seed_client: TestClient) -> None:
    missing = seed_client.get("/attribution")
    assert missing.status_code == 400 and missing.headers["content-type"] == PROBLEM and "subject" in missing.json()["detail"]
    unknown = seed_client.get("/attribution", params={"subject": "https://example.org/nobody"})
    assert unknown.status_code == 404 and "nobody" in unknown.json()["detail"]
    bad = seed_client.get("/attribution", params={"subject": "not an iri"})
    assert bad.status_code == 400


def test_explanation_reaches_every_quote(seed_client: TestClient) -> None:
    link = seed_client.get("/attribution", params={"subject": str(ACCOUNT)}).json()["links"][0]["link"]
    tree = seed_client.get("/explanations", params={"link": link}).json()
    leaves, stack = [], [tree]
    while stack:
        node = stack.pop()
        if node["type"] == "claim":
            leaves.append(node)
        else:
            best = node["best_derivation"]
            assert best["rule"] and best["rule_label"] and best["premises"]
            stack.extend(best["premises"])
    assert leaves and all(leaf["quote"] and leaf["source"]["title"] for leaf in leaves)
    predicates = {leaf["predicate_label"] for leaf in leaves}
    assert {"operates", "affiliated with", "ruling party of"} <= predicates
    assert all(item["strongest_remaining_grade"] is None for item in tree["if_retracted"])
    text = seed_client.get("/explanations", params={"link": link}, headers={"Accept": "text/plain"})
    assert text.headers["content-type"].startswith("text/plain")
    assert "party-linked" in text.text and "quote: “" in text.text and "rule: chain" in text.text


def test_explanation_errors(seed_client: TestClient) -> None:
    assert seed_client.get("/explanations", params={"link": str(CAMPAIGN)}).status_code == 404
    assert seed_client.get("/explanations", params={"link": "https://x.org/l"}, headers={"Accept": "image/png"}).status_code == 406


def test_the_server_compacts_the_store_after_so_many_changes(seed_store_path: Path) -> None:
    """Once the store made ``compact_after`` changes (here 4), it is compacted after the response; nothing is lost.

    The count is the store's own: it starts at the seed's two loads and goes on across a restart.
    """
    viginum = next(path for path in SEED_FILES if "viginum" in path.name)
    store = GraphStore(seed_store_path)
    with make_client(store, compact_after=4) as client:
        before = client.get("/attribution", params={"subject": str(CAMPAIGN)}).json()
        sid = next(s["id"] for s in client.get("/sources").json() if s["publisher"] == "Viginum")
        assert client.get("/health").json()["compaction"] == {
            "after_changes": 4, "changes_since": 2, "running": False, "count": 0, "last": None}
        assert client.delete(f"/sources/{sid}").status_code == 200
        assert client.get("/health").json()["compaction"]["changes_since"] == 3
    del store, client
    gc.collect()  # RocksDB's lock goes with the Store object
    with make_client(GraphStore(seed_store_path), compact_after=4) as client:  # restarted
        assert client.get("/health").json()["compaction"]["changes_since"] == 3
        assert client.post("/sources", content=viginum.read_bytes(), headers={"Content-Type": "text/turtle"}).status_code == 201
        compaction = client.get("/health").json()["compaction"]
        assert (compaction["count"], compaction["changes_since"], compaction["last"]["changes"]) == (1, 0, 4)
        assert client.get("/attribution", params={"subject": str(CAMPAIGN)}).json() == before
        assert client.delete(f"/sources/{sid}").status_code == 200
        assert client.get("/health").json()["compaction"]["changes_since"] == 1  # counting again from 0


def test_compact_after_0_never_compacts(seed_store: GraphStore) -> None:
    with make_client(seed_store, compact_after=0) as client:
        assert client.delete(f"/sources/{client.get('/sources').json()[0]['id']}").status_code == 200
        compaction = client.get("/health").json()["compaction"]
        assert (compaction["count"], compaction["changes_since"]) == (0, 3)  # the seed's two loads, and this


def test_a_failed_compaction_is_logged_and_tried_again(seed_store: GraphStore, monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """A compaction that fails does not fail the change (already answered): it is logged and the next change tries again."""
    with make_client(seed_store, compact_after=1) as client:
        sid = client.get("/sources").json()[0]["id"]
        monkeypatch.setattr(seed_store, "ox", Proxy(seed_store.ox, optimize=full_disk))
        assert client.delete(f"/sources/{sid}").status_code == 200
        assert "compacting the store failed" in caplog.text and "No space left" in caplog.text
        compaction = client.get("/health").json()["compaction"]
        assert (compaction["count"], compaction["changes_since"]) == (0, 3)  # the seed's two loads, and this
        monkeypatch.undo()
        assert post(client, "minimal-source.ttl").status_code == 201
        compaction = client.get("/health").json()["compaction"]
        assert (compaction["count"], compaction["changes_since"], compaction["last"]["changes"]) == (1, 0, 4)


def test_health_and_docs(seed_client: TestClient) -> None:
    health = seed_client.get("/health").json()
    assert health["status"] == "ok" and health["sources"] == 2 and health["inferences"] == "complete"
    spec = seed_client.get("/openapi.json").json()
    assert {"/sparql", "/sources", "/sources/{source_id}", "/attribution", "/explanations", "/health"} <= set(spec["paths"])
    assert seed_client.get("/docs").status_code == 200


def test_attribution_as_stix_bundle(seed_client: TestClient) -> None:
    response = seed_client.get("/attribution", params={"subject": str(CAMPAIGN)}, headers={"Accept": "application/stix+json"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/stix+json")
    bundle = response.json()
    assert bundle["type"] == "bundle"
    conclusions = [o for o in bundle["objects"] if o["type"] == "relationship" and "link" in next(iter(o["extensions"].values()))]
    assert [r["relationship_type"] for r in conclusions] == ["attributed-to"]
    extension = next(iter(conclusions[0]["extensions"].values()))
    assert extension["grade"] == "party-linked" and extension["directness"] == "inferred"
    assert any(o["type"] == "extension-definition" for o in bundle["objects"])
    again = seed_client.get("/attribution", params={"subject": str(CAMPAIGN)}, headers={"Accept": "application/stix+json"})
    assert again.json() == bundle, "the same store exports the same bundle"


def test_stix_bundle_is_a_source_too(client: TestClient) -> None:
    from support import REPO

    bundle = (REPO / "data" / "samples" / "stix" / "boycottparis2024-opencti.json").read_bytes()
    response = client.post("/sources", content=bundle, headers={"Content-Type": "application/stix+json"})
    assert response.status_code == 201, response.text
    assert response.json()["claims"] > 3


def test_a_query_sees_every_change_acknowledged_before_it(empty_store: GraphStore) -> None:
    """/sparql answers from a worker process that opened the store beside the server; it never answers from before a change."""
    ask = {"query": f"ASK {{ <{OUTLET}> ?p ?o }}"}
    with make_client(empty_store, query_workers=1) as client:  # one worker: the same one answers each time
        assert client.get("/sparql", params=ask).json()["boolean"] is False
        sid = post(client, "minimal-source.ttl").json()["id"]
        assert client.get("/sparql", params=ask).json()["boolean"] is True
        assert client.delete(f"/sources/{sid}").status_code == 200
        assert client.get("/sparql", params=ask).json()["boolean"] is False
