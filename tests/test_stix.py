"""STIX 2.1: exports that the validator and ``stix2`` accept and that import back to the same answers;
plain OpenCTI bundles that import without over-grading."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pyoxigraph as ox
import pytest
import stix2
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS
from stix2validator import ValidationOptions, validate_parsed_json
from support import CAMPAIGN as SEED_CAMPAIGN, SAMPLES

from fimigraph import reason
from fimigraph.attribution import attribution
from fimigraph.errors import InputError, ParseError
from fimigraph.generate import generate
from fimigraph.ingest import ingest
from fimigraph.stix import (
    EXTENSION_ID,
    PRODUCER_ID,
    TLP2_MARKINGS,
    attribution_to_stix,
    bundle_to_graph,
    export_attribution,
    extension_schema,
    import_bundle,
)
from fimigraph.store import GraphStore
from fimigraph.validate import validate_graph
from fimigraph.vocab import COUNTRY, FIMI, STIX

OPENCTI_SAMPLE = SAMPLES / "stix" / "boycottparis2024-opencti.json"
TS = "2024-01-01T00:00:00.000Z"
AUTHOR = "identity--00000000-0000-4000-8000-000000000001"
# The one check left out: STIX's table of *suggested* relationship types (a SHOULD that "MAY be any
# string"), which lists no edge from a campaign, an account or a person to a country: the very
# edges an attribution export is made of (DESIGN §5: attributed-to), and OpenCTI's channel edges.
VALIDATION = ValidationOptions(strict=True, disabled="relationship-types")


def stix_problems(bundle: dict[str, Any]) -> list[str]:
    """Everything ``stix2-validator`` (strict) says against a bundle, and what ``stix2.parse`` refuses."""
    results = validate_parsed_json(bundle, VALIDATION)
    problems = [str(e) for r in (results if isinstance(results, list) else [results]) for e in r.errors]
    stix2.parse(json.dumps(bundle), allow_custom=True)  # raises on what the library cannot read
    schema = jsonschema.Draft202012Validator(extension_schema())
    problems += [f"{o['id']}: {e.message}" for o in bundle["objects"]
                 for e in schema.iter_errors((o.get("extensions") or {}).get(EXTENSION_ID, {"extension_type": "property-extension"}))]
    return problems


def _answer(store: GraphStore, subject: str) -> dict[str, Any]:
    return attribution(store, subject)


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


def _rel(n: int, rtype: str, src: dict[str, Any], tgt: dict[str, Any], **props: Any) -> dict[str, Any]:
    return _obj("relationship", n, relationship_type=rtype, source_ref=src["id"], target_ref=tgt["id"],
                created_by_ref=AUTHOR, **props)


CAMPAIGN = _obj("campaign", 2, name="#testcampaign", created_by_ref=AUTHOR, first_seen="2024-03-01T00:00:00Z")
COUNTRY_OBJ = _obj("location", 3, name="Ruritania", country="RU", x_opencti_location_type="Country", created_by_ref=AUTHOR)


# --------------------------------------------------------------------------- export

def test_seed_export_is_valid_stix_and_deterministic(seed_store: GraphStore) -> None:
    bundle = export_attribution(seed_store, str(SEED_CAMPAIGN))
    assert stix_problems(bundle) == []
    assert bundle == export_attribution(seed_store, str(SEED_CAMPAIGN))
    objects = {o["id"]: o for o in bundle["objects"]}
    (link,) = [o for o in objects.values() if o["type"] == "relationship" and "link" in o["extensions"][EXTENSION_ID]]
    assert link["relationship_type"] == "attributed-to" and objects[link["target_ref"]]["country"] == "AZ"
    assert (link["extensions"][EXTENSION_ID]["grade"], link["extensions"][EXTENSION_ID]["directness"]) == ("party-linked", "inferred")
    assert objects[link["source_ref"]]["type"] == "campaign"
    # The claims the link rests on travel too, as relationships a plain reader understands, credited to Viginum.
    claims = {o["extensions"][EXTENSION_ID]["link_kind"]: o for o in objects.values()
              if o["type"] == "relationship" and "claim" in o["extensions"][EXTENSION_ID]}
    assert set(claims) == {"operates", "uses-account", "affiliated-with", "ruling-party-of", "not-directly-linked-to", "organ-of"}
    assert claims["ruling-party-of"]["relationship_type"] == "related-to" and claims["ruling-party-of"]["labels"] == ["ruling-party-of"]
    assert claims["operates"]["relationship_type"] == "belongs-to" and objects[claims["operates"]["source_ref"]]["type"] == "channel"
    assert {r["source_name"] for c in claims.values() for r in c["external_references"]} == {"Viginum"}
    finding = objects[link["source_ref"]]["extensions"][EXTENSION_ID]["not_directly_linked"][0]
    assert finding["quote"].startswith("However, Viginum said") and finding["state_ref"] == link["target_ref"]


def test_export_import_export_gives_the_same_answers(seed_store: GraphStore, tmp_path: Path) -> None:
    first = export_attribution(seed_store, str(SEED_CAMPAIGN))
    store = GraphStore(tmp_path / "again")
    result = ingest(store, json.dumps(first).encode(), media_type="application/stix+json")
    assert result.warnings == ("1 conclusions of fimigraph's rules (attributed-to with a 'link') not imported: "
                               "the rules derive them again from the claims",)
    assert _answer(store, str(SEED_CAMPAIGN)) == _answer(seed_store, str(SEED_CAMPAIGN))
    second = export_attribution(store, str(SEED_CAMPAIGN))
    stamps = {o["created"] for o in first["objects"] if o["type"] == "report"} | {
        o["created"] for o in second["objects"] if o["type"] == "report"}
    text = lambda b: json.dumps(b, sort_keys=True)  # noqa: E731
    normalised = [text(b) for b in (first, second)]
    for stamp in stamps:
        normalised = [t.replace(stamp, "T").replace(stamp.replace(".000Z", "Z"), "T") for t in normalised]
    assert normalised[0] == normalised[1]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> GraphStore:
    """A generated world (``fimigraph generate``, 3k triples) with its inferences."""
    path = tmp_path_factory.mktemp("world") / "g.nq"
    generate(path, triples=3000, seed=2)
    store = GraphStore(None)
    store.ox.bulk_load(path=str(path), format=ox.RdfFormat.N_QUADS)
    reason.infer(store)
    return store


def test_generated_world_exports_are_valid_and_import_back_to_the_same_answers(world: GraphStore, tmp_path: Path) -> None:
    subjects = [r["s"] for r in world.select(
        "SELECT DISTINCT ?s WHERE { GRAPH <https://w3id.org/fimigraph/graph/inferred> { ?l fimi:linkSubject ?s } } ORDER BY ?s")]
    assert len(subjects) > 20
    grades = set()
    for subject in subjects:
        bundle = export_attribution(world, subject)
        assert stix_problems(bundle) == [], subject
        grades |= {o["extensions"][EXTENSION_ID]["grade"] for o in bundle["objects"]
                   if o["type"] == "relationship" and "link" in o["extensions"][EXTENSION_ID]}
    assert len(grades) >= 4  # the exports cover the scale, not one easy grade
    for i, subject in enumerate(subjects[::10]):  # a few round trips: a store each
        store = GraphStore(tmp_path / str(i))
        ingest(store, json.dumps(export_attribution(world, subject)).encode(), media_type="application/stix+json")
        expected, found = _answer(world, subject), _answer(store, subject)
        assert found["links"] == expected["links"] and found["not_directly_linked"] == expected["not_directly_linked"], subject


def test_export_without_a_store_takes_either_answer_shape() -> None:
    link = {"link": "https://w3id.org/fimigraph/inferred/" + "ab" * 32, "state": "https://example.org/ruritania",
            "state_label": "Ruritania", "grade": "state-linked", "directness": "direct", "confidence": 42,
            "confidence_label": "Med", "via": [], "rule": "https://w3id.org/fimigraph/rules/direct-attribution",
            "valid_from": None, "valid_until": None, "marking": "TLP:AMBER"}
    design = {"subject": "https://example.org/c", "label": "#c", "conflicts": [],
              "links": [{**link, "derivations": 2, "sources": [{"source": "https://example.org/report", "label": "A report"}]}],
              "not_directly_linked": [{"state": "https://example.org/ruritania", "source": "https://example.org/report",
                                       "quote": "could not link it directly"}]}
    for answer in (design, {**design, "links": [link]}):
        bundle = attribution_to_stix(answer, kinds={"https://example.org/c": "campaign"})
        assert stix_problems(bundle) == []
        rel = next(o for o in bundle["objects"] if o["type"] == "relationship")
        assert rel["object_marking_refs"] == [TLP2_MARKINGS["TLP:AMBER"]] and rel["confidence"] == 42
    assert next(o for o in bundle["objects"] if o["type"] == "identity" and o["id"] != PRODUCER_ID)["name"] == "Ruritania"
    with pytest.raises(InputError):
        attribution_to_stix(design, created="yesterday")
    with pytest.raises(InputError):
        attribution_to_stix({"links": []})
    with pytest.raises(InputError, match="grade"):
        attribution_to_stix({**design, "links": [{**link, "grade": "very-linked"}]})


# --------------------------------------------------------------------------- import of plain OpenCTI bundles

@pytest.fixture(scope="module")
def sample() -> Any:
    return import_bundle(OPENCTI_SAMPLE.read_bytes())


def test_opencti_sample_states_the_seed_case(sample: Any) -> None:
    g = sample.graph
    assert validate_graph(g).conforms
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
    assert label["Azerbaijan"] == COUNTRY["AZ"] and (COUNTRY["AZ"], FIMI.countryCode, Literal("AZ")) in g
    assert label["Flood Information Space"] == URIRef("https://w3id.org/fimigraph/disarm/T0049")
    assert g.value(_claim(g, FIMI.affiliatedWith), FIMI.role) == FIMI.Associate
    assert g.value(_claim(g, FIMI.operates), FIMI.validFrom) is None  # OpenCTI's "unknown" sentinels are dropped
    assert g.value(_claim(g, FIMI.usesAccount), FIMI.validUntil).toPython() == date(2023, 7, 27)
    assert [w.split(": ", 1)[1] for w in sample.warnings] == [
        "skipped related-to: related-to without a link-kind label says nothing more (campaign related-to location)"]


def test_opencti_sample_credits_viginum_with_what_reuters_relays(sample: Any) -> None:
    g, src = sample.graph, sample.source
    assert (src, RDF.type, FIMI.Report) in g and str(g.value(g.value(src, DCTERMS.publisher), RDFS.label)) == "Reuters"
    assert g.value(src, DCTERMS.issued).toPython() == date(2023, 11, 13) and str(g.value(src, FIMI.reliability)) == "B"
    assert str(g.value(src, FIMI.stixId)) == "report--4a9ef148-dc5a-5b11-b3d7-240866b74b6b"
    assert (src, DCTERMS.identifier, None) not in g
    (viginum,) = set(g.objects(src, FIMI.reports))
    assert str(g.value(g.value(viginum, DCTERMS.publisher), RDFS.label)) == "Viginum"
    stated = {(p, g.value(c, FIMI.statedIn)) for c, p in g.subject_objects(FIMI.claimPredicate)}
    assert (FIMI.rulingPartyOf, viginum) in stated and (FIMI.notDirectlyLinkedTo, viginum) in stated
    assert (FIMI.organOf, src) in stated  # Reuters' own description of Viginum


def test_opencti_sample_answers_party_linked_inferred_with_viginums_negative_finding(empty_store: GraphStore) -> None:
    result = ingest(empty_store, OPENCTI_SAMPLE.read_bytes(), media_type="application/stix+json")
    answer = attribution(empty_store, str(STIX["campaign--5610610c-5bb9-56f1-9340-b44a3ee5b4b9"]))
    assert [(l["grade"], l["directness"], l["state_label"]) for l in answer["links"]] == [("party-linked", "inferred", "Azerbaijan")]
    (finding,) = answer["not_directly_linked"]
    assert finding["state_label"] == "Azerbaijan" and finding["source_label"].startswith("Viginum report")
    assert [s.id for s in empty_store.sources()] == [result.id]


def test_party_attributed_to_a_state_is_not_over_graded(empty_store: GraphStore) -> None:
    party = _obj("identity", 5, name="Ruling party", identity_class="organization", labels=["political-party"], created_by_ref=AUTHOR)
    person = _obj("identity", 6, name="A person", identity_class="individual", created_by_ref=AUTHOR)
    channel = _obj("channel", 7, name="@someone", created_by_ref=AUTHOR)
    bundle = _bundle(CAMPAIGN, COUNTRY_OBJ, party, person, channel,
                     _rel(10, "attributed-to", party, COUNTRY_OBJ, confidence=90, description="The party is behind it."),
                     _rel(11, "part-of", person, party, confidence=90), _rel(12, "belongs-to", channel, person, confidence=90),
                     _rel(13, "uses", CAMPAIGN, channel, confidence=90))
    result = ingest(empty_store, bundle.encode(), media_type="application/stix+json")
    assert any("attributed-to states no grade: recorded as state-aligned, the weakest it supports" in w for w in result.warnings)
    grades = {l["grade"] for l in attribution(empty_store, str(STIX[CAMPAIGN["id"]]))["links"]}
    assert grades == {"state-aligned"}


@pytest.mark.parametrize(("labels", "grade"), [(["state-controlled"], FIMI.StateControlled), ([], FIMI.StateAligned)])
def test_an_attribution_takes_the_grade_its_label_states(labels: list[str], grade: URIRef) -> None:
    g, _ = bundle_to_graph(_bundle(CAMPAIGN, COUNTRY_OBJ, _rel(10, "attributed-to", CAMPAIGN, COUNTRY_OBJ, labels=labels)))
    claim = _claim(g, FIMI.attributedTo)
    assert g.value(claim, FIMI.claimedGrade) == grade
    assert g.value(claim, FIMI.confidence).toPython() == 50  # STIX confidence absent → documented default


def test_what_is_no_attribution_is_skipped_with_the_reason() -> None:
    person = _obj("threat-actor", 6, name="An operator", resource_level="individual", created_by_ref=AUTHOR)
    g, warnings = bundle_to_graph(_bundle(CAMPAIGN, COUNTRY_OBJ, person,
                                          _rel(10, "national-of", person, COUNTRY_OBJ), _rel(11, "originates-from", CAMPAIGN, COUNTRY_OBJ),
                                          _rel(12, "participates-in", person, CAMPAIGN), _rel(13, "frobnicates", CAMPAIGN, COUNTRY_OBJ)))
    assert _claims(g) == {("An operator", FIMI.conducts, "#testcampaign")}
    assert sorted(w.split(": ", 1)[1] for w in warnings) == [
        "skipped frobnicates: no fimigraph link kind for campaign frobnicates location",
        "skipped national-of: nationality is no link to a state (threat-actor national-of location)",
        "skipped originates-from: origin is no attribution (campaign originates-from location)",
    ]


def test_markings_take_the_most_restrictive() -> None:
    amber_v1 = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
    red = _obj("marking-definition", 20, name="my red", definition_type="tlp", definition={"tlp": "red"})
    g, _ = bundle_to_graph(_bundle(CAMPAIGN, COUNTRY_OBJ, red, _rel(10, "targets", CAMPAIGN, COUNTRY_OBJ,
                                                                   object_marking_refs=[amber_v1, red["id"]])))
    assert g.value(_claim(g, FIMI.targets), FIMI.marking) == FIMI.TLP_RED
    assert str(g.value(_claim(g, FIMI.targets), FIMI.quote)).startswith('{"type":"relationship"')  # no description: the object


def test_bundle_without_report_uses_the_common_author() -> None:
    result = import_bundle(_bundle(CAMPAIGN, COUNTRY_OBJ, _rel(10, "targets", CAMPAIGN, COUNTRY_OBJ, confidence=90)))
    g = result.graph
    assert result.source == STIX["bundle--00000000-0000-4000-8000-00000000000b"]
    assert str(g.value(result.source, FIMI.stixId)) == "bundle--00000000-0000-4000-8000-00000000000b"
    assert str(g.value(g.value(result.source, DCTERMS.publisher), RDFS.label)) == "Analyst desk"
    assert validate_graph(g).conforms
    other = _obj("campaign", 4, name="#other", created_by_ref="identity--00000000-0000-4000-8000-000000000009")
    graph, warnings = bundle_to_graph(_bundle(CAMPAIGN, other, COUNTRY_OBJ, _rel(10, "targets", CAMPAIGN, COUNTRY_OBJ)))
    assert any("publisher" in w for w in warnings) and not validate_graph(graph).conforms


def test_malformed_json_is_a_parse_error_with_line_and_column() -> None:
    text = '{\n  "type": "bundle",\n  "id": "bundle--00000000-0000-4000-8000-00000000000b"\n  "objects": []\n}'
    with pytest.raises(ParseError) as info:
        bundle_to_graph(text)
    assert "line 4" in info.value.detail and info.value.extra == {"line": 4, "column": 3}


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("[]", "not a STIX bundle"),
        ('{"type": "report", "id": "report--00000000-0000-4000-8000-000000000001"}', "expected 'bundle'"),
        ('{"type": "bundle"}', "bundle--<uuid>"),
        ('{"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000001", "objects": [{"id": "x--1"}]}', "no 'type'"),
    ],
)
def test_not_a_bundle_is_an_input_error(data: str, words: str) -> None:
    with pytest.raises(InputError) as info:
        bundle_to_graph(data.encode())
    assert type(info.value) is InputError and words in info.value.detail


def test_bad_values_are_input_errors_naming_the_object() -> None:
    broken = _rel(10, "targets", CAMPAIGN, COUNTRY_OBJ)
    del broken["target_ref"]
    with pytest.raises(InputError, match="8000-000000000010: relationship has no target_ref"):
        bundle_to_graph(_bundle(CAMPAIGN, COUNTRY_OBJ, broken))
    bad_grade = _rel(11, "attributed-to", CAMPAIGN, COUNTRY_OBJ,
                     extensions={EXTENSION_ID: {"extension_type": "property-extension", "grade": "very-linked"}})
    with pytest.raises(InputError, match="grade 'very-linked'"):
        bundle_to_graph(_bundle(CAMPAIGN, COUNTRY_OBJ, bad_grade))
    with pytest.raises(InputError, match="confidence 101"):
        bundle_to_graph(_bundle(CAMPAIGN, COUNTRY_OBJ, _rel(12, "targets", CAMPAIGN, COUNTRY_OBJ, confidence=101)))


# --------------------------------------------------------------------------- sources: no phantoms

def test_every_listed_source_reads_and_deletes_and_leaves_nothing_behind(client: Any, seed_store: GraphStore) -> None:
    from support import SEED_FILES

    documents = [(f.read_bytes(), "text/turtle") for f in SEED_FILES] + [
        (OPENCTI_SAMPLE.read_bytes(), "application/stix+json"),
        (json.dumps(export_attribution(seed_store, str(SEED_CAMPAIGN))).encode(), "application/stix+json")]
    for body, media in documents:
        assert client.post("/sources", content=body, headers={"Content-Type": media}).status_code == 201
    listed = client.get("/sources").json()
    assert len(listed) == len(documents)  # one source per document: no phantom named after a STIX id
    store: GraphStore = client.app.state.store
    for info in listed:
        assert client.get(f"/sources/{info['id']}").json()["iri"] == info["iri"]
        assert client.delete(f"/sources/{info['id']}").status_code == 200
        assert client.get(f"/sources/{info['id']}").status_code == 404
        assert info["graph"] not in set(store.named_graphs())
        # (a document that relays the source, fimi:reports, keeps the claims it relays: they are that document's)
        assert not store.ask(f"ASK {{ ?c <{FIMI.statedIn}> <{info['iri']}> FILTER NOT EXISTS {{ ?d <{FIMI.reports}> <{info['iri']}> }} }}")
        # every inference still rests on claims the store holds
        assert not store.ask(f"""ASK {{ GRAPH <https://w3id.org/fimigraph/graph/inferred> {{ ?n <{FIMI.premise}> ?c }}
            FILTER(!STRSTARTS(STR(?c), "https://w3id.org/fimigraph/inferred/")) FILTER NOT EXISTS {{ ?c a <{FIMI.Claim}> }} }}""")
    assert client.get("/sources").json() == [] and store.count("https://w3id.org/fimigraph/graph/inferred") == 0


def test_a_document_may_not_give_its_source_the_stores_id(client: Any) -> None:
    document = (SAMPLES / "minimal-source.ttl").read_text(encoding="utf-8")
    response = client.post("/sources", content=f'{document}\nex:report dcterms:identifier "ABC-1" .',
                           headers={"Content-Type": "text/turtle"})
    assert response.status_code == 422 and "dcterms:identifier" in response.json()["detail"]
    assert client.get("/sources").json() == []
