"""Auditing the seed case over HTTP and on the command line: the change log, documents as received, why not, conflicts."""

from __future__ import annotations

import gc
import getpass
import json
import logging
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support import AZERBAIJAN, CAMPAIGN, CASE, REPO, SAMPLES, SEED_DIR, VIGINUM_REPORT, run_cli

from conftest import make_client
from fimigraph.store import GraphStore, source_id

VIGINUM_FILE = SEED_DIR / "viginum-report.ttl"
VIGINUM = source_id(str(VIGINUM_REPORT))
PROBLEM = "application/problem+json"
TODAY = datetime.now(timezone.utc).date().isoformat()
BLOG = b"""
@prefix fimi:    <https://w3id.org/fimigraph/ontology#> .
@prefix rdfs:    <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix case:    <https://w3id.org/fimigraph/case/boycottparis2024/> .
@prefix ex:      <https://example.org/blog/> .

ex:post a fimi:Article ; rdfs:label "A blog post (test)" ;
    dcterms:title "Baku behind #boycottparis2024, says a blogger (test)" ; dcterms:publisher ex:blogger .
ex:blogger a fimi:Person ; rdfs:label "a blogger (test)" .
case:campaign a fimi:Campaign ; rdfs:label "#boycottparis2024 campaign" .
case:azerbaijan a fimi:State ; rdfs:label "Azerbaijan" .
ex:claim a fimi:Claim ;
    fimi:claimSubject case:campaign ; fimi:claimPredicate fimi:attributedTo ; fimi:claimObject case:azerbaijan ;
    fimi:claimedGrade fimi:StateLinked ;
    fimi:statedIn ex:post ; fimi:quote "Baku is behind the #boycottparis2024 campaign" ; fimi:confidence 30 .
"""

ASSESSMENT = b"""
@prefix fimi:    <https://w3id.org/fimigraph/ontology#> .
@prefix rdfs:    <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix ex:      <https://example.org/desk/> .

ex:assessment a fimi:Report ; rdfs:label "Analysis desk assessment (test)" ;
    dcterms:title "Assessment of the claims about #boycottparis2024 (test)" ; dcterms:publisher ex:desk .
ex:desk a fimi:Organization ; rdfs:label "Example analysis desk (test)" .
ex:disputes-blog a fimi:Claim ;
    fimi:claimSubject ex:desk ; fimi:claimPredicate fimi:disputes ; fimi:claimObject <https://example.org/blog/claim> ;
    fimi:statedIn ex:assessment ; fimi:quote "The post cites no evidence for Baku's role" ; fimi:confidence 70 .
"""


def effects(entry: dict, kind: str) -> set[tuple[str, str | None, str | None]]:
    """One change's effects of a kind on the campaign, as (conclusion type, grade, state label)."""
    return {(e["type"], e["grade_before"] or e["grade_after"], e["state_label"]) for e in entry["effects"]
            if e["effect"] == kind and e["subject"] == str(CAMPAIGN)}


def test_retracting_viginum_logs_what_it_cost_the_campaign(seed_client: TestClient) -> None:
    before = seed_client.get("/attribution", params={"subject": str(CAMPAIGN)}).json()
    assert before["links"] and before["not_directly_linked"]
    assert seed_client.delete(f"/sources/{VIGINUM}").status_code == 200
    after = seed_client.get("/attribution", params={"subject": str(CAMPAIGN)}).json()
    assert after["links"] == [] and after["not_directly_linked"] == []

    response = seed_client.get("/changes", params={"since": TODAY})
    assert response.status_code == 200 and response.headers["x-total-count"] == "3"
    load_reuters, load_viginum, retraction = response.json()
    assert [c["kind"] for c in (load_reuters, load_viginum, retraction)] == ["ingest", "ingest", "retract"]
    assert retraction["source"] == str(VIGINUM_REPORT) and retraction["source_id"] == VIGINUM
    assert retraction["source_label"] == "Viginum report on the #boycottparis2024 campaign"
    assert retraction["actor"] == "tests" and retraction["claims_removed"] == 11
    assert retraction["previous_document"]["sha256"] == load_viginum["document"]["sha256"]
    assert effects(retraction, "removed") == {
        ("attribution-link", "party-linked", "Azerbaijan"),
        ("negative-finding", None, "Azerbaijan"),
        ("negative-finding", None, "the Azerbaijani authorities"),
    }
    # One line says what it cost the campaign.
    campaign = seed_client.get("/changes", params={"since": TODAY, "subject": str(CAMPAIGN), "source": VIGINUM}).json()[-1]
    assert campaign["summary"].endswith(
        "retracted Viginum report on the #boycottparis2024 campaign (viginum-report-fa3ea016): "
        "removed: party-linked link #boycottparis2024 campaign → Azerbaijan (confidence 32); "
        "removed: negative finding #boycottparis2024 campaign → Azerbaijan (confidence 76); "
        "removed: negative finding #boycottparis2024 campaign → the Azerbaijani authorities (confidence 80)")


def test_loading_it_again_brings_them_back_and_is_logged(seed_client: TestClient) -> None:
    seed_client.delete(f"/sources/{VIGINUM}")
    posted = seed_client.post("/sources", content=VIGINUM_FILE.read_bytes(), headers={"Content-Type": "text/turtle"})
    assert posted.status_code == 201
    attribution = seed_client.get("/attribution", params={"subject": str(CAMPAIGN)}).json()
    assert [(l["grade"], l["state_label"]) for l in attribution["links"]] == [("party-linked", "Azerbaijan")]
    history = seed_client.get("/changes", params={"source": VIGINUM})
    assert history.headers["x-total-count"] == "3"
    first, retraction, again = history.json()
    assert posted.json()["change"] == again["change"] and [c["kind"] for c in history.json()] == ["ingest", "retract", "ingest"]
    assert effects(again, "added") == effects(retraction, "removed") == effects(first, "added")
    assert {e["conclusion"] for e in again["effects"]} == {e["conclusion"] for e in retraction["effects"]}
    assert again["sequence"] == retraction["sequence"] + 1


def test_changes_are_filtered_and_paged(seed_client: TestClient) -> None:
    everything = seed_client.get("/changes").json()
    assert [c["sequence"] for c in everything] == [1, 2]
    pages = [seed_client.get("/changes", params={"limit": 1, "offset": k}) for k in range(3)]
    assert [[c["sequence"] for c in p.json()] for p in pages] == [[1], [2], []]
    assert {p.headers["x-total-count"] for p in pages} == {"2"}
    about_state = seed_client.get("/changes", params={"state": str(CASE["azerbaijani-authorities"])}).json()
    assert [c["source_id"] for c in about_state] == [VIGINUM]
    assert {e["state_label"] for e in about_state[0]["effects"]} == {"the Azerbaijani authorities"}
    assert about_state[0]["effects_total"] > len(about_state[0]["effects"])
    assert seed_client.get("/changes", params={"since": "2999-01-01"}).json() == []
    for bad in ({"since": "last week"}, {"limit": 0}, {"subject": "not an iri"}):
        response = seed_client.get("/changes", params=bad)
        assert response.status_code == 400 and response.headers["content-type"] == PROBLEM


def test_the_log_survives_a_restart_and_sparql_reads_it(seed_store_path: Path) -> None:
    store = GraphStore(seed_store_path)
    with make_client(store) as client:
        client.delete(f"/sources/{VIGINUM}")
        logged = client.get("/changes").json()
    del client, store
    gc.collect()  # pyoxigraph lets go of the store's lock when the object goes
    with make_client(GraphStore(seed_store_path)) as client:
        assert client.get("/changes").json() == logged
        query = """PREFIX fimi: <https://w3id.org/fimigraph/ontology#> PREFIX prov: <http://www.w3.org/ns/prov#>
            PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
            SELECT ?change ?who WHERE { GRAPH <https://w3id.org/fimigraph/graph/changes> {
              ?change a fimi:Change ; fimi:changeKind fimi:Retraction ; prov:wasAssociatedWith/rdfs:label ?who } }"""
        rows = client.get("/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"}).json()
    assert [(b["change"]["value"], b["who"]["value"]) for b in rows["results"]["bindings"]] == [(logged[-1]["change"], "tests")]


def test_a_replace_regrades_and_keeps_the_earlier_version(seed_client: TestClient) -> None:
    """Viginum's individual said to be affiliated with the authorities instead of the party: the campaign's link is regraded."""
    old = VIGINUM_FILE.read_bytes()
    new = old.replace(b"fimi:claimObject case:presidential-party", b"fimi:claimObject case:azerbaijani-authorities")
    assert seed_client.post("/sources", content=new, params={"replace": "true"}, headers={"Content-Type": "text/turtle"}).status_code == 201
    replaced = seed_client.get("/changes", params={"subject": str(CAMPAIGN)}).json()[-1]
    assert replaced["kind"] == "replace"
    regraded = [e for e in replaced["effects"] if e["effect"] == "regraded" and e["state"] == str(AZERBAIJAN)]
    assert [(e["grade_before"], e["grade_after"], e["confidence_before"]) for e in regraded] == [("party-linked", "state-linked", 32)]
    assert regraded[0]["text"].startswith("regraded: link #boycottparis2024 campaign → Azerbaijan from party-linked (32) to state-linked")
    assert seed_client.get(f"/sources/{VIGINUM}/original").content == new
    earlier = seed_client.get(replaced["previous_document"]["href"])
    assert earlier.status_code == 200 and earlier.content == old


def test_a_replace_that_changes_a_confidence_rescores(seed_client: TestClient) -> None:
    old = VIGINUM_FILE.read_bytes()
    new = old.replace(b"fimi:confidence 75 ;\n    fimi:evidenceType fimi:TechnicalEvidence", b"fimi:confidence 50 ;\n    fimi:evidenceType fimi:TechnicalEvidence")
    assert new != old
    seed_client.post("/sources", content=new, params={"replace": "true"}, headers={"Content-Type": "text/turtle"})
    rescored = [e for e in seed_client.get("/changes").json()[-1]["effects"] if e["effect"] == "rescored"]
    campaign = [e for e in rescored if e["subject"] == str(CAMPAIGN) and e["type"] == "attribution-link"]
    assert [(e["confidence_before"], e["confidence_after"], e["grade_after"]) for e in campaign] == [(32, 22, "party-linked")]


def test_originals_are_the_bytes_submitted(seed_client: TestClient) -> None:
    for path in sorted(SEED_DIR.glob("*.ttl")):
        response = seed_client.get(f"/sources/{source_id(str(CASE[path.stem]))}/original")
        assert response.status_code == 200 and response.content == path.read_bytes()
        assert response.headers["content-type"] == "text/turtle"
    bundle = (REPO / "data" / "samples" / "stix" / "boycottparis2024-opencti.json").read_bytes()
    sid = seed_client.post("/sources", content=bundle, headers={"Content-Type": "application/stix+json"}).json()["id"]
    response = seed_client.get(f"/sources/{sid}/original")
    assert response.content == bundle and response.headers["content-type"] == "application/stix+json"
    assert seed_client.get(f"/sources/{sid}/original", params={"sha256": "0" * 64}).status_code == 404
    assert seed_client.get(f"/sources/{sid}/original", params={"sha256": "not-hex"}).status_code == 400


def test_a_document_that_no_longer_matches_its_checksum_is_a_logged_500(seed_store: GraphStore,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    kept = next((seed_store.path / "originals").rglob("*"), None)
    files = [p for p in (seed_store.path / "originals").rglob("*") if p.is_file()]
    assert kept is not None and len(files) == 2
    for f in files:
        f.write_bytes(f.read_bytes().replace(b"Viginum", b"Vxginum").replace(b"Reuters", b"Rxuters"))
    with make_client(seed_store) as client, caplog.at_level(logging.ERROR):
        response = client.get(f"/sources/{VIGINUM}/original")
    assert response.status_code == 500 and response.headers["content-type"] == PROBLEM
    assert response.json()["title"] == "Stored document corrupt" and "checksum" in response.json()["detail"]
    assert any("corrupt" in r.getMessage() for r in caplog.records)


def test_a_direct_attribution_shows_in_conflicts_beside_viginums_finding(seed_client: TestClient) -> None:
    assert seed_client.get("/conflicts").json() == []
    blog = seed_client.post("/sources", content=BLOG, headers={"Content-Type": "text/turtle"}).json()["id"]
    response = seed_client.get("/conflicts")
    assert response.headers["x-total-count"] == "1"
    [conflict] = response.json()
    assert (conflict["kind"], conflict["subject_label"], conflict["state_label"]) == (
        "attribution-vs-negative", "#boycottparis2024 campaign", "Azerbaijan")
    sides = {side["type"]: [(s["source_label"], s["quote"]) for s in side["sources"]] for side in conflict["sides"]}
    assert sides == {
        "negative-finding": [("Viginum report on the #boycottparis2024 campaign",
                              "However, Viginum said it had not been able to link the campaign directly to the Azerbaijani authorities.")],
        "attribution-link": [("A blog post (test)", "Baku is behind the #boycottparis2024 campaign")],
    }
    for params, count in (({"state": str(AZERBAIJAN)}, 1), ({"subject": str(CAMPAIGN)}, 1), ({"source": blog}, 1),
                          ({"source": VIGINUM}, 1), ({"source": source_id(str(CASE["reuters-article"]))}, 0),
                          ({"subject": str(CASE["x-account"])}, 0)):
        assert len(seed_client.get("/conflicts", params=params).json()) == count, params
    assert seed_client.get("/conflicts", params={"source": "no-such-source"}).status_code == 404


def test_why_not_state_linked_names_the_missing_organ_link_and_viginums_finding(seed_client: TestClient) -> None:
    params = {"subject": str(CAMPAIGN), "state": str(AZERBAIJAN), "grade": "state-linked"}
    answer = seed_client.get("/explanations/why-not", params=params).json()
    assert answer["holds"] is False and [l["grade"] for l in answer["links"]] == ["party-linked"]
    rules = {r["rule_label"]: r for r in answer["rules"]}
    assert set(rules) == {"operated by a state", "direct attribution", "organ to state", "chain"}
    assert rules["organ to state"]["missing"] == (
        "a state-linked link of #boycottparis2024 campaign to the Azerbaijani authorities (a state organ that is an organ of Azerbaijan)")
    assert rules["chain"]["present"][0]["found"][0]["source_label"] == "Viginum report on the #boycottparis2024 campaign"
    needed = [n["text"] for n in answer["needed"]]
    assert ("a claim that an Azerbaijani individual (unnamed) works for, works under contract for or is affiliated with "
            "the Azerbaijani authorities") in needed
    [finding] = answer["against"]["not_directly_linked"]
    assert finding["source"] == str(VIGINUM_REPORT) and "could not" not in finding["quote"] and "Azerbaijani authorities" in finding["quote"]
    assert "organ to state would need a state-linked link of #boycottparis2024 campaign to the Azerbaijani authorities" in answer["summary"]
    assert "Against it: Viginum report on the #boycottparis2024 campaign could not link" in answer["summary"]
    text = seed_client.get("/explanations/why-not", params=params, headers={"Accept": "text/plain"})
    assert text.headers["content-type"].startswith("text/plain") and "lacks a claim that Azerbaijan conducts" in text.text


def test_why_not_a_grade_that_holds_and_bad_questions(seed_client: TestClient) -> None:
    holds = seed_client.get("/explanations/why-not", params={"subject": str(CAMPAIGN), "state": str(AZERBAIJAN), "grade": "party-linked"})
    assert holds.json()["holds"] is True and holds.json()["summary"].startswith("#boycottparis2024 campaign is party-linked to Azerbaijan")
    for params, status in (({"grade": "state-ish"}, 400), ({"subject": "https://example.org/nobody"}, 404), ({"state": "x y"}, 400)):
        query = {"subject": str(CAMPAIGN), "state": str(AZERBAIJAN), "grade": "state-linked", **params}
        response = seed_client.get("/explanations/why-not", params=query)
        assert response.status_code == status and response.headers["content-type"] == PROBLEM


def test_an_analysts_assessment_is_a_source_and_both_sides_stay(seed_client: TestClient) -> None:
    """As docs/writing-sources.md shows: the analyst's organization disputes the blog's attribution; every side stays on record."""
    seed_client.post("/sources", content=BLOG, headers={"Content-Type": "text/turtle"})
    assert seed_client.post("/sources", content=ASSESSMENT, headers={"Content-Type": "text/turtle"}).status_code == 201
    kinds = sorted(c["kind"] for c in seed_client.get("/conflicts", params={"subject": str(CAMPAIGN)}).json())
    assert kinds == ["attribution-vs-negative", "disputed"]
    disputed = next(c for c in seed_client.get("/conflicts").json() if c["kind"] == "disputed")
    quotes = {s["quote"] for side in disputed["sides"] for s in side["sources"]}
    assert "Baku is behind the #boycottparis2024 campaign" in quotes and len(quotes) == 2


def test_the_command_line_audits_the_seed_case(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    assert run_cli("load", *map(str, sorted(SEED_DIR.glob("*.ttl"))), "--store", store).returncode == 0
    assert run_cli("retract", VIGINUM, "--store", store).returncode == 0
    text = run_cli("changes", "--since", TODAY, "--subject", str(CAMPAIGN), "--store", store)
    assert text.returncode == 0, text.stderr
    assert f"{getpass.getuser()} retracted Viginum report on the #boycottparis2024 campaign ({VIGINUM}" in text.stdout
    assert "    removed: party-linked link #boycottparis2024 campaign → Azerbaijan (confidence 32)" in text.stdout
    logged = json.loads(run_cli("changes", "--json", "--store", store).stdout)
    assert logged["total"] == 3 and {c["actor"] for c in logged["changes"]} == {getpass.getuser()}
    earlier = logged["changes"][1]["document"]["sha256"]
    saved = tmp_path / "viginum.ttl"
    assert run_cli("original", VIGINUM, "--sha256", earlier, "-o", str(saved), "--store", store).returncode == 0
    assert saved.read_bytes() == VIGINUM_FILE.read_bytes()
    gone = run_cli("original", VIGINUM, "--store", store)
    assert gone.returncode == 4 and f"changes --source {VIGINUM}" in gone.stderr
    assert run_cli("load", str(VIGINUM_FILE), "--store", store).returncode == 0
    printed = run_cli("original", VIGINUM, "--store", store)
    assert printed.returncode == 0 and printed.stdout == VIGINUM_FILE.read_text(encoding="utf-8")
    why = run_cli("why-not", str(CAMPAIGN), str(AZERBAIJAN), "state-linked", "--store", store)
    assert why.returncode == 0 and why.stdout.startswith("Nothing makes #boycottparis2024 campaign state-linked to Azerbaijan")
    assert "lacks a state-linked link of #boycottparis2024 campaign to the Azerbaijani authorities" in why.stdout
    assert run_cli("why-not", str(CAMPAIGN), str(AZERBAIJAN), "stately", "--store", store).returncode == 2
    assert run_cli("load", str(SAMPLES / "minimal-source.ttl"), "--store", store).returncode == 0
    conflicts = run_cli("conflicts", "--store", store)
    assert conflicts.returncode == 0 and conflicts.stdout.strip() == "none of 0 conflict(s)"
    for kept in (tmp_path / "store" / "originals").rglob("*"):
        if kept.is_file():
            kept.write_bytes(b"tampered")
    corrupt = run_cli("original", VIGINUM, "--store", store)
    assert corrupt.returncode == 9 and "no longer match their checksum" in corrupt.stderr
