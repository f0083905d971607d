"""The shapes catch a newcomer's mistakes, each with a message naming what is wrong, and accept what is right."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH
from support import SAMPLES, run_cli

from fimigraph.attribution import attribution
from fimigraph.errors import ValidationError
from fimigraph.ingest import ingest, read_document
from fimigraph.ontology import ontology_graph
from fimigraph.ruleset import shapes_graph
from fimigraph.store import GraphStore
from fimigraph.validate import validate_graph
from fimigraph.vocab import FIMI, FIMIR, compact

LINK_KINDS = sorted(k for k in ontology_graph().subjects(RDF.type, FIMI.LinkKind) if isinstance(k, URIRef))


def expected_classes(kind: URIRef, path: URIRef) -> list[URIRef]:
    """The classes the link-kind shape of ``kind`` accepts at ``path`` (fimi:claimSubject or fimi:claimObject)."""
    shapes = shapes_graph()
    found: list[URIRef] = []
    for target in shapes.subjects(FIMIR.kind, kind):
        for shape in shapes.subjects(SH.target, target):
            for prop in shapes.objects(shape, SH.property):
                if shapes.value(prop, SH.path) != path:
                    continue
                found += shapes.objects(prop, SH["class"])
                for alternatives in shapes.objects(prop, SH["or"]):
                    found += (shapes.value(a, SH["class"]) for a in Collection(shapes, alternatives))
    return found


# Where the shapes accept more than the ontology declares, and why (the ontology's to fix).
WIDER_THAN_THE_ONTOLOGY = {
    # The rule working-for-state links whoever is affiliated with a state to it: the rules, the
    # rule test cases and the guide use it, though the ontology's rdfs:range says fimi:Organization.
    (FIMI.affiliatedWith, FIMI.claimObject): {FIMI.State},
}


def subclasses(cls: URIRef) -> set[URIRef]:
    """``cls`` and every class below it in the ontology."""
    return set(ontology_graph().transitive_subjects(RDFS.subClassOf, cls))


@pytest.mark.parametrize("kind", LINK_KINDS, ids=compact)
def test_every_link_kind_has_types_that_agree_with_the_ontology(kind: URIRef) -> None:
    """Each link kind's shape names its subject's and object's types; each lies within the ontology's domain and range."""
    ontology = ontology_graph()
    for path, declared_by in ((FIMI.claimSubject, RDFS.domain), (FIMI.claimObject, RDFS.range)):
        expected = expected_classes(kind, path)
        if (kind, path) == (FIMI.disputes, FIMI.claimObject):  # a claim of another document: its type is not in this one
            assert expected == []
            continue
        assert expected, f"no shape in rules/shapes/link-kind.ttl says what the {compact(path)} of {compact(kind)} is"
        assert all((c, RDF.type, OWL.Class) in ontology for c in expected), expected
        declared = ontology.value(kind, declared_by)
        if declared is not None:
            wider = {c for c in expected if c not in subclasses(declared)}
            assert wider == WIDER_THAN_THE_ONTOLOGY.get((kind, path), set()), f"{compact(kind)} {compact(path)}: {wider}"


DOCUMENT = """
@prefix fimi:    <https://w3id.org/fimigraph/ontology#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix ex:      <https://example.org/shapes/> .
ex:report a fimi:Report ; dcterms:title "A report" ; dcterms:publisher ex:lab .
ex:lab a fimi:Organization .
"""


def claim_document(kind: URIRef, subject_type: URIRef, object_type: URIRef | None, quote: str = '"the words of the report"') -> str:
    """A one-claim document: ``ex:s kind ex:o`` with the two ends typed as given (``ex:o`` not at all for None)."""
    grade = " ; fimi:claimedGrade fimi:StateLinked" if kind == FIMI.attributedTo else ""
    return DOCUMENT + f"""
ex:s a <{subject_type}> .
{f"ex:o a <{object_type}> ." if object_type else ""}
ex:claim a fimi:Claim ; fimi:claimSubject ex:s ; fimi:claimPredicate <{kind}> ; fimi:claimObject ex:o ;
    fimi:statedIn ex:report ; fimi:quote {quote} ; fimi:confidence 70{grade} .
"""


def parsed(turtle: str) -> Graph:
    """A Turtle document as a graph."""
    return Graph().parse(data=turtle, format="turtle")


@pytest.mark.parametrize("kind", LINK_KINDS, ids=compact)
def test_a_claim_between_the_right_types_validates(kind: URIRef) -> None:
    subject = expected_classes(kind, FIMI.claimSubject)[0]
    obj = (expected_classes(kind, FIMI.claimObject) or [None])[0]  # a disputed claim is another document's
    outcome = validate_graph(parsed(claim_document(kind, subject, obj)))
    assert outcome.conforms, outcome.summary()


@pytest.mark.parametrize("kind", LINK_KINDS, ids=compact)
def test_a_claim_between_wrong_types_is_refused_naming_claim_kind_and_types(kind: URIRef) -> None:
    """Both ends typed fimi:Platform, which no link kind joins: one violation per end, each naming what it needs."""
    outcome = validate_graph(parsed(claim_document(kind, FIMI.Platform, FIMI.Platform)))
    assert not outcome.conforms
    by_path = {r["path"]: r for r in outcome.results}
    ends = [FIMI.claimSubject] if kind == FIMI.disputes else [FIMI.claimSubject, FIMI.claimObject]
    assert set(by_path) == {str(p) for p in ends}, outcome.results
    for path in ends:
        result = by_path[str(path)]
        assert result["focus_node"] == "https://example.org/shapes/claim"
        assert compact(str(kind)) in result["message"] and compact(str(path)) in result["message"]
        assert compact(str(expected_classes(kind, path)[0])) in result["message"]
        assert result["found"].endswith("typed fimi:Platform")


def test_an_untyped_end_is_named_as_such() -> None:
    turtle = claim_document(FIMI.organOf, FIMI.StateOrgan, FIMI.State).replace("ex:o a <https://w3id.org/fimigraph/ontology#State> .", "")
    summary = validate_graph(parsed(turtle)).summary()
    assert "fimi:organOf" in summary and "must be typed fimi:State" in summary
    assert "(found https://example.org/shapes/o, with no rdf:type in this document)" in summary


def test_the_wrong_type_sample_fails_with_one_line_through_the_cli(tmp_path: Path) -> None:
    done = run_cli("load", str(SAMPLES / "wrong-type.ttl"), "--store", str(tmp_path / "store"))
    assert done.returncode == 3 and not (tmp_path / "store").exists()
    line = done.stderr.strip()
    assert "\n" not in line and "wrong-type.ttl" in line and "claim-rules" in line
    assert "fimi:rulingPartyOf" in line and "must be typed fimi:State" in line and "typed fimi:StateOrgan" in line


# -- quotes --------------------------------------------------------------------------------

FINDING = claim_document(FIMI.notDirectlyLinkedTo, FIMI.Campaign, FIMI.State, '"{quote}"')


def test_a_quote_with_a_language_tag_is_accepted_and_keeps_its_tag(empty_store: GraphStore) -> None:
    """Reports come in many languages: "…"@fr loads, the store holds the tag, the negative finding quotes it."""
    turtle = FINDING.replace('"{quote}"', '"Viginum n\'a pas pu relier directement la campagne aux autorités."@fr')
    ingest(empty_store, turtle.encode(), media_type="text/turtle")
    rows = empty_store.select("SELECT ?q (LANG(?q) AS ?lang) WHERE { ?c fimi:quote ?q }")
    assert [(r["q"], r["lang"]) for r in rows] == [("Viginum n'a pas pu relier directement la campagne aux autorités.", "fr")]
    found = attribution(empty_store, "https://example.org/shapes/s")["not_directly_linked"]
    assert [f["quote"] for f in found] == ["Viginum n'a pas pu relier directement la campagne aux autorités."]


@pytest.mark.parametrize(
    "quote, says",
    [
        pytest.param("42", '(found "42"^^xsd:integer)', id="a number"),
        pytest.param('"2024-05-02"^^<http://www.w3.org/2001/XMLSchema#date>', '(found "2024-05-02"^^xsd:date)', id="a date"),
        pytest.param("<https://example.org/page>", "(found https://example.org/page, with no rdf:type", id="an IRI"),
        pytest.param('""', "must not be empty", id="empty"),
        pytest.param('""@fr', "must not be empty", id="empty with a tag"),
    ],
)
def test_a_quote_that_is_not_text_is_refused_naming_what_was_found(quote: str, says: str) -> None:
    with pytest.raises(ValidationError) as raised:
        read_document(FINDING.replace('"{quote}"', quote).encode(), media_type="text/turtle")
    assert "fimi:quote" in raised.value.detail and says in raised.value.detail


def test_a_claim_without_a_quote_is_told_so() -> None:
    with pytest.raises(ValidationError) as raised:
        read_document(FINDING.replace(' fimi:quote "{quote}" ;', "").encode(), media_type="text/turtle")
    assert "A claim quotes its source verbatim (fimi:quote): none is given." in raised.value.detail


def test_a_literal_where_an_entity_belongs_is_named() -> None:
    graph = parsed(claim_document(FIMI.operates, FIMI.Person, FIMI.Account))
    graph.set((URIRef("https://example.org/shapes/claim"), FIMI.claimObject, Literal("an account")))
    summary = validate_graph(graph).summary()
    assert '(found "an account")' in summary
