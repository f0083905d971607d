"""Every IRI fimigraph's Python code uses, defined once.

The ontology (``ontology/fimigraph.ttl``) defines the terms; this module only names them.
"""

from __future__ import annotations

from rdflib import Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SH, SKOS, XSD

BASE = "https://w3id.org/fimigraph/"

FIMI = Namespace(BASE + "ontology#")
"""The ontology's terms."""
FIMIR = Namespace(BASE + "rules/")
"""Rules and shapes (``rules/``)."""
INFERRED = Namespace(BASE + "inferred/")
"""Inferred nodes: ``INFERRED[sha256(rule + premises)]``, minted by the rules themselves."""
GRAPH = Namespace(BASE + "graph/")
"""Named graphs of the store."""
SKOLEM = {"authority": "https://w3id.org", "basepath": "/fimigraph/.well-known/genid/"}
"""Where a document's blank nodes are given IRIs (skolem IRIs, RDF 1.1 §3.5) when it is stored: ``Graph.skolemize(**SKOLEM)``."""
STIX = Namespace(BASE + "stix/")
"""Entities imported from STIX 2.1 bundles: ``STIX[<stix id>]``."""
COUNTRY = Namespace(BASE + "country/")
"""States by ISO 3166-1 alpha-2 code, ``COUNTRY["AZ"]``, where a source names a state by its code (STIX, DISARM)."""
DISARM = Namespace(BASE + "disarm/")
"""The DISARM framework: techniques and tactics by their DISARM id (``DISARM["T0049"]``), incidents (``DISARM["I00001"]``)."""

ONTOLOGY_IRI = URIRef(BASE + "ontology")

# Named-graph layout (DESIGN §5): one graph per source, one for source metadata,
# one for the ontology, one for inferences. The default graph of a query is their union.
ONTOLOGY_GRAPH = GRAPH["ontology"]
SOURCES_GRAPH = GRAPH["sources"]
INFERRED_GRAPH = GRAPH["inferred"]
SOURCE_GRAPH_PREFIX = str(GRAPH) + "source/"


def source_graph(source_id: str) -> URIRef:
    """The named graph that holds one source's claims."""
    return URIRef(SOURCE_GRAPH_PREFIX + source_id)


PREFIXES: dict[str, str] = {
    "fimi": str(FIMI),
    "fimir": str(FIMIR),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "xsd": str(XSD),
    "owl": str(OWL),
    "skos": str(SKOS),
    "prov": str(PROV),
    "dcterms": str(DCTERMS),
    "sh": str(SH),
}


def compact(iri: str) -> str:
    """``fimi:PartyLinked`` for a known namespace, the IRI itself otherwise."""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace):]}"
    return iri


__all__ = [
    "BASE", "COUNTRY", "DCTERMS", "DISARM", "FIMI", "FIMIR", "GRAPH", "INFERRED", "INFERRED_GRAPH", "ONTOLOGY_GRAPH",
    "ONTOLOGY_IRI", "OWL", "PREFIXES", "PROV", "RDF", "RDFS", "SH", "SKOS", "SOURCES_GRAPH",
    "SKOLEM", "SOURCE_GRAPH_PREFIX", "STIX", "XSD", "compact", "source_graph",
]
