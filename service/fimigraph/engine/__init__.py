"""The native rule engine: SHACL-AF rules evaluated in memory, stratum by stratum, incrementally.

The pipeline, one module each:

- :mod:`.shacl` — a shapes graph's rules as the CONSTRUCT queries they amount to;
- :mod:`.rules` — each query parsed with rdflib's SPARQL parser and algebra (:mod:`.algebra` turns it
  into a group's elements), planned (:mod:`.plan`, :mod:`.patterns`, :mod:`.subselect`; expressions in
  :mod:`.expressions` over :mod:`.operators`), with its anchoring;
- :mod:`.facts` — the facts the rules read, indexed in memory (:mod:`.terms`: how terms are held);
- :mod:`.fixpoint` — the stratified semi-naive fixpoint and its incremental maintenance (DRed).

:class:`Engine` ties them to a store: it reads the asserted facts the rules can read (every
predicate their bodies name, and types) from every graph but the inferred one, derives, and
then keeps its derived facts up to date as sources come and go, returning what changed so
that the caller writes it in the same transaction as the source. pyshacl is the reference:
the tests check that both give the same inferred graph.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import Graph

from ..ontology import ontology_graph
from ..ruleset import extreme_properties, working_properties
from .expressions import Unsupported
from .facts import Triple
from .fixpoint import Delta, Reasoner
from .rules import Rule, compile_rule
from .shacl import functions, rule_texts
from .terms import from_ox, from_rdflib, to_ox, to_rdflib

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

UnsupportedRule = Unsupported


@dataclass(frozen=True)
class RunStats:
    """What a run did: seconds, semi-naive rounds, and the inferred triples it added and removed."""

    seconds: float
    rounds: int
    added: int
    removed: int


class Engine:
    """The rules of a shapes graph compiled over one set of facts in memory."""

    def __init__(self, shapes: Graph, *, working: Iterable[str] = ()) -> None:
        self.reasoner = Reasoner([])
        facts = self.reasoner.facts
        table = functions(shapes)
        rules: list[Rule] = [compile_rule(t, lambda: facts, table) for t in rule_texts(shapes)]
        extremes = {str(p): d for p, d in extreme_properties(shapes, ontology_graph()).items()}
        self.reasoner = Reasoner(rules, extremes)
        self.reasoner.facts = facts
        self.rules = rules
        self.working = frozenset(working) | frozenset(str(p) for p in working_properties(shapes, ontology_graph()))
        reads = set().union(*(r.predicates for r in rules)) if rules else set()
        self.reads_everything = None in reads
        self._size: int | None = None
        self.reads = frozenset(p for p in reads if p is not None) | {RDF_TYPE}

    # -- facts -------------------------------------------------------------------------------------

    def read_store(self, store: ox.Store, *, skip_graphs: Iterable[str] = ()) -> int:
        """Assert what the rules can read from every graph of ``store`` but ``skip_graphs``; return the quads read."""
        skip = {ox.NamedNode(g) for g in skip_graphs}
        return self.assert_quads(self.relevant(store, skip))

    def relevant(self, store: ox.Store, skip: set[ox.NamedNode]) -> Iterator[ox.Quad]:
        """The quads of ``store`` the rules can read, outside ``skip``."""
        if self.reads_everything:
            yield from (q for q in store if q.graph_name not in skip)
            return
        for p in sorted(self.reads):
            yield from (q for q in store.quads_for_pattern(None, ox.NamedNode(p), None, None) if q.graph_name not in skip)

    def assert_quads(self, quads: Iterable[ox.Quad]) -> int:
        """Assert quads (each graph's triple counts once) without reasoning."""
        triples = [(from_ox(q.subject), q.predicate.value, from_ox(q.object)) for q in quads if self.wanted(q.predicate.value)]
        self.reasoner.assert_facts(triples)
        return len(triples)

    def wanted(self, predicate: str) -> bool:
        """Whether the rules can read facts with this predicate."""
        return self.reads_everything or predicate in self.reads

    def triples_of(self, quads: Iterable[ox.Quad]) -> list[Triple]:
        """The facts of these quads the rules can read."""
        return [(from_ox(q.subject), q.predicate.value, from_ox(q.object)) for q in quads if self.wanted(q.predicate.value)]

    # -- reasoning ---------------------------------------------------------------------------------

    def rebuild(self) -> RunStats:
        """Derive everything from the asserted facts."""
        started = time.perf_counter()
        self.reasoner.rebuild()
        return RunStats(time.perf_counter() - started, self.reasoner.rounds, len(self.inferred()), 0)

    def change(self, added: Iterable[Triple] = (), removed: Iterable[Triple] = ()) -> Delta:
        """Assert and retract facts; return how the inferred graph changes (working properties left out)."""
        size = self.size()
        delta = self.reasoner.change(added, removed)
        asserted = self.reasoner.asserted
        delta = Delta({t for t in delta.added if t[1] not in self.working and t not in asserted},
                      {t for t in delta.removed if t[1] not in self.working})
        self._size = size + len(delta.added) - len(delta.removed)
        return delta

    def inferred(self) -> set[Triple]:
        """The inferred graph: derived facts that are not asserted, working properties left out."""
        found = self.reasoner.inferred(self.working)
        self._size = len(found)
        return found

    def size(self) -> int:
        """How many triples the inferred graph has (counted once, then kept up to date by each change)."""
        if self._size is None:
            self.inferred()
        assert self._size is not None
        return self._size


def to_quads(triples: Iterable[Triple], graph: str) -> Iterator[ox.Quad]:
    """Engine triples as quads of one graph."""
    g = ox.NamedNode(graph)
    for s, p, o in triples:
        yield ox.Quad(to_ox(s), ox.NamedNode(p), to_ox(o), g)


def run_on_graph(data: Graph, shapes: Graph) -> Graph:
    """Apply the rules of ``shapes`` to an rdflib graph; return the inferred triples (as the reference does)."""
    engine = Engine(shapes, working=(str(p) for p in working_properties(data, ontology_graph())))
    engine.reasoner.assert_facts((from_rdflib(s), from_rdflib(p), from_rdflib(o)) for s, p, o in data)
    engine.rebuild()
    out = Graph()
    for s, p, o in engine.inferred():
        out.add((to_rdflib(s), to_rdflib(p), to_rdflib(o)))
    return out


__all__ = ["Delta", "Engine", "RunStats", "Triple", "UnsupportedRule", "run_on_graph", "to_quads"]
