"""Reasoning: run the rules of ``rules/inference`` to a fixpoint and store what they infer.

Two engines read the same rule files. ``pyshacl`` is the reference semantics (SHACL-AF on
an rdflib graph, stratum by stratum); ``native`` (:mod:`fimigraph.engine`) evaluates them in
memory and keeps, per store and process, its facts and conclusions, so that a source added
or retracted is reasoned over incrementally.

Every write of the inferred graph is one transaction, together with what caused it: a
source written, replaced or retracted lands with its inferences and with the note of what
the inferred graph was derived with (``fimi:derivedWith``, its size in ``fimi:inferredTriples``),
or not at all. Readers never see a change half done, and a crash leaves the store as before
it. A store whose inferred graph was derived with other rules (a new version of fimigraph),
or left half-written by a version that wrote in several transactions, is derived again
before it is built on (:func:`recover`).
"""

from __future__ import annotations

import hashlib
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pyoxigraph as ox
import pyshacl
from rdflib import Graph

from .engine import Engine, Triple, to_quads
from .engine.facts import Facts
from .engine.terms import from_ox
from .ontology import ontology_graph, ontology_hash
from .resources import rules_dir
from .ruleset import rule_files, rules_graph, strata, working_properties
from .store import GraphStore, SourceChange, ntriples
from .views import generation_bump_sparql, inferred_rank, source_ranks
from .vocab import FIMI, INFERRED_GRAPH

ENGINES = ("native", "pyshacl")
"""Engine names accepted by :func:`infer`."""
PYSHACL_BACKENDS = ("rdflib", "pyoxigraph")
"""What :func:`pyshacl_fixpoint` runs pyshacl on; ``rdflib`` is the reference."""
DEFAULT_ENGINE = "native"
"""The fast engine; ``pyshacl`` is the reference semantics it is tested against."""

INTERRUPTED = "incomplete (a reasoning run was interrupted)"
"""Why :func:`outdated` finds an inferred graph unfit: an earlier version's run did not complete."""
OTHER_RULES = "out of date (derived with other rules or another ontology)"
"""Why :func:`outdated` finds an inferred graph unfit: fimigraph's rules or ontology changed since."""


@dataclass(frozen=True)
class InferenceReport:
    """What one reasoning run did (``added``/``removed``: inferred triples, for incremental runs)."""

    engine: str
    triples: int
    passes: int
    seconds: float
    added: int = 0
    removed: int = 0
    incremental: bool = False


@cache
def derivation() -> str:
    """A fingerprint of what the inferred graph follows from besides the data: the rule files and the ontology."""
    digest = hashlib.sha256(ontology_hash().encode())
    for path in [rules_dir() / "prefixes.ttl", *rule_files()]:
        digest.update(f"\n{path.name}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def outdated(store: GraphStore) -> str | None:
    """Why the inferred graph must be derived again before it is relied on (:data:`INTERRUPTED`, :data:`OTHER_RULES`); None if it need not."""
    if store.reasoning_interrupted():
        return INTERRUPTED
    recorded = store.derived_with()
    if recorded == derivation():
        return None
    # Not recorded: a new store (nothing derived yet), or one from a version that did not record it.
    if recorded is None and not store.ask(f"ASK {{ GRAPH <{INFERRED_GRAPH}> {{ ?s ?p ?o }} }}"):
        return None
    return OTHER_RULES


# -- the native engine of each store -----------------------------------------------------------

# Each store's engine, with the store's asserted facts and its conclusions in memory: built once
# per process (reading the store and deriving everything: seconds at a million triples), then
# kept up to date by each change.
_engines: weakref.WeakKeyDictionary[GraphStore, Engine] = weakref.WeakKeyDictionary()


def new_engine() -> Engine:
    """A native engine with fimigraph's rules, holding no facts yet."""
    return Engine(rules_graph())


def native_engine(store: GraphStore) -> Engine:
    """The store's engine: its asserted facts read and everything derived, once per store and process."""
    engine = _engines.get(store)
    if engine is None:
        engine = new_engine()
        engine.read_store(store.ox, skip_graphs=[str(INFERRED_GRAPH)])
        engine.rebuild()
        _engines[store] = engine
    return engine


def prepare(store: GraphStore | None = None, *, engine: str = DEFAULT_ENGINE) -> None:
    """Compile the rules, and build the store's engine, now rather than during the first change: a server does so before serving."""
    if engine == "native":
        if store is None:
            new_engine()
        else:
            native_engine(store)


def inferred_size(store: GraphStore) -> int:
    """Triples in the inferred graph, as the last run recorded it (else counted)."""
    engine = _engines.get(store)
    if engine is not None:
        return engine.size()
    recorded = store.recorded_inferred_size()
    return recorded if recorded is not None else store.count(str(INFERRED_GRAPH))


# -- the reference ---------------------------------------------------------------------------


def pyshacl_fixpoint(
    data: Graph, *, shapes: Graph | None = None, on_pass: Callable[[int, int], None] | None = None,
    backend: str = "rdflib",
) -> tuple[Graph, int]:
    """Apply the rules with pyshacl, stratum by stratum, until nothing changes; return the inferred triples and the pass count.

    The reference semantics. pyshacl's ``iterate_rules`` reaches a fixpoint per shape only, so a
    later shape's conclusions would not re-trigger an earlier one: each stratum's whole pass is
    repeated until it adds nothing, then the next stratum runs on the result. Triples of working
    properties (``fimi:WorkingProperty``: candidate confidences, path steps) are dropped at the end.

    ``backend``: pyshacl works on an rdflib graph (the reference: rdflib evaluates the rules'
    SPARQL), or on a pyoxigraph store in memory, which pyshacl 0.40 supports as its data graph:
    each rule still runs once per focus node, with pyoxigraph evaluating its SPARQL. The tests
    check that both give the native engine's graph. On pyoxigraph, blank nodes of ``data`` come
    back under other labels (the store names them afresh).
    """
    if backend not in PYSHACL_BACKENDS:
        raise ValueError(f"unknown pyshacl backend {backend!r}; choose one of {', '.join(PYSHACL_BACKENDS)}")
    shapes = shapes if shapes is not None else rules_graph()
    working: Graph | ox.Store
    if backend == "pyoxigraph":
        working = ox.Store()
        working.load(ntriples(data).encode(), format=ox.RdfFormat.N_TRIPLES)
        asserted = set(working)
    else:
        working = Graph()
        for triple in data:
            working.add(triple)
    size = len(working)
    passes = 0
    for stratum in strata(shapes):
        while True:
            before = len(working)
            pyshacl.shacl_rules(working, shacl_graph=stratum, advanced=True, inplace=True, iterate_rules=True)
            passes += 1
            if on_pass is not None:
                on_pass(passes, len(working) - size)
            if len(working) == before:
                break
    scratch = {str(p) for p in working_properties(data, shapes, ontology_graph())}
    if isinstance(working, ox.Store):
        added = ox.serialize((q.triple for q in working if q not in asserted and q.predicate.value not in scratch),
                             format=ox.RdfFormat.N_TRIPLES)
        return Graph().parse(data=added.decode(), format="nt"), passes
    inferred = Graph()
    for triple in working:
        if triple not in data and str(triple[1]) not in scratch:
            inferred.add(triple)
    return inferred, passes


def _pyshacl_inferred(store: GraphStore, *, added: Iterable[ox.Quad] = (), removed: Iterable[ox.Quad] = (),
                      on_pass: Callable[[int, int], None] | None = None) -> tuple[set[Triple], int]:
    """The reference's inferred graph of the store's asserted graphs, with a change applied."""
    gone = {q.triple for q in removed}
    data = ox.Store()
    data.extend(ox.Quad(q.subject, q.predicate, q.object) for q in store.ox if q.graph_name.value != str(INFERRED_GRAPH)
                and q.triple not in gone)
    data.extend(ox.Quad(q.subject, q.predicate, q.object) for q in added)
    graph = Graph().parse(data=ox.serialize(data, format=ox.RdfFormat.N_TRIPLES).decode(), format="nt")
    inferred, passes = pyshacl_fixpoint(graph, on_pass=on_pass)
    quads = ox.parse(ntriples(inferred).encode(), format=ox.RdfFormat.N_TRIPLES)
    return {(from_ox(q.subject), q.predicate.value, from_ox(q.object)) for q in quads}, passes


# -- writing -------------------------------------------------------------------------------------


def _stored_inferred(store: GraphStore) -> set[Triple]:
    return {(from_ox(q.subject), q.predicate.value, from_ox(q.object))
            for q in store.ox.quads_for_pattern(None, None, None, ox.NamedNode(str(INFERRED_GRAPH)))}


def _data(verb: str, triples: Iterable[Triple]) -> str:
    found = [q.triple for q in to_quads(triples, str(INFERRED_GRAPH))]
    if not found:
        return ""
    body = ox.serialize(found, format=ox.RdfFormat.N_TRIPLES).decode()
    return f"{verb} DATA {{ GRAPH <{INFERRED_GRAPH}> {{\n{body}}} }}"


def _commit(store: GraphStore, first: str, added: set[Triple], removed: set[Triple], *, total: int, changes: int) -> None:
    """Write a change and what it does to the inferred graph in one transaction."""
    parts = [p for p in (first, _data("DELETE", removed), _data("INSERT", added)) if p]
    parts.append(store.notes_sparql(inferred=total, changes=changes))
    store.update(" ;\n".join(parts))


def _commit_with_views(store: GraphStore, change: SourceChange, added: set[Triple], removed: set[Triple], facts: Facts, *,
                       total: int, generation: int) -> None:
    """Write a change with its inferences (one transaction), then to each need-to-know view within its clearance."""
    marking, derivation_of = str(FIMI.marking), str(FIMI.derivationOf)

    def one(node: object, prop: str) -> Any:
        return next(iter(facts.objects(node, prop)), None)

    ranks: dict[object, int] = {}
    for s, _, _ in added:
        if s not in ranks:
            ranks[s] = inferred_rank(s, lambda n: one(n, marking), lambda n: one(n, derivation_of))
    new = list(added)
    inferred = [(q, ranks[t[0]]) for t, q in zip(new, to_quads(new, str(INFERRED_GRAPH)))]
    ranked = [*source_ranks(change.added), *inferred]
    store.views.expect({r for _, r in ranked}, generation=generation)
    _commit(store, change.update, added, removed, total=total, changes=1)
    store.views.apply(ranked, [*change.removed, *to_quads(removed, str(INFERRED_GRAPH))], generation=generation + 1)


def infer(store: GraphStore, *, engine: str = DEFAULT_ENGINE, on_pass: Callable[[int, int], None] | None = None) -> InferenceReport:
    """Derive the inferred graph of ``store`` again from scratch with the chosen engine; swap it in at once."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    started = time.perf_counter()
    with store.write_lock:
        if engine == "native":
            fresh = new_engine()
            fresh.read_store(store.ox, skip_graphs=[str(INFERRED_GRAPH)])
            stats = fresh.rebuild()
            if on_pass is not None:
                on_pass(stats.rounds, stats.added)
            triples, passes = fresh.inferred(), stats.rounds
        else:
            _engines.pop(store, None)
            triples, passes = _pyshacl_inferred(store, on_pass=on_pass)
        stored = _stored_inferred(store)
        if not stored and triples:
            # An empty inferred graph: the graph and its note in one bulk transaction (faster than an
            # update), after the old note goes in one of its own; readers see either state whole.
            store.update(f"{store.forget_notes_sparql()} ;\n{generation_bump_sparql()}")
            store.ox.extend([*to_quads(triples, str(INFERRED_GRAPH)), *store.note_quads(inferred=len(triples))])
        else:
            _commit(store, "", triples - stored, stored - triples, total=len(triples), changes=0)
        if engine == "native":
            _engines[store] = fresh
        store.views.rebuild(generation=store.generation())
    store.optimize()
    return InferenceReport(engine, len(triples), passes, time.perf_counter() - started, added=len(triples))


def recover(store: GraphStore, *, engine: str = DEFAULT_ENGINE,
            announce: Callable[[str], None] | None = None) -> tuple[str, InferenceReport] | None:
    """Derive the inferred graph again if it is :func:`outdated`: why, and the rebuild's report; else None."""
    why = None if store.read_only else outdated(store)
    if why is None:
        if not store.read_only:  # views an interrupted write left behind are built again
            store.views.sync(generation=store.generation())
        return None
    if announce is not None:
        announce(why)
    return why, infer(store, engine=engine)


def apply(store: GraphStore, change: SourceChange, *, engine: str = DEFAULT_ENGINE) -> InferenceReport:
    """Write a source change and bring the inferred graph up to date with it, in one transaction."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    started = time.perf_counter()
    with store.write_lock:
        rebuilt = outdated(store) is not None
        if rebuilt:  # never build on a graph derived with other rules
            infer(store, engine=engine)
        generation = store.generation()
        if engine == "pyshacl":
            triples, passes = _pyshacl_inferred(store, added=change.added, removed=change.removed)
            stored = _stored_inferred(store)
            added, removed = triples - stored, stored - triples
            facts = Facts(triples)
            _commit_with_views(store, change, added, removed, facts, total=len(triples), generation=generation)
            return InferenceReport(engine, len(triples), passes, time.perf_counter() - started, len(added), len(removed))
        native = native_engine(store)
        delta = native.change(native.triples_of(change.added), native.triples_of(change.removed))
        total = native.size()
        try:
            _commit_with_views(store, change, delta.added, delta.removed, native.reasoner.facts, total=total,
                               generation=generation)
        except BaseException:
            # The store is as it was; the engine is not: it is built again when next needed.
            _engines.pop(store, None)
            raise
    return InferenceReport(engine, total, native.reasoner.rounds, time.perf_counter() - started, len(delta.added),
                           len(delta.removed), incremental=not rebuilt)


__all__ = [
    "DEFAULT_ENGINE", "ENGINES", "INFERRED_GRAPH", "INTERRUPTED", "OTHER_RULES", "PYSHACL_BACKENDS", "InferenceReport", "apply",
    "derivation", "infer", "inferred_size", "native_engine", "new_engine", "outdated", "prepare", "pyshacl_fixpoint", "recover",
]
