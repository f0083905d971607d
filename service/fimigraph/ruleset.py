"""The rules and shapes of ``rules/``, loaded as data.

The engine knows no rule by name: it reads every ``rules/inference/*.ttl`` file, picks
rules by their ``rdf:type`` (``sh:SPARQLRule``, ``sh:TripleRule``) and orders them by
``sh:order``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH

from .resources import rules_dir


@dataclass(frozen=True)
class Rule:
    """One inference rule: its identity, documentation, order and body."""

    iri: URIRef
    label: str
    comment: str
    order: float
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
        kind=kind,
        construct=str(construct) if construct is not None else None,
        path=path,
    )


@cache
def rules() -> tuple[Rule, ...]:
    """All inference rules, in the order they run."""
    return tuple(sorted((load_rule(p) for p in rule_files()), key=lambda r: (r.order, str(r.iri))))


def rule_by_iri() -> dict[str, Rule]:
    """Rules indexed by IRI, for explanations."""
    return {str(rule.iri): rule for rule in rules()}


def rule_labels() -> dict[str, str]:
    """Each rule's label by IRI: the rule files, not the store, document the rules."""
    return {iri: rule.label for iri, rule in rule_by_iri().items()}
