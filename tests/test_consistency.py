"""OWL checks with HermiT: the ontology classifies as intended; a source that contradicts it is
named with the individuals and axioms involved (CLI, API, and on ingest when asked for)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rdflib import BNode, Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS
from support import SAMPLES, SEED_FILES, run_cli

from fimigraph.consistency import check, classify, property_classes
from fimigraph.disarm import default_paths, incidents_document
from fimigraph.ontology import ontology_graph
from fimigraph.vocab import FIMI

BROKEN = SAMPLES / "inconsistent-source.ttl"
PARTY, TROLL = "https://example.org/fimi-sample/party", "https://example.org/fimi-sample/troll"


def _both(g: Graph, name: str, a: URIRef, b: URIRef) -> str:
    """A test class ``name`` ≡ a ⊓ b."""
    cls, both, members = URIRef(f"urn:test:{name}"), BNode(), BNode()
    g.add((cls, RDF.type, OWL.Class))
    g.add((cls, OWL.equivalentClass, both))
    g.add((both, RDF.type, OWL.Class))
    Collection(g, members, [a, b])
    g.add((both, OWL.intersectionOf, members))
    return str(cls)


def test_the_ontology_classifies_as_intended() -> None:
    tests = Graph()
    errors = {_both(tests, n, a, b) for n, a, b in [("PartyState", FIMI.PoliticalParty, FIMI.State),
                                                    ("PersonAccount", FIMI.Person, FIMI.Account),
                                                    ("OrganCompany", FIMI.StateOrgan, FIMI.Company),
                                                    ("ClaimSource", FIMI.Claim, FIMI.Source)]}
    allowed = {_both(tests, n, a, b) for n, a, b in [("StateMedia", FIMI.MediaOutlet, FIMI.StateOrgan),
                                                     ("MediaCompany", FIMI.MediaOutlet, FIMI.Company),
                                                     ("CampaignEvent", FIMI.Campaign, FIMI.Event)]}
    found = classify(tests)
    assert found.unsatisfiable - {str(OWL.Nothing)} == errors  # no class of the ontology itself is unsatisfiable
    assert all(found.superclasses[c] for c in allowed)
    # The disjointness axioms add no subsumption: every class keeps exactly its asserted named superclasses.
    onto = ontology_graph()
    for cls in set(onto.subjects(RDF.type, OWL.Class)) - property_classes():  # (classes of properties: not OWL DL)
        if isinstance(cls, URIRef) and str(cls).startswith(str(FIMI)):
            asserted = {str(s) for s in onto.objects(cls, RDFS.subClassOf) if isinstance(s, URIRef)} or {str(OWL.Thing)}
            assert found.superclasses[str(cls)] == asserted, cls


def test_real_sources_are_consistent() -> None:
    seed = Graph()
    for path in SEED_FILES:
        seed.parse(path)
    incidents, _ = incidents_document(*default_paths())
    for graph in (seed, incidents):
        report = check(graph)
        assert report.consistent and report.violations == () and report.individuals > 20


def _violations(report: dict[str, Any]) -> dict[str, str]:
    return {v["individual"]: v["axiom"] for v in report["violations"]}


def test_check_names_each_broken_individual_and_the_axiom_it_breaks(tmp_path: Path) -> None:
    done = run_cli("check", str(BROKEN))
    assert done.returncode == 3, done.stderr
    assert f"<{PARTY}> (Ruritanian People's Party) breaks fimi:State owl:disjointWith fimi:Organization" in done.stdout
    assert f"because <{TROLL}> fimi:handle \"@ruri_troll\" (fimigraph: fimi:handle rdfs:domain fimi:Account)" in done.stdout
    assert run_cli("check").returncode == 0  # the ontology alone


def test_post_consistency_checks_a_document_or_a_loaded_source(client: Any) -> None:
    response = client.post("/consistency", content=BROKEN.read_bytes(), headers={"Content-Type": "text/turtle"})
    assert response.status_code == 200 and response.json()["consistent"] is False
    assert _violations(response.json()) == {PARTY: "fimi:State owl:disjointWith fimi:Organization",
                                            TROLL: "fimi:Actor owl:disjointWith fimi:Account"}
    assert client.get("/sources").json() == []  # checking writes nothing
    assert client.post("/sources", content=BROKEN.read_bytes(), headers={"Content-Type": "text/turtle"}).status_code == 201
    loaded = client.post("/consistency", params={"source": "https://example.org/fimi-sample/blog-post"})
    assert _violations(loaded.json()) == _violations(response.json())
    assert client.post("/consistency").status_code == 400


def test_ingest_refuses_an_inconsistent_source_when_asked_to(empty_store: Any) -> None:
    from conftest import make_client

    with make_client(empty_store, owl_check=True) as client:
        refused = client.post("/sources", content=BROKEN.read_bytes(), headers={"Content-Type": "text/turtle"})
        assert refused.status_code == 422 and refused.json()["type"].endswith("/inconsistent")
        assert set(_violations(refused.json())) == {PARTY, TROLL}
        assert client.get("/sources").json() == []
        accepted = client.post("/sources", content=SEED_FILES[0].read_bytes(), headers={"Content-Type": "text/turtle"})
        assert accepted.status_code == 201
