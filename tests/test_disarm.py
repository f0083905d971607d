"""DISARM: the framework's STIX bundle as the technique catalogue, the incident master as campaigns,
and the analyst question "campaigns using technique T and linked to state S"."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS
from support import QUERIES, REPO, run_cli

from fimigraph.disarm import ATTRIBUTION_CONFIDENCE, default_paths, incidents_document, load_incidents
from fimigraph.ingest import ingest
from fimigraph.stix import import_bundle
from fimigraph.store import GraphStore
from fimigraph.vocab import COUNTRY, DISARM, FIMI

CATALOGUE = REPO / "data" / "disarm" / "DISARM.json"


@pytest.fixture(scope="module")
def catalogue() -> Any:
    return import_bundle(CATALOGUE.read_bytes())


def test_the_catalogue_keeps_techniques_tactics_and_their_disarm_ids(catalogue: Any) -> None:
    g = catalogue.graph
    techniques = set(g.subjects(RDF.type, FIMI.Technique))
    assert len(techniques) == 391 and all(t == DISARM[str(g.value(t, FIMI.disarmId))] for t in techniques)
    tactics = set(g.subjects(RDF.type, FIMI.Tactic))
    assert sorted(str(g.value(t, SKOS.notation)) for t in tactics) == [f"TA{n:02d}" for n in (1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)]
    assert all(g.value(t, FIMI.tactic) in tactics for t in techniques)
    assert len(set(g.subject_objects(SKOS.broader))) == 288
    assert (DISARM["T0049.003"], SKOS.broader, DISARM["T0049"]) in g
    assert str(g.value(DISARM["T0049"], RDFS.label)) == "Flood Information Space"
    # The bundle's "mitre-attack" labels are DISARM's quirk: nothing here says ATT&CK.
    assert not any("mitre" in str(term).lower() or "attack" in str(term).lower() for triple in g for term in triple
                   if isinstance(term, URIRef)) and not list(g.subjects(RDF.type, FIMI.Claim))
    src = catalogue.source
    assert str(g.value(g.value(src, DCTERMS.publisher), RDFS.label)) == "DISARM Foundation"
    assert str(g.value(src, DCTERMS.rights)) == "CC-BY-SA-4.0 DISARM Foundation"
    assert catalogue.warnings == ()


def test_an_attack_technique_gets_no_disarm_id() -> None:
    ts = "2024-01-01T00:00:00.000Z"
    phishing = {"type": "attack-pattern", "spec_version": "2.1", "id": "attack-pattern--00000000-0000-4000-8000-000000000001",
                "created": ts, "modified": ts, "name": "Phishing", "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}],
                "external_references": [{"source_name": "mitre-attack", "external_id": "T1566", "url": "https://attack.mitre.org/techniques/T1566"}]}
    result = import_bundle(json.dumps({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000002", "objects": [phishing]}))
    assert list(result.graph.objects(None, FIMI.disarmId)) == []
    assert any("without a DISARM id" in w for w in result.warnings)


@pytest.fixture(scope="module")
def disarm_store(tmp_path_factory: pytest.TempPathFactory) -> GraphStore:
    """The catalogue and the incidents, loaded as a user would."""
    store = GraphStore(tmp_path_factory.mktemp("disarm") / "store")
    ingest(store, CATALOGUE.read_bytes(), media_type="application/stix+json")
    load_incidents(store, *default_paths())
    return store


def test_incidents_are_campaigns_attributed_weakly_at_country_level(disarm_store: GraphStore) -> None:
    assert disarm_store.select("SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?c a fimi:Campaign }")[0]["n"] == 129
    claims = disarm_store.select("""
        SELECT ?campaign ?state ?grade ?confidence ?evidence WHERE {
          ?c fimi:claimPredicate fimi:attributedTo ; fimi:claimSubject ?campaign ; fimi:claimObject ?state ;
             fimi:claimedGrade ?grade ; fimi:confidence ?confidence . OPTIONAL { ?c fimi:evidenceType ?evidence } }""")
    assert {(r["grade"], r["confidence"], r["evidence"]) for r in claims} == {(str(FIMI.StateAligned), ATTRIBUTION_CONFIDENCE, None)}
    by_state = Counter(r["state"].rsplit("/", 1)[-1] for r in claims)
    assert by_state == {"RU": 41, "CN": 7, "BR": 4, "GB": 2, "SY": 1, "SA": 1, "IR": 1, "MX": 1, "MM": 1, "BY": 1}
    assert len({r["campaign"] for r in claims}) == 58  # the other 71 ("Unknown" or empty) stay, unattributed
    links = disarm_store.select("SELECT DISTINCT ?g ?d WHERE { GRAPH <https://w3id.org/fimigraph/graph/inferred> { ?l fimi:linkSubject ?s ; fimi:grade ?g ; fimi:directness ?d } }")
    assert links == [{"g": str(FIMI.StateAligned), "d": str(FIMI.Direct)}]


def test_messy_country_names_are_normalised(tmp_path: Path) -> None:
    incidents = tmp_path / "incidents.csv"
    incidents.write_text(
        "disarm_id,name,summary,year_started,attributions_seen,found_in_country,urls\n"
        'I00001,#One,s,2016,"Russia,UK",USA,https://example.org/a\n'
        "I00002,Two,s,,SaudiArabia,\xa0US,\n"
        'I00003,Three,s,,Unknown,"Lithuania, Latvia, Poland",\n'
        "I00004,Four,s,,Atlantis,World,\n", encoding="utf-8")
    g, warnings = incidents_document(incidents)
    pairs = {(str(s).rsplit("/", 1)[-1], str(p).rsplit("#", 1)[-1], str(o).rsplit("/", 1)[-1]) for c in g.subjects(RDF.type, FIMI.Claim)
             for s, p, o in [(g.value(c, FIMI.claimSubject), g.value(c, FIMI.claimPredicate), g.value(c, FIMI.claimObject))]}
    assert pairs == {("I00001", "attributedTo", "RU"), ("I00001", "attributedTo", "GB"), ("I00001", "targets", "US"),
                     ("I00002", "attributedTo", "SA"), ("I00002", "targets", "US"), ("I00003", "targets", "LT"),
                     ("I00003", "targets", "LV"), ("I00003", "targets", "PL")}
    assert warnings == ("I00004 attributions_seen: 'Atlantis' names no state; left out",)
    assert (COUNTRY["GB"], RDFS.label, Literal("United Kingdom")) in g and (DISARM["I00001"], FIMI.hashtag, Literal("#One")) in g
    assert len(set(g.subjects(RDF.type, FIMI.Campaign))) == 4


def _ask(store: GraphStore, technique: str, state: str) -> list[tuple[str, str, str]]:
    text = (QUERIES[0].parent / "12-campaigns-by-technique-and-state.rq").read_text(encoding="utf-8")
    text = text.replace('# VALUES ?disarmId { "T0049" }', f'VALUES ?disarmId {{ "{technique}" }}')
    text = text.replace("# VALUES ?state { <https://w3id.org/fimigraph/case/boycottparis2024/azerbaijan> }",
                        f"VALUES ?state {{ <{state}> }}")
    return [(row["campaignLabel"].value[:22], row["grade"].value, row["directness"].value) for row in store.query(text)]


def test_a_campaign_is_found_by_technique_and_state(disarm_store: GraphStore) -> None:
    assert _ask(disarm_store, "T0097.110", str(COUNTRY["BY"])) == [("'Ghostwriter' Influenc", "state-aligned", "direct")]
    assert _ask(disarm_store, "T0097.110", str(COUNTRY["RU"])) == []  # unknown, not "not linked"


def test_the_cli_loads_the_shipped_incidents(tmp_path: Path) -> None:
    done = run_cli("disarm-incidents", "--store", str(tmp_path / "store"), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["claims"] == 431 and result["warnings"] == ["IT00000461: 'T00145.006' is not a DISARM technique id; left out"]
