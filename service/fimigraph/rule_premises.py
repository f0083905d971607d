"""What each rule that concludes an attribution link needs, read from the rule files.

Each rule's CONSTRUCT (as the engine reads it, :func:`fimigraph.engine.shacl.rule_texts`) is
parsed into rdflib's SPARQL algebra. Its template says which variables are the link's subject,
target and grade, and whether the grade is a constant (``fimi:StateLinked``), read from the
data (``fimi:claimedGrade ?grade``) or computed (``BIND(IF(…, ?g1, ?cap) AS ?grade)``). Its body
is split into *premises*, the facts an analyst would name: a claim (a node with a
``fimi:claimPredicate``), a conclusion (a node typed ``fimi:AttributionLink`` or with a
``fimi:linkSubject``) or an entity's type; the rest are *details* (ontology lookups: ranks,
step caps), optional values, VALUES tables, and the BINDs and FILTERs, kept in the order the
rule evaluates them. Nothing here is written per rule or per grade.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from typing import Any

from rdflib import Literal, URIRef, Variable
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue

from .engine.shacl import rule_texts
from .ruleset import rule_by_iri, rules_graph
from .vocab import FIMI, RDF

Term = Any
"""An rdflib term of a pattern: a Variable, URIRef or Literal."""
Pattern = tuple[Term, Term, Term]

_CONCLUSION_TYPES = (FIMI.AttributionLink, FIMI.NegativeFinding)
log = logging.getLogger("fimigraph.whynot")


@dataclass(frozen=True)
class Premise:
    """A fact a rule needs: its patterns (several alternatives for a UNION), about one node variable."""

    node: Variable
    kind: str
    """``claim``, ``conclusion`` or ``entity`` (a type to have)."""
    alternatives: tuple[tuple[Pattern, ...], ...]

    @property
    def variables(self) -> frozenset[Variable]:
        """Every variable its patterns name."""
        return frozenset(t for alt in self.alternatives for p in alt for t in p if isinstance(t, Variable))

    def objects(self, prop: URIRef) -> set[Term]:
        """What its patterns give as the value of ``prop`` on its node."""
        return {o for alt in self.alternatives for s, p, o in alt if s == self.node and p == prop}


@dataclass(frozen=True)
class Step:
    """A BIND (``var`` set), a FILTER, or a lookup of a value a BIND computed, in the rule's order."""

    kind: str
    expr: Any = None
    var: Variable | None = None
    pattern: Pattern | None = None


@dataclass(frozen=True)
class RuleShape:
    """One attribution rule as premises, details and steps, with the variables of the link it concludes."""

    iri: str
    label: str
    subject: Variable
    target: Variable
    grade: Term
    kind: Variable | None
    """The variable of the link's type, when the template types it with one (``?link a ?kind``)."""
    premises: tuple[Premise, ...]
    details: tuple[Pattern, ...]
    optionals: tuple[tuple[Pattern, ...], ...]
    values: tuple[tuple[tuple[Variable, ...], tuple[tuple[Term, ...], ...]], ...]
    steps: tuple[Step, ...]
    grade_from: frozenset[Variable]
    """Variables the conclusion's grade is taken from: the grade variable itself when a pattern reads it, else
    those of its BIND's operands that patterns read with ``fimi:grade`` (a premise link's grade)."""


class _Walk:
    """The body of one rule, walked in the order it is evaluated."""

    def __init__(self) -> None:
        self.required: list[Pattern] = []
        self.unions: list[tuple[tuple[Pattern, ...], ...]] = []
        self.optionals: list[tuple[Pattern, ...]] = []
        self.values: list[tuple[tuple[Variable, ...], tuple[tuple[Term, ...], ...]]] = []
        self.steps: list[Step] = []
        self.assigned: set[Variable] = set()

    def walk(self, node: CompValue) -> None:
        name = node.name
        if name == "Project":  # a CONSTRUCT's body, as rdflib wraps it
            self.walk(node.p)
        elif name == "BGP":
            for pattern in node.triples:
                if any(t in self.assigned for t in pattern):  # reads a value a BIND computed: after the BIND
                    self.steps.append(Step("lookup", pattern=tuple(pattern)))
                else:
                    self.required.append(tuple(pattern))
        elif name == "Join":
            self.walk(node.p1)
            self.walk(node.p2)
        elif name == "LeftJoin":
            self.walk(node.p1)
            if node.p2.name != "BGP":
                raise ValueError("an OPTIONAL other than triple patterns")
            self.optionals.append(tuple(tuple(p) for p in node.p2.triples))
        elif name == "Filter":
            self.walk(node.p)
            self.steps.append(Step("filter", expr=node.expr))
        elif name == "Extend":
            self.walk(node.p)
            self.steps.append(Step("extend", expr=node.expr, var=node.var))
            self.assigned.add(node.var)
        elif name == "Union":
            self.unions.append(tuple(self._alternative(side) for side in (node.p1, node.p2)))
        elif name == "ToMultiSet" and node.p.name == "values":
            rows = node.p.res
            names = tuple(sorted({v for row in rows for v in row}, key=str))
            self.values.append((names, tuple(tuple(row.get(v) for v in names) for row in rows)))
        else:
            raise ValueError(f"a {name} in the rule's body")

    @staticmethod
    def _alternative(side: CompValue) -> tuple[Pattern, ...]:
        if side.name != "BGP":
            raise ValueError("a UNION of other than triple patterns")
        return tuple(tuple(p) for p in side.triples)


def _premises(walk: _Walk) -> tuple[list[Premise], list[Pattern]]:
    """The required patterns grouped into premises, node by node in order of first mention; the rest are details."""
    alternatives: dict[Variable, list[tuple[Pattern, ...]]] = {}
    by_node: dict[Variable, list[Pattern]] = {}
    for union in walk.unions:  # a UNION is one premise about the node both its sides describe
        nodes = {s for alt in union for s, p, o in alt if p == FIMI.claimPredicate or p == FIMI.linkSubject}
        if len(nodes) != 1:
            raise ValueError("a UNION other than alternatives of one claim or one link")
        alternatives[nodes.pop()] = list(union)
    for pattern in walk.required:
        if isinstance(pattern[0], Variable):
            by_node.setdefault(pattern[0], []).append(pattern)
    premises, details = [], []
    for node in dict.fromkeys([*alternatives, *by_node]):
        own = by_node.get(node, [])
        alts = [tuple(alt) + tuple(own) for alt in alternatives.get(node, [()])]
        preds = {p for alt in alts for s, p, o in alt if s == node}
        types = {o for alt in alts for s, p, o in alt if s == node and p == RDF.type}
        if FIMI.claimPredicate in preds:
            kind = "claim"
        elif FIMI.linkSubject in preds or types & set(_CONCLUSION_TYPES):
            kind = "conclusion"
        elif preds == {RDF.type}:
            kind = "entity"
        else:
            details.extend(own)
            continue
        premises.append(Premise(node, kind, tuple(alts)))
    return premises, details


def _operands(expr: Any) -> set[Variable]:
    """The variables an expression can return as its value (the branches of IF and COALESCE, or itself)."""
    if isinstance(expr, Variable):
        return {expr}
    if isinstance(expr, CompValue) and expr.name == "Builtin_IF":
        return _operands(expr.arg2) | _operands(expr.arg3)
    if isinstance(expr, CompValue) and expr.name == "Builtin_COALESCE":
        return set().union(*(_operands(a) for a in expr.arg))
    return set()


def analyse(name: str, text: str, prefixes: dict[str, str]) -> RuleShape | None:
    """The shape of one rule, if its template concludes an attribution link (else None)."""
    query = prepareQuery(text, initNs=prefixes).algebra
    template = [tuple(t) for t in query.template]
    links = [s for s, p, o in template if p == RDF.type and (o == FIMI.AttributionLink or isinstance(o, Variable))]
    link = next((l for l in links if any(s == l and p == FIMI.grade for s, p, o in template)), None)
    if link is None:
        return None

    def of(prop: URIRef) -> Term:
        return next(o for s, p, o in template if s == link and p == prop)

    kind = next((o for s, p, o in template if s == link and p == RDF.type and isinstance(o, Variable)), None)
    walk = _Walk()
    walk.walk(query.p)
    premises, details = _premises(walk)
    grade = of(FIMI.grade)
    read = {t for pattern in (*walk.required, *[p for o in walk.optionals for p in o]) for t in pattern}
    if isinstance(grade, Variable) and grade not in read:
        bind = next(s for s in walk.steps if s.kind == "extend" and s.var == grade)
        grade_from = frozenset(v for v in _operands(bind.expr)
                               if any(p == FIMI.grade and o == v for s, p, o in walk.required))
    else:
        grade_from = frozenset({grade}) if isinstance(grade, Variable) else frozenset()
    # An OPTIONAL that reads the grade (a premise link's, passed on) is part of that premise once the grade is asked for.
    optionals = []
    for group in walk.optionals:
        node = group[0][0]
        owner = next((i for i, p in enumerate(premises) if p.node == node), None)
        if owner is not None and grade_from & {t for pattern in group for t in pattern}:
            p = premises[owner]
            premises[owner] = Premise(p.node, p.kind, tuple(alt + group for alt in p.alternatives))
        else:
            optionals.append(group)
    rule = rule_by_iri().get(name)
    return RuleShape(
        iri=name, label=rule.label if rule else name, subject=of(FIMI.linkSubject), target=of(FIMI.linkTarget), grade=grade,
        kind=kind, premises=tuple(premises), details=tuple(details), optionals=tuple(optionals),
        values=tuple(walk.values), steps=tuple(walk.steps), grade_from=grade_from,
    )


@cache
def attribution_rules() -> tuple[RuleShape, ...]:
    """Every rule that concludes attribution links, in the order the rules run."""
    found = []
    for text in rule_texts(rules_graph()):
        try:
            shape = analyse(text.name, text.text, text.prefixes)
        except ValueError as exc:  # a rule written in a way this reading does not know: why-not leaves it out, and says so
            log.warning("why-not leaves rule %s out: its body has %s", text.name, exc)
            continue
        if shape is not None:
            found.append(shape)
    return tuple(found)


def n3(term: Term) -> str:
    """A pattern's term in SPARQL syntax."""
    if isinstance(term, (Variable, URIRef, Literal)):
        return term.n3()
    raise ValueError(f"not a term of a pattern: {term!r}")


__all__ = ["Pattern", "Premise", "RuleShape", "Step", "analyse", "attribution_rules", "n3"]
