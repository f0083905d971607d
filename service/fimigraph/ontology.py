"""The ontology as loaded data: the graph itself and the lookups the service needs from it."""

from __future__ import annotations

import hashlib
from functools import cache

from rdflib import Graph, URIRef
from rdflib.namespace import RDFS, SKOS

from .resources import ontology_dir
from .vocab import FIMI


@cache
def ontology_graph() -> Graph:
    """The ontology, parsed once (callers must not modify it)."""
    graph = Graph()
    for path in sorted(ontology_dir().glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


@cache
def ontology_ntriples() -> str:
    """The ontology as sorted N-Triples, the form written to the store."""
    lines = ontology_graph().serialize(format="nt").splitlines()
    return "\n".join(sorted(line for line in lines if line.strip())) + "\n"


@cache
def ontology_hash() -> str:
    """A fingerprint of the ontology, to notice when a store holds an older one."""
    return hashlib.sha256(ontology_ntriples().encode()).hexdigest()


@cache
def notations() -> dict[str, str]:
    """skos:notation of every concept by IRI: grade, directness, TLP marking, evidence type, role, kind."""
    return {str(s): str(o) for s, o in ontology_graph().subject_objects(SKOS.notation) if isinstance(s, URIRef)}


@cache
def grade_ranks() -> dict[str, int]:
    """Rank of each grade by IRI, 1 the strongest."""
    return _ranks(FIMI.GradeScheme)


@cache
def marking_ranks() -> dict[str, int]:
    """Rank of each TLP marking by IRI, 0 the least restrictive (TLP:CLEAR)."""
    return _ranks(FIMI.TLPScheme)


def _ranks(scheme: URIRef) -> dict[str, int]:
    g = ontology_graph()
    return {str(s): int(g.value(s, FIMI.rank)) for s in g.subjects(SKOS.inScheme, scheme)}


@cache
def source_classes() -> frozenset[URIRef]:
    """fimi:Source and every class below it."""
    return frozenset(c for c in ontology_graph().transitive_subjects(RDFS.subClassOf, FIMI.Source) if isinstance(c, URIRef))


def label(term: str) -> str | None:
    """The rdfs:label of an ontology term."""
    value = ontology_graph().value(URIRef(term), RDFS.label)
    return str(value) if value is not None else None
