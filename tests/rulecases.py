"""Helpers for the rule test cases (``rules/tests/*.trig``) and the SHACL-AF rule suite.

The engine under test sits behind :func:`run_engine` (fimigraph rules) and
:func:`run_shacl_af` (any SHACL-AF shapes), so a second engine can be swapped in later.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rdflib import BNode, Dataset, Graph, URIRef
from rdflib.compare import graph_diff, to_isomorphic
from rdflib.namespace import RDF
from rdflib.term import Node

from fimigraph.ontology import ontology_graph
from fimigraph.reason import pyshacl_fixpoint
from support import REPO, SUITES
from fimigraph.resources import rules_dir
from fimigraph.vocab import FIMI, FIMIR, INFERRED


CASE_DATA = URIRef(str(FIMIR) + "tests/data")
"""Named graph of a case's input."""
CASE_EXPECTED = URIRef(str(FIMIR) + "tests/expected")
"""Named graph of a case's complete expected inferred graph."""

DASH = "http://datashapes.org/dash#"


def case_files() -> list[Path]:
    """Every rule test case, ``rules/tests/<rule-file-stem>.trig``."""
    return sorted((rules_dir() / "tests").glob("*.trig"))


@dataclass(frozen=True)
class RuleCase:
    """One rule test case: its input and the complete inferred graph expected from it."""

    path: Path
    data: Graph
    expected: Graph

    @property
    def rule(self) -> URIRef:
        """The IRI of the rule the case is named after (``fimir:<stem>``)."""
        return FIMIR[self.path.stem]


def _copy(graph: Graph) -> Graph:
    copy = Graph()
    for triple in graph:
        copy.add(triple)
    return copy


def load_case(path: Path) -> RuleCase:
    """Read a case's data and expected named graphs (each a plain Graph)."""
    dataset = Dataset()
    with warnings.catch_warnings():
        # rdflib's TriG parser uses its own deprecated ConjunctiveGraph internally.
        warnings.simplefilter("ignore", DeprecationWarning)
        dataset.parse(path, format="trig")
    names = {g.identifier for g in dataset.graphs()}
    for name in (CASE_DATA, CASE_EXPECTED):
        if name not in names:
            raise ValueError(f"{path.name}: named graph <{name}> is missing")
    return RuleCase(path, _copy(dataset.graph(CASE_DATA)), _copy(dataset.graph(CASE_EXPECTED)))


def engine_input(data: Graph) -> Graph:
    """The graph the rules run on: the case's data plus the ontology (link kinds, ranks)."""
    graph = _copy(data)
    for triple in ontology_graph():
        graph.add(triple)
    return graph


def run_engine(graph: Graph) -> Graph:
    """Run every fimigraph rule on ``graph`` to a global fixpoint; return only the inferred triples."""
    inferred, _passes = pyshacl_fixpoint(graph)
    return inferred


@cache
def case_reference(path: Path) -> Graph:
    """What the reference infers from a rule case's input (once per test session: pyshacl takes seconds a case)."""
    return run_engine(engine_input(load_case(path).data))


def blank_inferred(graph: Graph) -> Graph:
    """Replace each IRI under the inferred namespace by one blank node, the same one everywhere."""
    blanks: dict[URIRef, BNode] = {}

    def swap(term: Node) -> Node:
        if isinstance(term, URIRef) and str(term).startswith(str(INFERRED)):
            return blanks.setdefault(term, BNode())
        return term

    result = Graph()
    for s, p, o in graph:
        result.add((swap(s), swap(p), swap(o)))
    return result


def sorted_nt(graph: Graph) -> str:
    """The graph as sorted N-Triples lines (blank node labels are those of ``graph``)."""
    lines = graph.serialize(format="nt").splitlines()
    return "\n".join(sorted(line for line in lines if line.strip()))


def diff_report(expected: Graph, actual: Graph) -> str:
    """A readable difference of two graphs with blank nodes: what only each side has."""
    _both, only_expected, only_actual = graph_diff(to_isomorphic(expected), to_isomorphic(actual))
    return (
        f"expected {len(expected)} triples, got {len(actual)}\n"
        f"--- only in expected ({len(only_expected)}):\n{sorted_nt(only_expected)}\n"
        f"+++ only in actual ({len(only_actual)}):\n{sorted_nt(only_actual)}"
    )


def rule_iris(graph: Graph) -> set[Node]:
    """The rules named by fimi:rule in a graph."""
    return set(graph.objects(None, FIMI.rule))


# --- SHACL-AF suite -----------------------------------------------------------------


def run_shacl_af(data: Graph, shapes: Graph) -> Graph:
    """Apply the SHACL-AF rules of ``shapes`` to ``data`` to a global fixpoint; return the inferred triples."""
    return pyshacl_fixpoint(data, shapes=shapes)[0]


ShaclAfRunner = Callable[[Graph, Graph], Graph]


def shacl_af_files() -> list[Path]:
    """The TopBraid SHACL-AF rule tests: ``tests/suites/shacl-af-rules/{sparql,triple}/*.test.ttl``."""
    root = SUITES / "shacl-af-rules"
    return sorted(p for sub in ("sparql", "triple") for p in (root / sub).glob("*.test.ttl"))


def expected_results(graph: Graph) -> set[tuple[Node, Node, Node]]:
    """The triples a dash:InferencingTestCase lists as dash:expectedResult (reified statements)."""
    found: set[tuple[Node, Node, Node]] = set()
    for case in graph.subjects(RDF.type, URIRef(DASH + "InferencingTestCase")):
        for stmt in graph.objects(case, URIRef(DASH + "expectedResult")):
            s, p, o = (graph.value(stmt, term) for term in (RDF.subject, RDF.predicate, RDF.object))
            if s is None or p is None or o is None:
                raise ValueError(f"expected result {stmt} lacks rdf:subject, rdf:predicate or rdf:object")
            found.add((s, p, o))
    return found


__all__ = [
    "CASE_DATA", "CASE_EXPECTED", "REPO", "RuleCase", "ShaclAfRunner", "blank_inferred", "case_files", "case_reference",
    "diff_report", "engine_input", "expected_results", "load_case", "rule_iris", "run_engine",
    "run_shacl_af", "shacl_af_files", "sorted_nt",
]
