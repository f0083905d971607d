"""STIX 2.1: importing bundles (OpenCTI-style) as source documents, exporting attribution links."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS

from fimigraph.errors import InputError, ParseError
from fimigraph.stix import (
    EXTENSION_ID,
    PRODUCER_ID,
    STIX,
    TLP2_MARKINGS,
    attribution_to_stix,
    bundle_to_graph,
    import_bundle,
)
from fimigraph.validate import validate_graph
from fimigraph.vocab import FIMI

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "stix" / "boycottparis2024-opencti.json"
TS = "2024-01-01T00:00:00.000Z"
AUTHOR = "identity--00000000-0000-4000-8000-000000000001"


def _claims(g: Graph) -> set[tuple[str, URIRef, str]]:
    """Every claim as (subject label, link kind, object label)."""
    def name(node: Any) -> str:
        return str(g.value(node, RDFS.label) or node)
    return {(name(g.value(c, FIMI.claimSubject)), g.value(c, FIMI.claimPredicate), name(g.value(c, FIMI.claimObject)))
            for c in g.subjects(RDF.type, FIMI.Claim)}


def _claim(g: Graph, pred: URIRef) -> URIRef:
    found = list(g.subjects(FIMI.claimPredicate, pred))
    assert len(found) == 1, f"expected one {pred} claim, found {len(found)}"
    return found[0]


def _obj(otype: str, n: int, **props: Any) -> dict[str, Any]:
    return {"type": otype, "spec_version": "2.1", "id": f"{otype}--00000000-0000-4000-8000-{n:012d}",
            "created": TS, "modified": TS, **props}


def _bundle(*objects: dict[str, Any]) -> str:
    author = _obj("identity", 1, name="Analyst desk", identity_class="organization")
    return json.dumps({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-00000000000b",
                       "objects": [author, *objects]})


CAMPAIGN = _obj("campaign", 2, name="#testcampaign", created_by_ref=AUTHOR, first_seen="2024-03-01T00:00:00Z")
COUNTRY = _obj("location", 3, name="Ruritania", country="RU", x_opencti_location_type="Country", created_by_ref=AUTHOR)


def _rel(n: int, rtype: str, src: dict[str, Any], tgt: dict[str, Any], **props: Any) -> dict[str, Any]:
    return _obj("relationship", n, relationship_type=rtype, source_ref=src["id"], target_ref=tgt["id"],
                created_by_ref=AUTHOR, **props)


# --------------------------------------------------------------------------- import

@pytest.fixture(scope="module")
def sample() -> Any:
    return import_bundle(SAMPLE.read_bytes())


def test_opencti_sample_passes_the_shapes(sample: Any) -> None:
    outcome = validate_graph(sample.graph)
    assert outcome.conforms, outcome.summary()


def test_opencti_sample_has_the_seed_claims(sample: Any) -> None:
    g = sample.graph
    assert _claims(g) == {
        ("Azerbaijani individual (unnamed)", FIMI.operates, "X account of an Azerbaijani individual"),
        ("#boycottparis2024", FIMI.usesAccount, "X account of an Azerbaijani individual"),
        ("Azerbaijani individual (unnamed)", FIMI.affiliatedWith, "Azeri presidential party"),
        ("Azeri presidential party", FIMI.rulingPartyOf, "Azerbaijan"),
        ("#boycottparis2024", FIMI.promotes, "France cannot safely host the 2024 Games"),
        ("#boycottparis2024", FIMI.targets, "France"),
        ("#boycottparis2024", FIMI.targets, "2024 Olympic and Paralympic Games"),
        ("#boycottparis2024", FIMI.usesTechnique, "Flood Information Space"),
        ("#boycottparis2024", FIMI.notDirectlyLinkedTo, "Azerbaijani authorities"),
        ("Azerbaijani authorities", FIMI.organOf, "Azerbaijan"),
        ("Viginum", FIMI.organOf, "France"),
    }
    label = {str(o): s for s, o in g.subject_objects(RDFS.label)}
    assert (label["Azeri presidential party"], RDF.type, FIMI.PoliticalParty) in g
    assert (label["Azerbaijani authorities"], RDF.type, FIMI.StateOrgan) in g
    assert (label["Azerbaijan"], RDF.type, FIMI.State) in g
    assert (label["Azerbaijani individual (unnamed)"], RDF.type, FIMI.Person) in g
    assert (label["Reuters"], RDF.type, FIMI.Organization) in g  # a news agency, not a state organ
    campaign = label["#boycottparis2024"]
    assert g.value(campaign, FIMI.activeFrom).toPython() == date(2023, 7, 26)
    assert g.value(campaign, FIMI.activeUntil).toPython() == date(2023, 7, 27)
    assert g.value(campaign, FIMI.hashtag) == Literal("#boycottparis2024")
    assert str(g.value(label["Flood Information Space"], FIMI.disarmId)) == "T0049"
    affiliation = _claim(g, FIMI.affiliatedWith)
    assert g.value(affiliation, FIMI.role) == FIMI.Associate
    assert g.value(affiliation, FIMI.evidenceType) == FIMI.ContextualEvidence
    # OpenCTI's "unknown" start/stop sentinels are dropped; real ones kept.
    assert g.value(_claim(g, FIMI.operates), FIMI.validFrom) is None
    assert g.value(_claim(g, FIMI.usesAccount), FIMI.validUntil).toPython() == date(2023, 7, 27)
    negative = _claim(g, FIMI.notDirectlyLinkedTo)
    assert str(g.value(negative, FIMI.quote)).startswith("However, Viginum said it had not been able")
    assert g.value(negative, FIMI.confidence).toPython() == 80
    assert g.value(negative, FIMI.marking) == FIMI.TLP_CLEAR


def test_opencti_sample_source_is_the_report(sample: Any) -> None:
    g, src = sample.graph, sample.source
    assert (src, RDF.type, FIMI.Report) in g
    assert str(g.value(src, DCTERMS.title)).startswith("French report flags Azeri-linked")
    assert g.value(src, DCTERMS.issued).toPython() == date(2023, 11, 13)
    assert str(g.value(g.value(src, DCTERMS.publisher), RDFS.label)) == "Reuters"
    assert str(g.value(src, FIMI.reliability)) == "B"
    assert set(g.objects(None, FIMI.statedIn)) == {src}


def test_unknown_relationship_is_a_warning_not_an_error(sample: Any) -> None:
    assert len(sample.warnings) == 1
    assert "related-to" in sample.warnings[0] and sample.warnings[0].startswith("relationship--")
    bundle = _bundle(CAMPAIGN, COUNTRY, _rel(10, "frobnicates", CAMPAIGN, COUNTRY), _rel(11, "targets", CAMPAIGN, COUNTRY))
    graph, warnings = bundle_to_graph(bundle)
    assert len(warnings) == 1 and "frobnicates" in warnings[0] and "relationship--" in warnings[0]
    assert _claims(graph) == {("#testcampaign", FIMI.targets, "Ruritania")}


def test_defaults_confidence_grade_and_marking() -> None:
    amber_v1 = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
    red = _obj("marking-definition", 20, name="my red", definition_type="tlp", definition={"tlp": "red"})
    bundle = _bundle(CAMPAIGN, COUNTRY, red,
                     _rel(10, "attributed-to", CAMPAIGN, COUNTRY, object_marking_refs=[amber_v1, red["id"]]))
    g, _ = bundle_to_graph(bundle)
    claim = _claim(g, FIMI.attributedTo)
    assert g.value(claim, FIMI.confidence).toPython() == 50  # STIX confidence absent → documented default
    assert g.value(claim, FIMI.claimedGrade) == FIMI.StateLinked  # bare attributed-to a country
    assert g.value(claim, FIMI.marking) == FIMI.TLP_RED  # the most restrictive of the two
    assert str(g.value(claim, FIMI.quote)).startswith('{"type":"relationship"')  # no description: the object itself
    assert validate_graph(g).conforms


def test_bundle_without_report_uses_the_common_author() -> None:
    result = import_bundle(_bundle(CAMPAIGN, COUNTRY, _rel(10, "targets", CAMPAIGN, COUNTRY, confidence=90)))
    g = result.graph
    assert result.source == STIX["bundle--00000000-0000-4000-8000-00000000000b"]
    assert str(g.value(result.source, DCTERMS.title)) == "STIX bundle bundle--00000000-0000-4000-8000-00000000000b"
    assert str(g.value(g.value(result.source, DCTERMS.publisher), RDFS.label)) == "Analyst desk"
    assert validate_graph(g).conforms


def test_bundle_with_no_single_author_is_rejected_by_the_shapes() -> None:
    other = _obj("campaign", 4, name="#other", created_by_ref="identity--00000000-0000-4000-8000-000000000009")
    graph, warnings = bundle_to_graph(_bundle(CAMPAIGN, other, COUNTRY, _rel(10, "targets", CAMPAIGN, COUNTRY)))
    assert any("publisher" in w for w in warnings)
    outcome = validate_graph(graph)
    assert not outcome.conforms and "publisher" in outcome.summary()


def test_part_of_a_state_is_organ_of_only_for_state_organs() -> None:
    ministry = _obj("identity", 5, name="Ministry of Truth", identity_class="organization", sectors=["government-national"])
    firm = _obj("identity", 6, name="PR firm", identity_class="organization")
    g, warnings = bundle_to_graph(_bundle(COUNTRY, ministry, firm, _rel(10, "part-of", ministry, COUNTRY),
                                          _rel(11, "part-of", firm, COUNTRY)))
    assert _claims(g) == {("Ministry of Truth", FIMI.organOf, "Ruritania")}
    assert len(warnings) == 1 and "8000-000000000011" in warnings[0]


def test_malformed_json_is_a_parse_error_with_line_and_column() -> None:
    text = '{\n  "type": "bundle",\n  "id": "bundle--00000000-0000-4000-8000-00000000000b"\n  "objects": []\n}'
    with pytest.raises(ParseError) as info:
        bundle_to_graph(text)
    assert "line 4" in info.value.detail and "\n" not in info.value.detail
    assert info.value.extra == {"line": 4, "column": 3}


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("[]", "not a STIX bundle"),
        ('{"type": "report", "id": "report--00000000-0000-4000-8000-000000000001"}', "expected 'bundle'"),
        ('{"type": "bundle"}', "bundle--<uuid>"),
        ('{"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000001", "objects": [{"id": "x--1"}]}',
         "no 'type'"),
        ('{"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000001", "objects": [{"type": "campaign"}]}',
         "no 'id'"),
    ],
)
def test_not_a_bundle_is_an_input_error(data: str, words: str) -> None:
    with pytest.raises(InputError) as info:
        bundle_to_graph(data.encode())
    assert type(info.value) is InputError and words in info.value.detail


def test_relationship_without_target_and_bad_extension_values_are_input_errors() -> None:
    broken = _rel(10, "targets", CAMPAIGN, COUNTRY)
    del broken["target_ref"]
    with pytest.raises(InputError, match="8000-000000000010: relationship has no target_ref"):
        bundle_to_graph(_bundle(CAMPAIGN, COUNTRY, broken))
    bad_grade = _rel(11, "attributed-to", CAMPAIGN, COUNTRY,
                     extensions={EXTENSION_ID: {"extension_type": "property-extension", "grade": "very-linked"}})
    with pytest.raises(InputError, match="grade 'very-linked'"):
        bundle_to_graph(_bundle(CAMPAIGN, COUNTRY, bad_grade))
    with pytest.raises(InputError, match="confidence 101"):
        bundle_to_graph(_bundle(CAMPAIGN, COUNTRY, _rel(12, "targets", CAMPAIGN, COUNTRY, confidence=101)))


# --------------------------------------------------------------------------- export

SUBJECT = "https://example.org/case/campaign"
STATE = "https://example.org/case/ruritania"
ATTRIBUTION = {
    "subject": SUBJECT, "label": "#testcampaign",
    "links": [{"link": "https://w3id.org/fimigraph/inferred/" + "ab" * 32, "state": STATE, "state_label": "Ruritania",
               "grade": "party-linked", "directness": "inferred", "confidence": 42, "confidence_label": "Med",
               "via": ["https://example.org/case/account", "https://example.org/case/party"],
               "via_labels": ["the account", "the party"], "rule": "https://w3id.org/fimigraph/rules/chain",
               "valid_from": "2024-03-01", "valid_until": "2024-03-02", "marking": "TLP:AMBER"}],
    "not_directly_linked": [{"state": STATE, "source": "https://example.org/case/report",
                             "quote": "We could not link the campaign directly to the Ruritanian authorities.",
                             "confidence": 70, "marking": "TLP:GREEN"}],
    "conflicts": [],
}


def _check_stix(bundle: dict[str, Any]) -> None:
    """The STIX 2.1 rules an exported bundle must keep (ids, common properties, references)."""
    assert bundle["type"] == "bundle" and re.fullmatch(r"bundle--[0-9a-f-]{36}", bundle["id"])
    ids = {o["id"] for o in bundle["objects"]}
    assert len(ids) == len(bundle["objects"])
    stamp = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
    for o in bundle["objects"]:
        assert o["spec_version"] == "2.1" and o["id"].startswith(o["type"] + "--")
        assert stamp.fullmatch(o["created"]) and (o["type"] == "marking-definition" or stamp.fullmatch(o["modified"]))
        refs = [o.get("created_by_ref"), o.get("source_ref"), o.get("target_ref"), *o.get("object_marking_refs", [])]
        assert all(r in ids for r in refs if r), o["id"]
        for ext_id, ext in (o.get("extensions") or {}).items():
            assert ext["extension_type"] == "property-extension"
            assert all(re.fullmatch(r"[a-z0-9_]{3,250}", k) for k in ext), ext
            if ext_id == EXTENSION_ID:
                assert ext_id in ids
        if o["type"] == "relationship":
            assert 0 <= o["confidence"] <= 100 and o["start_time"] < o["stop_time"]
    definition = next(o for o in bundle["objects"] if o["type"] == "extension-definition")
    assert definition["schema"] == "https://w3id.org/fimigraph/stix/extension"
    assert definition["extension_types"] == ["property-extension"] and definition["created_by_ref"] == PRODUCER_ID


def test_export_is_valid_and_deterministic() -> None:
    bundle = attribution_to_stix(ATTRIBUTION, kinds={SUBJECT: "campaign"}, countries={STATE: "RU"})
    _check_stix(bundle)
    assert bundle == attribution_to_stix(json.loads(json.dumps(ATTRIBUTION)), kinds={SUBJECT: "campaign"},
                                         countries={STATE: "RU"})
    by_type = {o["type"]: o for o in bundle["objects"]}
    rel = by_type["relationship"]
    assert rel["relationship_type"] == "attributed-to" and rel["confidence"] == 42
    assert rel["source_ref"] == by_type["campaign"]["id"] and rel["target_ref"] == by_type["location"]["id"]
    assert rel["object_marking_refs"] == [TLP2_MARKINGS["TLP:AMBER"]]
    ext = rel["extensions"][EXTENSION_ID]
    assert (ext["grade"], ext["directness"], ext["via"]) == ("party-linked", "inferred", ATTRIBUTION["links"][0]["via"])
    assert "via the account → the party" in rel["description"]
    assert by_type["location"]["country"] == "RU"
    negative = by_type["campaign"]["extensions"][EXTENSION_ID]["not_directly_linked"][0]
    assert negative["state_ref"] == by_type["location"]["id"]
    later = attribution_to_stix(ATTRIBUTION, created="2025-06-01T12:00:00Z")
    assert {o["modified"] for o in later["objects"] if o["type"] == "relationship"} == {"2025-06-01T12:00:00Z"}
    with pytest.raises(InputError):
        attribution_to_stix(ATTRIBUTION, created="yesterday")
    with pytest.raises(InputError):
        attribution_to_stix({"links": []})


def test_round_trip_keeps_grade_directness_and_negative_findings() -> None:
    bundle = attribution_to_stix(ATTRIBUTION, kinds={SUBJECT: "campaign"})
    result = import_bundle(json.dumps(bundle).encode())
    g = result.graph
    assert result.warnings == ()
    assert validate_graph(g).conforms
    claim = _claim(g, FIMI.attributedTo)
    assert g.value(claim, FIMI.claimSubject) == URIRef(SUBJECT)  # the original IRIs come back
    assert g.value(claim, FIMI.claimObject) == URIRef(STATE)
    assert g.value(claim, FIMI.claimedGrade) == FIMI.PartyLinked
    assert g.value(claim, FIMI.directness) == FIMI.Inferred
    assert g.value(claim, FIMI.confidence).toPython() == 42
    assert g.value(claim, FIMI.marking) == FIMI.TLP_AMBER
    assert (g.value(claim, FIMI.validFrom).toPython(), g.value(claim, FIMI.validUntil).toPython()) == (
        date(2024, 3, 1), date(2024, 3, 2))
    negative = _claim(g, FIMI.notDirectlyLinkedTo)
    assert (g.value(negative, FIMI.claimSubject), g.value(negative, FIMI.claimObject)) == (URIRef(SUBJECT), URIRef(STATE))
    assert str(g.value(negative, FIMI.quote)) == ATTRIBUTION["not_directly_linked"][0]["quote"]
    assert g.value(negative, FIMI.marking) == FIMI.TLP_GREEN
    assert (URIRef(SUBJECT), RDF.type, FIMI.Campaign) in g and (URIRef(STATE), RDF.type, FIMI.State) in g


def test_round_trip_of_the_seed_attribution(seed_store: Any) -> None:
    from fimigraph.attribution import attribution

    from support import CAMPAIGN as SEED_CAMPAIGN

    found = attribution(seed_store, str(SEED_CAMPAIGN))
    bundle = attribution_to_stix(found, kinds={str(SEED_CAMPAIGN): "campaign"})
    _check_stix(bundle)
    g, warnings = bundle_to_graph(json.dumps(bundle))
    assert warnings == () and validate_graph(g).conforms
    grades = {(g.value(c, FIMI.claimedGrade), g.value(c, FIMI.directness)) for c in g.subjects(FIMI.claimPredicate, FIMI.attributedTo)}
    assert grades == {(FIMI.PartyLinked, FIMI.Inferred)}
    assert len(list(g.subjects(FIMI.claimPredicate, FIMI.notDirectlyLinkedTo))) == len(found["not_directly_linked"]) >= 1
