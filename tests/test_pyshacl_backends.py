"""pyshacl on a pyoxigraph store (``pyshacl_fixpoint(backend="pyoxigraph")``) infers what the reference infers.

The benchmark compares the native engine with it at sizes where pyshacl on rdflib does not
finish, so it must be the reference there: the same graph as the native engine (which
``test_native_engine`` holds to pyshacl on rdflib) on every rule case, the seed case, random
worlds and a world of ``fimigraph generate``, and the TopBraid SHACL-AF rule tests' expected results.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from fimigraph import reason
from fimigraph.engine import run_on_graph
from fimigraph.generate import generate
from fimigraph.ruleset import rules_graph
from fimigraph.store import GraphStore
from rulecases import blank_inferred, case_files, engine_input, load_case, shacl_af_files
from support import SEED_FILES
from test_native_engine import _asserted, _inferred, _reference, _world_store, same  # same(graph, expected): equal, or a readable difference
from test_shacl_af_suite import check_shacl_af_case


def on_pyoxigraph(data: Graph, shapes: Graph | None = None) -> Graph:
    """pyshacl's rules, on a pyoxigraph store, to a global fixpoint: the inferred triples."""
    return reason.pyshacl_fixpoint(data, shapes=shapes, backend="pyoxigraph")[0]


@pytest.mark.parametrize("path", case_files(), ids=lambda p: p.stem)
def test_rule_case(path: Path) -> None:
    """On each rule's test case: the native engine's graph, which is the case's expected one."""
    case = load_case(path)
    data = engine_input(case.data)
    inferred = on_pyoxigraph(data)
    same(inferred, run_on_graph(data, rules_graph()))
    assert isomorphic(blank_inferred(inferred), blank_inferred(case.expected))


@pytest.mark.parametrize("path", shacl_af_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shacl_af_suite(path: Path) -> None:
    """Every TopBraid rule test passes: pyoxigraph types 7 * 8 as an integer, where rdflib fails the two rectangle tests."""
    check_shacl_af_case(path, on_pyoxigraph)
    graph = Graph().parse(path, format="turtle")
    # Isomorphic, not equal: the store names the data's blank nodes afresh.
    assert isomorphic(on_pyoxigraph(graph, graph), run_on_graph(graph, graph))


def check_store(store: GraphStore, *, more_than: int) -> None:
    """Reason over ``store`` natively; pyshacl on pyoxigraph infers the same, more than ``more_than`` triples."""
    reason.infer(store, engine="native")
    inferred = _reference(store, backend="pyoxigraph")
    assert len(inferred) > more_than
    same(inferred, _inferred(store))


def test_seed_case(tmp_path: Path) -> None:
    """The seed case: the native engine's graph, pass for pass reported to the caller."""
    from fimigraph.ingest import ingest

    store = GraphStore(tmp_path / "store")
    for file in SEED_FILES:
        ingest(store, file.read_bytes(), media_type="text/turtle", engine="native")
    passes: list[tuple[int, int]] = []
    inferred, count = reason.pyshacl_fixpoint(_asserted(store), backend="pyoxigraph", on_pass=lambda n, t: passes.append((n, t)))
    same(inferred, _inferred(store))
    assert len(inferred) > 50
    # The last pass adds nothing: that is how the fixpoint is known.
    # (working properties included: they are dropped at the end).
    assert [n for n, _ in passes] == list(range(1, count + 1)) and passes[-1][1] == passes[-2][1] > len(inferred)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_generated_world(seed: int) -> None:
    """Random worlds (chains, cycles, conflicts, disputes, expired intervals, markings): the native engine's graph."""
    check_store(_world_store(seed, claims=35), more_than=50)


def test_generated_4k_world(tmp_path: Path) -> None:
    """``fimigraph generate``'s world of 4,000 triples (every link kind, conflicts, negative findings,
    expired intervals, cycles): the native engine's graph; the reference takes seconds."""
    path = tmp_path / "g.nq"
    generate(path, triples=4000, seed=1)
    store = GraphStore(None)
    store.ox.bulk_load(path=str(path), format=ox.RdfFormat.N_QUADS)
    check_store(store, more_than=3_000)


def test_an_unknown_backend_is_named() -> None:
    """A backend pyshacl cannot run on is refused with the choices, before any work."""
    with pytest.raises(ValueError, match=r"unknown pyshacl backend 'jena'; choose one of rdflib, pyoxigraph"):
        reason.pyshacl_fixpoint(Graph(), backend="jena")
