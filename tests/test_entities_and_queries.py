"""What the workbench reads besides the rest of the API: entities by label or IRI (/entities), the shipped questions (/queries)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from fimigraph import entities
from fimigraph.vocab import FIMI

from support import ACCOUNT, AZERBAIJAN, CAMPAIGN, PARTY, QUERIES

VIGINUM = "https://w3id.org/fimigraph/case/boycottparis2024/viginum"


# -- /entities ----------------------------------------------------------------------------------


def test_entities_are_found_by_part_of_their_label_best_match_first(seed_client: TestClient) -> None:
    """Type-ahead: a label that starts with the text comes before one that only holds it; each with its kind."""
    found = seed_client.get("/entities", params={"q": "AZER"}).json()
    assert found[0] == {"iri": str(AZERBAIJAN), "label": "Azerbaijan", "kind": "state",
                        "types": ["https://w3id.org/fimigraph/ontology#State"]}
    kinds = {e["label"]: e["kind"] for e in found}
    assert kinds["the Azeri presidential party"] == "party"
    assert kinds["the Azerbaijani authorities"] == "organ"
    assert kinds["X account of an Azerbaijani individual (handle not given)"] == "account"
    assert kinds["an Azerbaijani individual (unnamed)"] == "actor"


def test_an_entity_is_found_by_its_iri(seed_client: TestClient) -> None:
    """An exact IRI first; a piece of an IRI finds the labelled entities whose IRI holds it."""
    assert seed_client.get("/entities", params={"q": str(CAMPAIGN)}).json()[0]["label"] == "#boycottparis2024 campaign"
    assert seed_client.get("/entities", params={"q": "x-account"}).json()[0]["iri"] == str(ACCOUNT)
    assert seed_client.get("/entities", params={"q": "boycott", "limit": 2}).json()[0]["kind"] == "campaign"


def test_search_text_is_bound_never_pasted(seed_client: TestClient) -> None:
    """Quotes, braces and SPARQL in the text are searched for as text: nothing found, no error."""
    for text in ('"} } DROP ALL #', "?x ?p ?o", "\\", "'"):
        answer = seed_client.get("/entities", params={"q": text})
        assert answer.status_code == 200 and answer.json() == [], text


def test_search_has_limits(seed_client: TestClient) -> None:
    """At most 200 characters and 50 results; q or iri, not both, not neither."""
    assert seed_client.get("/entities", params={"q": "a" * 201}).status_code == 400
    assert seed_client.get("/entities", params={"q": "a", "limit": 51}).status_code == 400
    assert len(seed_client.get("/entities", params={"q": "a", "limit": 3}).json()) == 3
    assert seed_client.get("/entities").status_code == 400
    assert seed_client.get("/entities", params={"q": "a", "iri": str(CAMPAIGN)}).status_code == 400


def test_entities_are_described_by_iri(seed_client: TestClient) -> None:
    """Several IRIs at once, in the order given: label and kind, or none for an IRI no source mentions."""
    answer = seed_client.get("/entities", params={"iri": [str(PARTY), VIGINUM, "https://example.org/nothing"]}).json()
    assert [(e["label"], e["kind"]) for e in answer] == [("the Azeri presidential party", "party"), ("Viginum", "organ"), (None, "other")]
    assert seed_client.get("/entities", params={"iri": ["not an iri"]}).status_code == 400
    assert seed_client.get("/entities", params={"iri": [f"https://example.org/{i}" for i in range(101)]}).status_code == 400


# -- /queries -----------------------------------------------------------------------------------


def test_the_shipped_questions_are_served_whole(client: TestClient) -> None:
    """Every data/queries/*.rq, its text unchanged, with the question its comment asks."""
    answer = client.get("/queries").json()
    assert [q["name"] for q in answer] == [p.stem for p in QUERIES]
    for q, path in zip(answer, QUERIES):
        assert q["query"] == path.read_text(encoding="utf-8")
        assert q["question"] and "#" not in q["question"]
    assert answer[0]["question"].startswith("which subjects (campaigns, accounts, actors, parties) are linked to a state, and how strongly?")


@pytest.mark.parametrize(("cls", "expected"), [
    ("Campaign", "campaign"), ("Account", "account"), ("Person", "actor"), ("MediaOutlet", "actor"), ("PoliticalParty", "party"),
    ("StateOrgan", "organ"), ("State", "state"), ("Narrative", "narrative"), ("Report", "source"), ("Event", "event"),
])
def test_each_entity_has_the_kind_the_graph_draws(cls: str, expected: str) -> None:
    """Kinds come from the ontology's classes; an entity typed twice takes the more specific (a party is an organization too)."""
    assert entities.kind([str(FIMI[cls])]) == expected
    if expected in ("party", "organ"):
        assert entities.kind([str(FIMI.Organization), str(FIMI[cls])]) == expected
