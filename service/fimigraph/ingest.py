"""Ingest: read a source document, validate it, and write it to the store atomically.

One document describes exactly one ``fimi:Source`` with the claims stated in it. Nothing
is written unless the whole document parses and validates; the source and the inferences
that follow from it are written in one transaction (:func:`fimigraph.reason.apply`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF

from . import reason
from .errors import Inconsistent, InputError, ParseError, UnsupportedFormat, ValidationError
from .limits import DEFAULTS, Limits, bounded, check_json, check_literal, check_size, check_xml
from .ontology import source_classes
from .reason import DEFAULT_ENGINE, InferenceReport
from .store import GraphStore, SourceInfo, source_id
from .validate import validate_graph
from .views import rank_of
from .vocab import FIMI, INFERRED

STIX_MEDIA_TYPE = "application/stix+json"

_FORMATS: dict[str, ox.RdfFormat] = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/x-turtle": ox.RdfFormat.TURTLE,
    "application/trig": ox.RdfFormat.TRIG,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/n-quads": ox.RdfFormat.N_QUADS,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}
_EXTENSIONS: dict[str, str] = {
    ".ttl": "text/turtle",
    ".trig": "application/trig",
    ".nt": "application/n-triples",
    ".nq": "application/n-quads",
    ".jsonld": "application/ld+json",
    ".rdf": "application/rdf+xml",
    ".owl": "application/rdf+xml",
    ".json": STIX_MEDIA_TYPE,
}
ACCEPTED_MEDIA_TYPES = (*_FORMATS, STIX_MEDIA_TYPE)
"""Media types ``POST /sources`` and ``fimigraph load`` read."""

# Nodes only the rules may create: a document that asserts them would forge inferences.
_RESERVED_TYPES = frozenset({FIMI.Inference, FIMI.AttributionLink, FIMI.NegativeFinding, FIMI.Conflict})
_STORE_METADATA = (DCTERMS.identifier, DCTERMS.dateSubmitted)


@dataclass(frozen=True)
class SourceDocument:
    """A parsed, validated document split into the source's metadata and its claims."""

    source_iri: str
    metadata: Graph
    claims: Graph
    warnings: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """The id the store gives this source."""
        return source_id(self.source_iri)


@dataclass(frozen=True)
class IngestResult:
    """What ingesting one document did."""

    id: str
    iri: str
    triples: int
    claims: int
    replaced: bool
    inferred: int
    warnings: tuple[str, ...]


def media_type_for(filename: str | None, declared: str | None) -> str:
    """The media type of a document: the declared one, else guessed from the file name."""
    if declared:
        base = declared.split(";", 1)[0].strip().lower()
        if base == "application/json":
            return STIX_MEDIA_TYPE
        if base in ACCEPTED_MEDIA_TYPES:
            return base
        raise UnsupportedFormat(f"cannot read media type {base!r}; send one of {', '.join(ACCEPTED_MEDIA_TYPES)}")
    suffix = Path(filename or "").suffix.lower()
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    raise UnsupportedFormat(
        f"cannot tell the format of {filename!r}; use one of {', '.join(sorted(_EXTENSIONS))} or name the media type"
    )


def parse_document(data: bytes, *, media_type: str, base_iri: str | None = None,
                   limits: Limits = DEFAULTS) -> tuple[Graph, tuple[str, ...]]:
    """Parse a document into one rdflib graph (named graphs of TriG/N-Quads are merged), within ``limits``."""
    if media_type in (STIX_MEDIA_TYPE, "application/ld+json"):
        check_json(data, limits)
    elif media_type == "application/rdf+xml":
        check_xml(data, limits)
    if media_type == STIX_MEDIA_TYPE:
        from .stix import bundle_to_graph  # STIX is optional input; import it only when needed

        graph, warnings = bundle_to_graph(data)
        check_size(len(graph), limits)
        for term in {*graph.all_nodes(), *graph.predicates()}:
            if isinstance(term, Literal):
                check_literal(str(term), limits)
            elif isinstance(term, URIRef):
                _check_iri(term)
        return graph, warnings
    try:
        quads = list(bounded(ox.parse(data, format=_FORMATS[media_type], base_iri=base_iri), limits))
    except SyntaxError as exc:
        raise ParseError(f"malformed {_FORMATS[media_type].name} document: {exc}") from exc
    except ValueError as exc:
        raise ParseError(f"unreadable {_FORMATS[media_type].name} document: {exc}") from exc
    triples = ox.serialize([ox.Triple(q.subject, q.predicate, q.object) for q in quads], format=ox.RdfFormat.N_TRIPLES)
    return Graph().parse(data=triples.decode(), format="nt"), ()


def _check_iri(term: URIRef) -> None:
    """Refuse an IRI pyoxigraph would refuse (a STIX id or IRI with ``>`` or a space): it goes into the store and queries."""
    try:
        ox.NamedNode(str(term))
    except ValueError as exc:
        raise InputError(f"the STIX bundle makes {str(term)!r}, which is not a valid IRI ({exc}): "
                         "check its objects' ids and IRIs") from exc


def split_document(graph: Graph) -> tuple[str, Graph, Graph]:
    """Find the document's one source; return its IRI, its metadata and the rest (the claims).

    A document may also describe sources it relays (``<own> fimi:reports <other>``, as an article
    relays a report, or a STIX bundle the reports its external references cite): their
    descriptions stay with the claims, and its own source is the one no other source relays.
    """
    typed = {s for cls in source_classes() for s in graph.subjects(RDF.type, cls)}
    sources = sorted((s for s in typed if not any(r in typed for r in graph.subjects(FIMI.reports, s))), key=str)
    if len(sources) != 1:
        found = ", ".join(str(s) for s in sources) or "none"
        raise ValidationError(
            f"a document must describe exactly one fimi:Source (or fimi:Report, fimi:Article, "
            f"fimi:OfficialStatement) of its own, besides those it relays (fimi:reports); found {len(sources)}: {found}",
            extra={"results": [{"focus_node": None, "message": "exactly one fimi:Source per document", "found": found}]},
        )
    source = sources[0]
    if not isinstance(source, URIRef):
        raise ValidationError("the document's fimi:Source must be an IRI, not a blank node")
    metadata, claims = Graph(), Graph()
    for triple in graph:
        (metadata if triple[0] == source else claims).add(triple)
    return str(source), metadata, claims


def check_store_metadata(metadata: Graph) -> None:
    """Refuse what only the store writes about a loaded source: its id and submission time.

    Written by a document, a second ``dcterms:identifier`` made ``GET /sources`` list a phantom
    source whose deletion dropped the real one's metadata and left its claims behind.
    """
    found = sorted({f"{p.n3()} {o.n3()}" for p in _STORE_METADATA for o in metadata.objects(None, p)})
    if found:
        raise ValidationError(
            f"a document may not give its source {', '.join(found)}: the store writes a source's "
            "dcterms:identifier and dcterms:dateSubmitted (name your own identifier with another property, "
            "e.g. dcterms:bibliographicCitation)",
            extra={"results": [{"focus_node": None, "message": f"store metadata in input: {f}"} for f in found]},
        )


def check_reserved(graph: Graph) -> None:
    """Refuse nodes only the rules may create (inferred IRIs, links, findings, conflicts)."""
    forged = sorted(
        {str(s) for s, _, o in graph.triples((None, RDF.type, None)) if o in _RESERVED_TYPES}
        | {str(t) for triple in graph for t in triple if isinstance(t, URIRef) and t.startswith(str(INFERRED))}
    )
    if forged:
        raise ValidationError(
            f"documents may not assert inferred nodes (only the rules create them): {', '.join(forged[:3])}",
            extra={"results": [{"focus_node": f, "message": "inferred node in input"} for f in forged]},
        )


def read_document(data: bytes, *, media_type: str, base_iri: str | None = None, limits: Limits = DEFAULTS) -> SourceDocument:
    """Parse (within ``limits``) and validate a document; raise ParseError, ValidationError or a limit's error naming the problem."""
    graph, warnings = parse_document(data, media_type=media_type, base_iri=base_iri, limits=limits)
    if len(graph) == 0:
        raise ValidationError("the document is empty: it holds no triples")
    check_reserved(graph)
    outcome = validate_graph(graph)
    if not outcome.conforms:
        raise ValidationError(outcome.summary(), extra={"results": outcome.results, "report": outcome.text})
    source_iri, metadata, claims = split_document(graph)
    check_store_metadata(metadata)
    return SourceDocument(source_iri, metadata, with_source_marking(source_iri, metadata, claims), warnings)


def with_source_marking(source_iri: str, metadata: Graph, claims: Graph) -> Graph:
    """The claims, each marked at least as restrictively as its source (a source's marking applies to its claims; the most restrictive wins)."""
    source = metadata.value(URIRef(source_iri), FIMI.marking)
    if source is None or rank_of(str(source)) == 0:
        return claims
    for claim in set(claims.subjects(RDF.type, FIMI.Claim)):
        own = claims.value(claim, FIMI.marking)
        if own is None or rank_of(str(own)) < rank_of(str(source)):
            claims.set((claim, FIMI.marking, source))
    return claims


def write_document(store: GraphStore, doc: SourceDocument, *, replace: bool = False, engine: str = DEFAULT_ENGINE) -> IngestResult:
    """Write a validated document with its inferences, in one transaction: all or nothing."""
    with store.write_lock:
        change = store.prepare_put(doc.source_iri, doc.metadata, doc.claims, replace=replace)  # refuses a duplicate
        report = reason.apply(store, change, engine=engine)
    claims = len(set(doc.claims.subjects(RDF.type, FIMI.Claim)))
    return IngestResult(change.sid, doc.source_iri, len(doc.metadata) + len(doc.claims), claims, bool(change.removed),
                        report.triples, doc.warnings)


def ingest(
    store: GraphStore,
    data: bytes,
    *,
    media_type: str,
    base_iri: str | None = None,
    replace: bool = False,
    engine: str = DEFAULT_ENGINE,
    owl_check: bool = False,
    limits: Limits = DEFAULTS,
) -> IngestResult:
    """Parse (within ``limits``), validate and write one source document (``owl_check``: refuse one that contradicts the ontology's OWL axioms)."""
    doc = read_document(data, media_type=media_type, base_iri=base_iri, limits=limits)
    if owl_check:
        check_consistency(doc.metadata + doc.claims)
    return write_document(store, doc, replace=replace, engine=engine)


def check_consistency(graph: Graph) -> None:
    """Raise :class:`Inconsistent` with HermiT's report when a document contradicts the ontology."""
    from .consistency import check  # owlready2 and Java load only when asked for

    report = check(graph)
    if not report.consistent:
        broken = "; ".join(f"{v.individual}: {v.axiom}" for v in report.violations[:3]) or report.other
        raise Inconsistent(f"the document contradicts the ontology ({broken})", extra=report.as_dict())



def retract(store: GraphStore, sid: str, *, engine: str = DEFAULT_ENGINE) -> tuple[SourceInfo, InferenceReport]:
    """Remove a source (by id or IRI) and the inferences that rested on it, in one transaction."""
    with store.write_lock:
        info, change = store.prepare_retract(sid)
        report = reason.apply(store, change, engine=engine)
    return info, report
