"""The rules and shapes of ``rules/``, loaded as data.

The engine knows no rule by name: it reads every ``rules/inference/*.ttl`` file, picks
rules by their ``rdf:type`` (``sh:SPARQLRule``, ``sh:TripleRule``), groups them by
``fimi:stratum`` and orders them by ``sh:order``. Properties the ontology types
``fimi:WorkingProperty`` are the rules' scratch values, dropped once the last stratum ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH
from rdflib.term import Node

from .resources import rules_dir
from .vocab import FIMI


@dataclass(frozen=True)
class Rule:
    """One inference rule: its identity, documentation, order and body."""

    iri: URIRef
    label: str
    comment: str
    order: float
    stratum: int
    kind: URIRef
    construct: str | None
    path: Path


def _parse(paths: list[Path]) -> Graph:
    graph = Graph()
    for path in [rules_dir() / "prefixes.ttl", *paths]:
        graph.parse(path, format="turtle")
    return graph


def rule_files() -> list[Path]:
    """The rule files, one rule per file."""
    return sorted((rules_dir() / "inference").glob("*.ttl"))


@cache
def rules_graph() -> Graph:
    """The SHACL-AF shapes graph of all inference rules (callers must not modify it)."""
    return _parse(rule_files())


@cache
def shapes_graph() -> Graph:
    """The SHACL shapes that validate incoming data (callers must not modify it)."""
    return _parse(sorted((rules_dir() / "shapes").glob("*.ttl")))


def _text(graph: Graph, node: URIRef, prop: URIRef) -> str:
    value = graph.value(node, prop)
    return str(value) if value is not None else ""


def load_rule(path: Path) -> Rule:
    """Read the single rule a file defines."""
    graph = _parse([path])
    found = [
        (node, kind)
        for kind in (SH.SPARQLRule, SH.TripleRule)
        for node in graph.subjects(RDF.type, kind)
        if isinstance(node, URIRef)
    ]
    if len(found) != 1:
        raise ValueError(f"{path}: expected exactly one rule with an IRI, found {len(found)}")
    node, kind = found[0]
    order = graph.value(node, SH.order)
    construct = graph.value(node, SH.construct)
    return Rule(
        iri=node,
        label=_text(graph, node, RDFS.label),
        comment=_text(graph, node, RDFS.comment),
        order=float(order.toPython()) if isinstance(order, Literal) else 0.0,
        stratum=stratum_of(graph, node),
        kind=kind,
        construct=str(construct) if construct is not None else None,
        path=path,
    )


@cache
def rules() -> tuple[Rule, ...]:
    """All inference rules, in the order they run."""
    return tuple(sorted((load_rule(p) for p in rule_files()), key=lambda r: (r.stratum, r.order, str(r.iri))))


def stratum_of(shapes: Graph, rule: Node) -> int:
    """The stratum a rule runs in: its ``fimi:stratum``, else its shape's, else 1."""
    for node in (rule, *shapes.subjects(SH.rule, rule)):
        value = shapes.value(node, FIMI.stratum)
        if isinstance(value, Literal):
            return int(value.toPython())
    return 1


def strata(shapes: Graph) -> list[Graph]:
    """The shapes graph once per stratum, lowest first, each keeping only that stratum's rules.

    pyshacl runs every rule a shapes graph attaches with ``sh:rule``; detaching the others is
    how one stratum runs alone.
    """
    attached = list(shapes.subject_objects(SH.rule))
    levels = sorted({stratum_of(shapes, rule) for _shape, rule in attached}) or [1]
    graphs = []
    for level in levels:
        graph = Graph()
        for triple in shapes:
            graph.add(triple)
        for shape, rule in attached:
            if stratum_of(shapes, rule) != level:
                graph.remove((shape, SH.rule, rule))
        graphs.append(graph)
    return graphs


def working_properties(*graphs: Graph) -> frozenset[Node]:
    """The properties typed ``fimi:WorkingProperty`` (or a subclass of it) in any of these graphs (the ontology declares them)."""
    kinds = (FIMI.WorkingProperty, FIMI.MaximalProperty, FIMI.MinimalProperty)
    return frozenset(p for g in graphs for kind in kinds for p in g.subjects(RDF.type, kind))


def extreme_properties(*graphs: Graph) -> dict[Node, int]:
    """Working properties of which only each node's highest (+1) or lowest (-1) value matters."""
    found: dict[Node, int] = {}
    for g in graphs:
        found.update({p: 1 for p in g.subjects(RDF.type, FIMI.MaximalProperty)})
        found.update({p: -1 for p in g.subjects(RDF.type, FIMI.MinimalProperty)})
    return found


def rule_by_iri() -> dict[str, Rule]:
    """Rules indexed by IRI, for explanations."""
    return {str(rule.iri): rule for rule in rules()}


def rule_labels() -> dict[str, str]:
    """Each rule's label by IRI: the rule files, not the store, document the rules."""
    return {iri: rule.label for iri, rule in rule_by_iri().items()}
