"""The seed case answered: party-linked to Azerbaijan, inferred, never more; Viginum's negative finding beside it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support import ACCOUNT, AZERBAIJAN, CAMPAIGN, FRANCE, INDIVIDUAL, PARTY, SEED_DIR, VIGINUM_REPORT, run_cli, shared_dir

from fimigraph.attribution import attribution
from fimigraph.store import GraphStore


def assert_seed_answer(result: dict[str, Any], subject: str) -> None:
    """The seed answer for one subject (the campaign or its account)."""
    assert result["subject"] == subject
    assert len({link["link"] for link in result["links"]}) == len(result["links"]), "each link is listed once"
    assert len({f["finding"] for f in result["not_directly_linked"]}) == len(result["not_directly_linked"])
    to_azerbaijan = [link for link in result["links"] if link["state"] == str(AZERBAIJAN)]
    assert to_azerbaijan, "the subject must be linked to Azerbaijan"
    # Nothing stronger than party-linked joins it to Azerbaijan ...
    assert {link["grade"] for link in to_azerbaijan} == {"party-linked"}
    # ... and the link is inferred, through the individual and the presidential party.
    inferred = [link for link in to_azerbaijan if link["directness"] == "inferred"]
    assert inferred
    assert any(str(INDIVIDUAL) in link["via"] and str(PARTY) in link["via"] for link in inferred)
    assert all(link["via"].index(str(INDIVIDUAL)) < link["via"].index(str(PARTY)) for link in inferred if str(INDIVIDUAL) in link["via"])
    assert all(0 <= link["confidence"] <= 100 and link["confidence_label"] in {"Low", "Med", "High"} for link in to_azerbaijan)
    assert result["links"][0]["state_label"] == "Azerbaijan"
    # Viginum's "not directly linked" stands beside it.
    findings = [f for f in result["not_directly_linked"] if f["state"] == str(AZERBAIJAN)]
    assert any(f["source"] == str(VIGINUM_REPORT) and "not been able to link" in f["quote"] for f in findings)
    # France is a target, never an attribution.
    assert all(link["state"] != str(FRANCE) for link in result["links"])


def test_campaign_and_account_are_party_linked(seed_store: GraphStore) -> None:
    for subject in (CAMPAIGN, ACCOUNT):
        assert_seed_answer(attribution(seed_store, str(subject)), str(subject))


def test_campaign_answer_through_the_cli(seed_store_path: Path) -> None:
    done = run_cli("attribution", str(CAMPAIGN), "--json", "--store", str(seed_store_path))
    assert done.returncode == 0, done.stderr
    assert_seed_answer(json.loads(done.stdout), str(CAMPAIGN))


def test_readable_cli_answer_names_grade_path_and_negative_finding(seed_store_path: Path) -> None:
    done = run_cli("attribution", str(CAMPAIGN), "--store", str(seed_store_path))
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "party-linked to Azerbaijan — inferred via" in text
    assert "the Azeri presidential party" in text
    assert "not directly linked to Azerbaijan" in text


def test_nothing_in_the_store_links_anything_to_france(seed_store: GraphStore) -> None:
    rows = seed_store.select(f"SELECT ?l WHERE {{ ?l a fimi:AttributionLink ; fimi:linkTarget <{FRANCE}> }}")
    assert rows == []
    targets = seed_store.select(
        f"SELECT ?c WHERE {{ ?c fimi:claimSubject <{CAMPAIGN}> ; fimi:claimPredicate fimi:targets ; fimi:claimObject <{FRANCE}> }}"
    )
    assert targets


def test_no_subject_is_more_than_party_linked_to_azerbaijan(seed_store: GraphStore) -> None:
    rows = seed_store.select(
        f"SELECT ?s ?rank WHERE {{ ?l a fimi:AttributionLink ; fimi:linkSubject ?s ; fimi:linkTarget <{AZERBAIJAN}> ; "
        f"fimi:grade/fimi:rank ?rank }}"
    )
    assert rows and min(r["rank"] for r in rows) == 4


def test_every_quote_is_verbatim_from_the_seed_article(seed_store: GraphStore) -> None:
    """Every quote of the seed case is in the Reuters article, read from ``$FIMIGRAPH_SHARED/seed/*.txt``."""
    shared = shared_dir()
    if shared is None:
        pytest.skip("the Reuters article is not redistributable, so not in the repository: "
                    "set FIMIGRAPH_SHARED to a folder holding it as seed/<name>.txt to check the quotes against it")
    texts = sorted((shared / "seed").glob("*.txt"))
    assert texts, f"FIMIGRAPH_SHARED is set, but {shared / 'seed'} holds no .txt article"
    article = texts[0].read_text(encoding="utf-8")
    quotes = [r["q"] for r in seed_store.select("SELECT DISTINCT ?q WHERE { ?c a fimi:Claim ; fimi:quote ?q }")]
    assert len(quotes) >= 10
    assert [q for q in quotes if q not in article] == []


def test_both_seed_documents_validate(tmp_path: Path) -> None:
    done = run_cli("validate", *map(str, sorted(SEED_DIR.glob("*.ttl"))))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("conforms") == 2
