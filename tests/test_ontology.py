"""The ontology documents every term, and nothing else spells a term it lacks."""

from __future__ import annotations

import re

import pytest
from rdflib import URIRef
from rdflib.namespace import OWL, RDF, RDFS
from support import REPO

from fimigraph.ontology import ontology_graph
from fimigraph.vocab import FIMI

DEFINING_TYPES = {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, OWL.NamedIndividual}


def defined_terms() -> set[str]:
    graph = ontology_graph()
    return {str(s) for s in graph.subjects(RDF.type, None) if isinstance(s, URIRef) and s.startswith(str(FIMI))}


def test_every_term_has_a_label_and_a_comment() -> None:
    graph = ontology_graph()
    undocumented = sorted(
        term for term in defined_terms()
        if graph.value(URIRef(term), RDFS.label) is None or graph.value(URIRef(term), RDFS.comment) is None
    )
    assert undocumented == []


def test_grade_scale_is_ordered_strongest_first() -> None:
    graph = ontology_graph()
    ranked = sorted((int(graph.value(g, FIMI.rank)), str(graph.value(g, RDFS.label))) for g in graph.subjects(RDF.type, FIMI.Grade))
    assert [label for _, label in ranked] == ["state-official", "state-controlled", "state-linked", "party-linked", "state-aligned"]


@pytest.mark.parametrize(
    "folder, pattern",
    [
        ("rules", r"fimi:([A-Za-z_]+)"),
        ("data", r"fimi:([A-Za-z_]+)"),
        ("service", r"FIMI\.([A-Za-z_]+)"),
        ("tests", r"FIMI\.([A-Za-z_]+)"),
    ],
)
def test_only_defined_terms_are_used(folder: str, pattern: str) -> None:
    defined = {t.removeprefix(str(FIMI)) for t in defined_terms()}
    used: dict[str, set[str]] = {}
    for path in (REPO / folder).rglob("*"):
        if path.suffix in {".ttl", ".trig", ".rq", ".py", ".json"} and path.is_file():
            for name in re.findall(pattern, path.read_text(encoding="utf-8")):
                used.setdefault(name, set()).add(str(path.relative_to(REPO)))
    unknown = {name: sorted(paths) for name, paths in used.items() if name not in defined}
    assert unknown == {}
