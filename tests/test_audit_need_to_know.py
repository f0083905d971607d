"""Auditing within a caller's clearance: the seed case plus an AMBER report and a RED claim, read by GREEN, AMBER and RED readers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient
from support import AZERBAIJAN, CAMPAIGN, VIGINUM_REPORT

from conftest import make_client
from fimigraph.store import GraphStore, source_id
from fimigraph.views import Views
from fimigraph.vocab import CHANGES_GRAPH

VIGINUM = source_id(str(VIGINUM_REPORT))
TODAY = datetime.now(timezone.utc).date().isoformat()
PREFIXES = b"""
@prefix fimi:    <https://w3id.org/fimigraph/ontology#> .
@prefix rdfs:    <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix case:    <https://w3id.org/fimigraph/case/boycottparis2024/> .
case:campaign a fimi:Campaign .
case:azerbaijan a fimi:State .
"""
AMBER_REPORT = PREFIXES + b"""
@prefix ex: <https://example.org/amber/> .
ex:report a fimi:Report ; rdfs:label "A partner's AMBER note (test)" ; fimi:marking fimi:TLP_AMBER ;
    dcterms:title "Partner note on #boycottparis2024 (test)" ; dcterms:publisher ex:partner .
ex:partner a fimi:Organization ; rdfs:label "a partner service (test)" .
ex:claim a fimi:Claim ;
    fimi:claimSubject case:campaign ; fimi:claimPredicate fimi:attributedTo ; fimi:claimObject case:azerbaijan ;
    fimi:claimedGrade fimi:StateLinked ;
    fimi:statedIn ex:report ; fimi:quote "The partner attributes the campaign to Baku (amber test)" ; fimi:confidence 40 .
"""
RED_CLAIM = PREFIXES + b"""
@prefix ex: <https://example.org/red/> .
ex:bulletin a fimi:Report ; rdfs:label "A public bulletin with a RED annex (test)" ;
    dcterms:title "Bulletin (test)" ; dcterms:publisher ex:agency .
ex:agency a fimi:Organization ; rdfs:label "an agency (test)" .
ex:annex-claim a fimi:Claim ; fimi:marking fimi:TLP_RED ;
    fimi:claimSubject case:campaign ; fimi:claimPredicate fimi:attributedTo ; fimi:claimObject case:azerbaijan ;
    fimi:claimedGrade fimi:StateControlled ;
    fimi:statedIn ex:bulletin ; fimi:quote "The annex says an outlet of the state ran it (red test)" ; fimi:confidence 60 .
"""
AMBER = source_id("https://example.org/amber/report")
RED = source_id("https://example.org/red/bulletin")


@pytest.fixture
def readers(seed_store: GraphStore) -> Iterator[dict[str, TestClient]]:
    """The seed case plus an AMBER report and a CLEAR report holding a RED claim, loaded by a RED editor; a reader of each clearance."""
    with make_client(seed_store) as editor:
        for doc in (AMBER_REPORT, RED_CLAIM):
            assert editor.post("/sources", content=doc, headers={"Content-Type": "text/turtle"}).status_code == 201
    clients = {c: make_client(seed_store, role="reader", clearance=c) for c in ("green", "amber", "red")}
    for client in clients.values():
        client.__enter__()
    yield clients
    for client in clients.values():
        client.__exit__(None, None, None)


def _changes(client: TestClient, **params: str) -> tuple[int, list[dict]]:
    response = client.get("/changes", params={"since": TODAY, **params})
    assert response.status_code == 200
    return int(response.headers["x-total-count"]), response.json()


def test_a_green_reader_sees_neither_the_amber_ingest_nor_the_red_one(readers: dict[str, TestClient]) -> None:
    total, entries = _changes(readers["green"])
    assert total == 2 and [c["source_id"] for c in entries] == sorted(c["source_id"] for c in entries if c["source_id"] != AMBER)
    assert AMBER not in {c["source_id"] for c in entries} and RED not in {c["source_id"] for c in entries}
    assert [c["sequence"] for c in entries] == [1, 2]  # numbered without the changes it may not see: no gap counts them
    assert "amber test" not in str(entries) and "red test" not in str(entries)
    assert _changes(readers["green"], source=AMBER) == (0, [])
    assert _changes(readers["green"], subject=str(CAMPAIGN))[0] == 1  # Viginum's ingest only


def test_an_amber_reader_sees_the_amber_ingest_and_a_red_reader_both(readers: dict[str, TestClient]) -> None:
    total, entries = _changes(readers["amber"])
    assert total == 3 and entries[-1]["source_id"] == AMBER and [c["sequence"] for c in entries] == [1, 2, 3]
    amber = entries[-1]
    assert {(e["effect"], e["type"], e["grade_after"]) for e in amber["effects"] if e["subject"] == str(CAMPAIGN)} >= {
        ("added", "attribution-link", "state-linked"), ("added", "conflict", None)}
    assert "red test" not in str(entries) and "state-controlled" not in str(entries)
    total, entries = _changes(readers["red"])
    assert total == 4 and [c["source_id"] for c in entries[-2:]] == [AMBER, RED]
    assert ("added", "attribution-link", "state-controlled") in {
        (e["effect"], e["type"], e["grade_after"]) for e in entries[-1]["effects"]}


def test_a_retraction_shows_each_reader_only_the_effects_within_its_clearance(seed_store: GraphStore,
                                                                              readers: dict[str, TestClient]) -> None:
    with make_client(seed_store) as editor:
        assert editor.delete(f"/sources/{VIGINUM}").status_code == 200
    conflicts, grades = {}, {}
    for clearance, client in readers.items():
        total, entries = _changes(client, source=VIGINUM)
        retraction = entries[-1]
        assert retraction["kind"] == "retract" and retraction["actor"] == "tests"
        assert retraction["effects_total"] == len(retraction["effects"])
        about = [e for e in retraction["effects"] if e["subject"] == str(CAMPAIGN)]
        assert ("removed", "negative-finding") in {(e["effect"], e["type"]) for e in about}
        conflicts[clearance] = sum(1 for e in about if e["type"] == "conflict")
        grades[clearance] = {e["grade_before"] or e["grade_after"] for e in about if e["type"] == "attribution-link"}
    # Viginum's finding went for all; the conflicts it stood in (AMBER, RED) only for those cleared for them.
    assert conflicts == {"green": 0, "amber": 1, "red": 2}
    assert grades["green"] == {"party-linked"} and "state-controlled" not in grades["amber"]
    assert "state-controlled" in grades["red"]
    green_total, green = _changes(readers["green"])
    assert green_total == 3 and "amber test" not in str(green) and "a partner service" not in str(green)


def test_originals_answer_404_above_the_callers_clearance(readers: dict[str, TestClient]) -> None:
    for sid, lowest in ((AMBER, "amber"), (RED, "red"), (VIGINUM, "green")):
        for clearance, client in readers.items():
            response = client.get(f"/sources/{sid}/original")
            allowed = ["green", "amber", "red"].index(clearance) >= ["green", "amber", "red"].index(lowest)
            assert response.status_code == (200 if allowed else 404), (sid, clearance)
            if not allowed:
                assert "red test" not in response.text and "amber test" not in response.text
    # The bulletin itself is CLEAR (a green reader lists it) but its document holds a RED claim.
    assert readers["green"].get(f"/sources/{RED}").status_code == 200
    assert b"red test" in readers["red"].get(f"/sources/{RED}/original").content


def test_a_conflict_resting_on_a_red_claim_is_seen_only_with_red_clearance(readers: dict[str, TestClient]) -> None:
    def attributions(client: TestClient) -> list[str]:
        """The quotes on the attribution side of each conflict about the campaign the caller sees."""
        response = client.get("/conflicts", params={"subject": str(CAMPAIGN)})
        assert int(response.headers["x-total-count"]) == len(response.json())
        return sorted(s["quote"] for c in response.json() for side in c["sides"] if side["type"] == "attribution-link"
                      for s in side["sources"])

    assert readers["green"].get("/conflicts").json() == []
    assert readers["green"].get("/conflicts").headers["x-total-count"] == "0"
    assert attributions(readers["amber"]) == ["The partner attributes the campaign to Baku (amber test)"]
    assert attributions(readers["red"]) == ["The annex says an outlet of the state ran it (red test)",
                                            "The partner attributes the campaign to Baku (amber test)"]


def test_why_not_names_only_what_the_caller_may_see(readers: dict[str, TestClient]) -> None:
    params = {"subject": str(CAMPAIGN), "state": str(AZERBAIJAN), "grade": "state-official"}
    green = readers["green"].get("/explanations/why-not", params=params)
    red = readers["red"].get("/explanations/why-not", params=params)
    assert green.status_code == red.status_code == 200
    assert "amber test" not in green.text and "red test" not in green.text and "state-controlled" not in green.text
    assert "state-controlled" in red.text


def test_sparql_reads_only_the_log_within_the_callers_clearance(readers: dict[str, TestClient]) -> None:
    query = """PREFIX fimi: <https://w3id.org/fimigraph/ontology#>
               SELECT ?change ?n WHERE { GRAPH ?g { ?change a fimi:Change ; fimi:sequence ?n } } ORDER BY ?n"""
    for clearance, count in (("green", 2), ("amber", 3), ("red", 4)):
        response = readers[clearance].post("/sparql", data={"query": query}, headers={"Accept": "application/sparql-results+json"})
        rows = response.json()["results"]["bindings"]
        assert [int(r["n"]["value"]) for r in rows] == list(range(1, count + 1)), clearance


def test_a_view_built_again_holds_the_log_as_kept_change_by_change(seed_store: GraphStore, readers: dict[str, TestClient]) -> None:
    with make_client(seed_store) as editor:
        assert editor.delete(f"/sources/{VIGINUM}").status_code == 200

    def logs(views: Views) -> dict[int, list[str]]:
        return {band: sorted(str(q) for q in view.quads_for_pattern(None, None, None, ox.NamedNode(str(CHANGES_GRAPH))))
                for band, view in views.stores.items()}

    kept = logs(seed_store.views)
    assert set(kept) == {0, 2} and all(kept.values())
    again = Views(seed_store.ox, None)  # built from the whole store, in memory
    again.rebuild(generation=seed_store.generation())
    assert logs(again) == kept
