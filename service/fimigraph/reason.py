"""Reasoning: run the rules of ``rules/inference`` to a global fixpoint and store what they infer.

Two engines read the same rule files. ``pyshacl`` is the reference semantics (SHACL-AF on
an rdflib graph); ``native`` (see :mod:`fimigraph.native`) runs the same queries inside
the store. Both write the inferred graph, which can be dropped and rebuilt at any time.

A run notes in the store that it is writing the inferred graph and removes the note when it
completes; a run killed half-way leaves the note, and :func:`recover` rebuilds (an incremental
change that fails within the process puts the graph back as it was and removes the note
itself). A completed run records what it derived the graph with (:func:`derivation`); when a
new version of fimigraph brings other rules or another ontology, :func:`recover` rebuilds too,
and an incremental change derives everything again rather than mixing the two.
"""

from __future__ import annotations

import hashlib
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import pyoxigraph as ox
import pyshacl
from rdflib import Graph

from . import native
from .ontology import ontology_hash
from .resources import rules_dir
from .ruleset import rule_files, rules_graph
from .store import GraphStore, ntriples
from .vocab import DCTERMS, INFERRED_GRAPH, SOURCES_GRAPH, source_graph

ENGINES = ("native", "pyshacl")
"""Engine names accepted by :func:`infer`."""
PYSHACL_BACKENDS = ("rdflib", "pyoxigraph")
"""What :func:`pyshacl_fixpoint` runs pyshacl on; ``rdflib`` is the reference."""
DEFAULT_ENGINE = "native"
"""The fast engine; ``pyshacl`` is the reference semantics it is tested against."""


INTERRUPTED = "incomplete (a reasoning run was interrupted)"
"""Why :func:`outdated` finds an inferred graph unfit: a run did not complete."""
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
def native_rules() -> tuple[native.NativeRule, ...]:
    """The rules of ``rules/inference`` compiled for the native engine (once per process)."""
    return tuple(native.compile_rules(rules_graph()))


@cache
def _program() -> native.Program:
    return native.Program(native_rules())


def prepare(*, engine: str = DEFAULT_ENGINE) -> None:
    """Compile the rules now rather than during the first change (about 0.1 s of it): a server does so before serving."""
    if engine == "native":
        _program()


def _native_engine(store: GraphStore, *, scratch_left: bool = True, workers: int | None = None) -> native.Engine:
    return native.Engine(store.ox, _program(), scratch_left=scratch_left, workers=workers)


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


# Size of each store's inferred graph, kept up to date by the runs below: counting 1M
# inferred triples costs ~0.4 s (9.6M: 4.5 s), more than an incremental update itself.
_sizes: weakref.WeakKeyDictionary[GraphStore, int] = weakref.WeakKeyDictionary()


def inferred_size(store: GraphStore) -> int:
    """Triples in the inferred graph: as the last run recorded it (else counted) once per store and process, then kept up to date."""
    if store not in _sizes:
        recorded = store.recorded_inferred_size()
        _sizes[store] = recorded if recorded is not None else store.count(str(INFERRED_GRAPH))
    return _sizes[store]


def pyshacl_fixpoint(
    data: Graph, *, shapes: Graph | None = None, on_pass: Callable[[int, int], None] | None = None,
    backend: str = "rdflib",
) -> tuple[Graph, int]:
    """Apply the rules with pyshacl until nothing changes; return the inferred triples and the pass count.

    pyshacl's ``iterate_rules`` reaches a fixpoint per shape only, so a later shape's
    conclusions would not re-trigger an earlier one: the whole pass is repeated.

    ``backend``: pyshacl works on an rdflib graph (the reference: rdflib evaluates the rules'
    SPARQL), or on a pyoxigraph store in memory, which pyshacl 0.40 supports as its data graph:
    each rule still runs once per focus node, with pyoxigraph evaluating its SPARQL. At 100k
    triples that takes minutes where rdflib takes hours (``bench/RESULTS.md``); the tests check
    that both give the native engine's graph. On pyoxigraph, blank nodes of ``data`` come back
    under other labels (the store names them afresh).
    """
    if backend not in PYSHACL_BACKENDS:
        raise ValueError(f"unknown pyshacl backend {backend!r}; choose one of {', '.join(PYSHACL_BACKENDS)}")
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
    while True:
        before = len(working)
        pyshacl.shacl_rules(working, shacl_graph=shapes if shapes is not None else rules_graph(),
                            advanced=True, inplace=True, iterate_rules=True)
        passes += 1
        if on_pass is not None:
            on_pass(passes, len(working) - size)
        if len(working) == before:
            break
    if isinstance(working, ox.Store):
        added = ox.serialize((q.triple for q in working if q not in asserted), format=ox.RdfFormat.N_TRIPLES)
        return Graph().parse(data=added.decode(), format="nt"), passes
    inferred = Graph()
    for triple in working:
        if triple not in data:
            inferred.add(triple)
    return inferred, passes


def infer(store: GraphStore, *, engine: str = DEFAULT_ENGINE, on_pass: Callable[[int, int], None] | None = None) -> InferenceReport:
    """Rebuild the inferred graph of ``store`` from scratch with the chosen engine."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    started = time.perf_counter()
    if engine == "native":
        with _writing(store) as run:
            stats = _native_engine(store).rebuild(on_pass)
            run.total = stats.added
        store.optimize()
        return InferenceReport(engine, stats.added, stats.passes, time.perf_counter() - started, added=stats.added)
    with _writing(store) as run:
        data = Graph().parse(data=store.reasoning_input().decode(), format="nt")
        inferred, passes = pyshacl_fixpoint(data, on_pass=on_pass)
        store.replace_inferred(ntriples(inferred))  # one transaction
        run.total = len(inferred)
    store.optimize()
    return InferenceReport(engine, len(inferred), passes, time.perf_counter() - started)


def recover(store: GraphStore, *, engine: str = DEFAULT_ENGINE,
            announce: Callable[[str], None] | None = None) -> tuple[str, InferenceReport] | None:
    """Rebuild the inferred graph if it is :func:`outdated`: why, and the rebuild's report; else None.

    ``announce`` is told why before the rebuild starts: at a million triples it takes 10–15 minutes.
    """
    why = None if store.read_only else outdated(store)
    if why is None:
        return None
    if announce is not None:
        announce(why)
    return why, infer(store, engine=engine)


@dataclass
class _Run:
    """One reasoning run, as :func:`_writing` sees it."""

    outdated: bool  # (asked by changes only) the inferred graph may be half-written, or derived with other rules
    before: int | None = None  # the inferred graph's size before the run (when asked for and known)
    total: int = 0  # its size after the run: set by the run
    restored: bool = False  # the run failed and put the graph back as it was: as fit as before it


@contextmanager
def _writing(store: GraphStore, *, change: bool = False) -> Iterator[_Run]:
    """Hold the write lock and note the run around it; on completion record the graph's size.

    ``change``: an incremental change, which needs to know whether the graph is fit to build on and its size before.
    """
    # The native engine writes in many transactions (a rebuild's bulk writes in none at all):
    # the note goes around all of them. On an exception it stays, the graph may be half-written,
    # unless the run put it back as it was.
    with store.write_lock:
        # Only a change asks: a rebuild derives everything anyway.
        run = _Run(change and outdated(store) is not None)
        if change and not run.outdated:
            run.before = inferred_size(store)  # read before the note below hides the recorded size
        store.mark_reasoning(running=True)
        try:
            yield run
        except BaseException:
            if run.restored:
                store.mark_reasoning(running=False, inferred=run.before, derived_with=derivation())
            raise
        _sizes[store] = run.total
        store.mark_reasoning(running=False, inferred=run.total, derived_with=derivation())


def _source_nt(graphs: tuple[Graph, Graph] | None) -> bytes | None:
    if graphs is None:
        return None
    return b"".join(ntriples(g).encode() for g in graphs)


def _source_iri(store: GraphStore, sid: str) -> str | None:
    rows = store.query(f'SELECT ?s WHERE {{ GRAPH <{SOURCES_GRAPH}> {{ ?s <{DCTERMS.identifier}> "{sid}" }} }}')
    for row in rows:
        return str(row["s"].value)
    return None


def _incremental(store: GraphStore, engine: str, started: float, workers: int | None, **change: object) -> InferenceReport:
    with _writing(store, change=True) as run:
        # An interrupted run may have left a half-written inferred graph (and scratch graphs), and
        # one derived with other rules cannot be maintained by these: then everything is derived
        # again (the CLI and the server do so at start-up).
        runner = _native_engine(store, scratch_left=run.outdated, workers=workers)
        try:
            stats = runner.rebuild() if run.before is None else runner.change(**change)  # type: ignore[arg-type]
        except BaseException:
            run.restored = runner.restored
            raise
        run.total = stats.added if stats.rebuilt else run.before + stats.added - stats.removed
    return InferenceReport(engine, run.total, stats.passes, time.perf_counter() - started, stats.added, stats.removed,
                           not stats.rebuilt)


def on_source_added(store: GraphStore, sid: str, *, engine: str = DEFAULT_ENGINE,
                    previous: tuple[Graph, Graph] | None = None, workers: int | None = None) -> InferenceReport:
    """Bring the inferred graph up to date after source ``sid`` was written.

    ``previous``: when the source replaced an older version, that version's
    ``(metadata, claims)`` as :meth:`GraphStore.source_quads` returned them before the write.
    The native engine derives only what follows from the change, running up to ``workers``
    store queries at once (default :data:`native.WORKERS`); pyshacl rebuilds.
    """
    if engine != "native":
        return infer(store, engine=engine)
    started = time.perf_counter()
    return _incremental(store, engine, started, workers, source_graph=str(source_graph(sid)), source_iri=_source_iri(store, sid),
                        previous=_source_nt(previous))


def on_source_removed(store: GraphStore, sid: str, *, engine: str = DEFAULT_ENGINE,
                      removed: tuple[Graph, Graph] | None = None, workers: int | None = None) -> InferenceReport:
    """Bring the inferred graph up to date after source ``sid`` was retracted.

    ``removed``: the source's ``(metadata, claims)`` as :meth:`GraphStore.source_quads`
    returned them before :meth:`GraphStore.delete_source`. With it the native engine removes
    exactly the inferences that lost their support (``workers`` as for :func:`on_source_added`);
    without it (or with pyshacl) it rebuilds.
    """
    if engine != "native" or removed is None:
        return infer(store, engine=engine)
    started = time.perf_counter()
    return _incremental(store, engine, started, workers, source_graph=None, source_iri=None, previous=_source_nt(removed))


__all__ = [
    "DEFAULT_ENGINE", "ENGINES", "INFERRED_GRAPH", "INTERRUPTED", "OTHER_RULES", "PYSHACL_BACKENDS", "InferenceReport", "derivation", "infer",
    "native_rules", "on_source_added", "on_source_removed", "outdated", "prepare", "pyshacl_fixpoint", "recover",
]
