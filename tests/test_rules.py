"""Every inference rule against its hand-written test case (``rules/tests/<rule-file-stem>.trig``).

Each case holds an input graph and the complete inferred graph that all rules together
must produce from it; inferred IRIs (sha256 hashes) are compared as blank nodes.
"""

from __future__ import annotations

import hashlib
import itertools
from functools import cache
from pathlib import Path

import pyshacl
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF, SH

from fimigraph.ruleset import rule_files, rules, shapes_graph
from fimigraph.vocab import FIMI, FIMIR, INFERRED
from rulecases import (
    RuleCase,
    blank_inferred,
    case_files,
    diff_report,
    engine_input,
    load_case,
    rule_iris,
    run_engine,
)

CASES = case_files()


@cache
def _case(path: Path) -> RuleCase:
    return load_case(path)


@cache
def _inferred(path: Path) -> Graph:
    # One engine run per case, shared by the tests below (pyshacl takes seconds per run).
    return run_engine(engine_input(_case(path).data))


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


@pytest.mark.parametrize("path", CASES, ids=_ids(CASES))
def test_rule_case(path: Path) -> None:
    """The engine infers exactly the case's expected graph (inferred IRIs as blank nodes)."""
    expected = _case(path).expected
    actual = blank_inferred(_inferred(path))
    assert isomorphic(expected, actual), f"{path.name}: inferred graph differs\n{diff_report(expected, actual)}"


@pytest.mark.parametrize("path", CASES, ids=_ids(CASES))
def test_case_exercises_its_rule(path: Path) -> None:
    """A case is named after an existing rule, and its expected graph shows that rule firing."""
    case = _case(path)
    known = {rule.iri for rule in rules()}
    assert case.rule in known, f"{path.name} names no rule: {case.rule} is not in rules/inference"
    assert case.rule in rule_iris(case.expected), f"{path.name}: {case.rule} never fires in the expected graph"
    assert rule_iris(case.expected) <= known, f"{path.name}: expected graph names unknown rules"


# Claims between the wrong kinds of thing, which the shapes refuse at the door: a case keeps them
# to show that the rules ignore such a claim should it reach the store anyway (its ends typed
# otherwise by another source).
DELIBERATE_MISTAKES = {
    "direct-attribution.trig": {"https://example.org/claim-person"},
    "negative-finding.trig": {"https://example.org/claim-not-company"},
    "official-channel.trig": {"https://example.org/claim-outlet-channel"},
    "ruling-party.trig": {"https://example.org/claim-rules-organ"},
    "state-aligned.trig": {"https://example.org/claim-organ-promotes"},
}


@pytest.mark.parametrize("path", CASES, ids=_ids(CASES))
def test_case_data_is_valid(path: Path) -> None:
    """A case's input passes the validation shapes (claims and sources well formed), but for its deliberate mistakes."""
    _conforms, report, text = pyshacl.validate(engine_input(_case(path).data), shacl_graph=shapes_graph(), advanced=True)
    refused = {str(focus) for focus in report.objects(None, SH.focusNode)}
    assert refused == DELIBERATE_MISTAKES.get(path.name, set()), f"{path.name}: data graph does not conform\n{text}"


@pytest.mark.parametrize("path", CASES, ids=_ids(CASES))
def test_inferred_iris_hash_rule_and_premises(path: Path) -> None:
    """Every inferred node is ``inferred/<sha256>`` of its rule and premises, so reruns mint the same IRI."""
    inferred = _inferred(path)
    subjects = {s for s in inferred.subjects() if isinstance(s, URIRef) and str(s).startswith(str(INFERRED))}
    assert subjects, f"{path.name}: nothing inferred"
    for node in subjects:
        rule = inferred.value(node, FIMI.rule)
        premises = [str(p) for p in inferred.objects(node, FIMI.premise)]
        assert rule is not None and premises, f"{node} lacks fimi:rule or fimi:premise"
        candidates = {
            hashlib.sha256(" ".join([str(rule), *order]).encode()).hexdigest()
            for order in itertools.permutations(premises)
        }
        assert str(node).removeprefix(str(INFERRED)) in candidates, f"{node} is not sha256(rule + premises)"
    dangling = {o for o in inferred.objects() if isinstance(o, URIRef) and str(o).startswith(str(INFERRED))} - subjects
    assert not dangling, f"{path.name}: inferred IRIs used but never described: {dangling}"


def test_reasoning_is_idempotent() -> None:
    """Running twice on the richest case gives the identical inferred graph, IRIs included."""
    path = next(p for p in CASES if p.stem == "chain")
    first = _inferred(path)
    second = run_engine(engine_input(_case(path).data))
    assert set(first) == set(second), diff_report(first, second)


def test_every_rule_has_a_case() -> None:
    """Each rules/inference/<stem>.ttl has rules/tests/<stem>.trig, and each case a rule file."""
    rule_stems = {p.stem for p in rule_files()}
    case_stems = {p.stem for p in CASES}
    assert rule_stems - case_stems == set(), f"rules without a test case: {sorted(rule_stems - case_stems)}"
    assert case_stems - rule_stems == set(), f"test cases without a rule file: {sorted(case_stems - rule_stems)}"


@pytest.mark.parametrize("rule", rules(), ids=[r.path.stem for r in rules()])
def test_rule_is_documented(rule) -> None:
    """Every rule has an IRI fimir:<file stem>, rdfs:label, rdfs:comment and sh:order."""
    assert rule.iri == FIMIR[rule.path.stem], f"{rule.path.name}: rule IRI {rule.iri} is not fimir:{rule.path.stem}"
    assert rule.label.strip(), f"{rule.iri} has no rdfs:label"
    assert rule.comment.strip(), f"{rule.iri} has no rdfs:comment"
    # Rule.order defaults to 0 when sh:order is missing, so look at the file itself.
    order = Graph().parse(rule.path, format="turtle").value(rule.iri, SH.order)
    assert isinstance(order, Literal), f"{rule.iri} has no sh:order"
    assert rule.kind in (SH.SPARQLRule, SH.TripleRule)
    assert (rule.iri, RDF.type, rule.kind) in Graph().parse(rule.path, format="turtle")
