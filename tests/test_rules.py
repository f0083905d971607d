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

from fimigraph.ontology import ontology_graph
from fimigraph.reason import new_engine
from fimigraph.ruleset import rule_files, rules, shapes_graph, working_properties
from fimigraph.vocab import FIMI, FIMIR, INFERRED
from rulecases import (
    RuleCase,
    blank_inferred,
    case_files,
    case_reference,
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


def _inferred(path: Path) -> Graph:
    return case_reference(path)


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


@pytest.mark.parametrize("path", CASES, ids=_ids(CASES))
def test_rule_case(path: Path) -> None:
    """The engine infers exactly the case's expected graph (inferred IRIs as blank nodes)."""
    expected = _case(path).expected
    actual = blank_inferred(_inferred(path))
    assert isomorphic(expected, actual), f"{path.name}: inferred graph differs\n{diff_report(expected, actual)}"


def _fired(expected: Graph) -> set[URIRef]:
    """The rules a case's expected graph shows firing: named by fimi:rule, or writing a property only they write."""
    fired = set(rule_iris(expected))
    predicates = {str(p) for p in expected.predicates()}
    for rule in compiled_rules():
        if predicates & set(rule.produces) - {str(RDF.type)}:
            fired.add(URIRef(rule.name))
    return fired


@cache
def compiled_rules() -> tuple:
    return tuple(new_engine().rules)


@pytest.mark.parametrize("path", CASES, ids=_ids(CASES))
def test_case_exercises_its_rule(path: Path) -> None:
    """A case is named after an existing rule, and its expected graph shows that rule firing."""
    case = _case(path)
    known = {rule.iri for rule in rules()}
    assert case.rule in known, f"{path.name} names no rule: {case.rule} is not in rules/inference"
    assert case.rule in _fired(case.expected), f"{path.name}: {case.rule} never fires in the expected graph"
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


def _key(inferred: Graph, node: URIRef) -> str:
    """What identifies a conclusion (sha256 of which is its IRI): its kind, subject, target, grade, directness, interval, marking."""
    def text(p: URIRef, missing: str = "-") -> str:
        value = inferred.value(node, p)
        return str(value) if value is not None else missing

    kinds = set(inferred.objects(node, RDF.type))
    if FIMI.Conflict in kinds:  # direct attribution versus negative finding (a disputed claim's is checked apart)
        return f"conflict {inferred.value(node, FIMI.conflictKind)} {text(FIMI.linkSubject)} {text(FIMI.linkTarget)} {text(FIMI.marking)}"
    if FIMI.NegativeFinding in kinds:
        return (f"finding {text(FIMI.linkSubject)} {text(FIMI.linkTarget)} {text(FIMI.directness)} "
                f"{text(FIMI.validFrom)} {text(FIMI.validUntil)} {text(FIMI.marking)}")
    return (f"link {text(FIMI.linkSubject)} {text(FIMI.linkTarget)} {text(FIMI.grade)} {text(FIMI.directness)} "
            f"{text(FIMI.validFrom)} {text(FIMI.validUntil)} {text(FIMI.marking)}")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("path", CASES, ids=_ids(CASES))
def test_inferred_iris_hash_what_identifies_them(path: Path) -> None:
    """A derivation's IRI hashes its rule and premises; a conclusion's, what identifies it: reruns mint the same IRIs."""
    inferred = _inferred(path)
    subjects = {s for s in inferred.subjects() if isinstance(s, URIRef) and str(s).startswith(str(INFERRED))}
    assert subjects, f"{path.name}: nothing inferred"
    for node in subjects:
        digest = str(node).removeprefix(str(INFERRED))
        if (node, FIMI.derivationOf, None) in inferred:
            rule = inferred.value(node, FIMI.rule)
            premises = [str(p) for p in inferred.objects(node, FIMI.premise)]
            assert rule is not None and premises, f"{node} lacks fimi:rule or fimi:premise"
            hashes = {_sha(" ".join([str(rule), *order])) for order in itertools.permutations(premises)}
            assert digest in hashes, f"derivation {node} is not sha256(rule + premises)"
        elif (node, FIMI.conflictKind, FIMI.DisputedClaim) in inferred:
            marking = inferred.value(node, FIMI.marking)
            hashes = {_sha(f"conflict {FIMI.DisputedClaim} {claim} {marking}") for claim in inferred.objects(node, FIMI.premise)}
            assert digest in hashes, f"conflict {node} is not sha256 of the disputed claim and marking"
        else:
            assert digest == _sha(_key(inferred, node)), f"conclusion {node} is not sha256 of its key {_key(inferred, node)!r}"
    dangling = {o for o in inferred.objects() if isinstance(o, URIRef) and str(o).startswith(str(INFERRED))} - subjects
    assert not dangling, f"{path.name}: inferred IRIs used but never described: {dangling}"


def test_reasoning_is_idempotent() -> None:
    """Running twice on the richest case gives the identical inferred graph, IRIs included."""
    path = next(p for p in CASES if p.stem == "chain")
    first = _inferred(path)
    second = run_engine(engine_input(_case(path).data))
    assert set(first) == set(second), diff_report(first, second)


def test_every_rule_is_exercised() -> None:
    """Each rule fires in some case (its own, rules/tests/<stem>.trig, or another's), and each case is named after a rule."""
    rule_stems = {p.stem for p in rule_files()}
    case_stems = {p.stem for p in CASES}
    assert case_stems - rule_stems == set(), f"test cases without a rule file: {sorted(case_stems - rule_stems)}"
    fired = set().union(*(_fired(_case(p).expected) for p in CASES))
    working = {str(p) for p in working_properties(ontology_graph())}
    for rule in compiled_rules():
        if set(rule.produces) <= working | {None}:
            # Its triples are dropped at the end: it fires if the rules that read them do.
            readers = [r for r in compiled_rules() if set(rule.produces) & set(r.predicates)]
            assert any(URIRef(r.name) in fired for r in readers), f"{rule.name}: nothing reads what it writes in any case"
        else:
            assert URIRef(rule.name) in fired, f"{rule.name} fires in no test case"


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
