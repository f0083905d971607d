"""Reasoning: run the rules of ``rules/inference`` to a global fixpoint and store what they infer.

Two engines read the same rule files. ``pyshacl`` is the reference semantics (SHACL-AF on
an rdflib graph); ``native`` (see :mod:`fimigraph.native`) runs the same queries inside
the store. Both write the inferred graph, which can be dropped and rebuilt at any time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pyshacl
from rdflib import Graph

from .ruleset import rules_graph
from .store import GraphStore, ntriples
from .vocab import INFERRED_GRAPH

ENGINES = ("pyshacl",)
"""Engine names accepted by :func:`infer`."""


@dataclass(frozen=True)
class InferenceReport:
    """What one reasoning run did."""

    engine: str
    triples: int
    passes: int
    seconds: float


def pyshacl_fixpoint(data: Graph, *, on_pass: Callable[[int, int], None] | None = None) -> tuple[Graph, int]:
    """Apply the rules with pyshacl until nothing changes; return the inferred triples and the pass count.

    pyshacl's ``iterate_rules`` reaches a fixpoint per shape only, so a later shape's
    conclusions would not re-trigger an earlier one: the whole pass is repeated.
    """
    working = Graph()
    for triple in data:
        working.add(triple)
    passes = 0
    while True:
        before = len(working)
        pyshacl.shacl_rules(working, shacl_graph=rules_graph(), advanced=True, inplace=True, iterate_rules=True)
        passes += 1
        if on_pass is not None:
            on_pass(passes, len(working) - len(data))
        if len(working) == before:
            break
    inferred = Graph()
    for triple in working:
        if triple not in data:
            inferred.add(triple)
    return inferred, passes


def infer(store: GraphStore, *, engine: str = "pyshacl", on_pass: Callable[[int, int], None] | None = None) -> InferenceReport:
    """Rebuild the inferred graph of ``store`` from scratch with the chosen engine."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    started = time.perf_counter()
    with store.write_lock:
        data = Graph().parse(data=store.reasoning_input().decode(), format="nt")
        inferred, passes = pyshacl_fixpoint(data, on_pass=on_pass)
        store.replace_inferred(ntriples(inferred))
    return InferenceReport(engine, len(inferred), passes, time.perf_counter() - started)


def on_source_added(store: GraphStore, sid: str, *, engine: str = "pyshacl") -> InferenceReport:
    """Bring the inferred graph up to date after source ``sid`` was written."""
    return infer(store, engine=engine)


def on_source_removed(store: GraphStore, sid: str, *, engine: str = "pyshacl") -> InferenceReport:
    """Bring the inferred graph up to date after source ``sid`` was retracted."""
    return infer(store, engine=engine)


__all__ = ["ENGINES", "INFERRED_GRAPH", "InferenceReport", "infer", "on_source_added", "on_source_removed", "pyshacl_fixpoint"]
