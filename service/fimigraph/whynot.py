"""Why not: what a stronger grade between a subject and a state would need, read from the rules.

For the grade asked, every rule that can conclude a link of that grade (:mod:`fimigraph.rule_premises`)
is tried on the subject and the state: its premises are looked up in the store one after another,
and the first one missing is named in the analyst's words (the ontology's labels and
``fimi:phrase``). When that premise is a link itself (a chain's next step, a link to an organ of the
state), what it would need is asked in turn, a few steps deep, so that the answer reaches the claims
a source would have to make: "a claim that an Azerbaijani individual works for, works under contract
for or is affiliated with the Azerbaijani authorities". Then the negative findings, conflicts and
disputes that stand against such a link.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pyoxigraph as ox
from rdflib import Graph, URIRef, Variable
from rdflib.collection import Collection
from rdflib.namespace import SH
from rdflib.plugins.sparql.operators import EBV
from rdflib.plugins.sparql.parserutils import CompValue, value
from rdflib.plugins.sparql.sparql import FrozenBindings, QueryContext

from .attribution import check_iri, confidence_label, labels, negative_findings, subject_exists
from .conflicts import conflicts
from .engine.terms import from_ox, to_rdflib
from .errors import InputError, NotFound
from .ontology import grade_ranks, notations, ontology_graph
from .rule_premises import Pattern, Premise, RuleShape, attribution_rules, n3
from .ruleset import shapes_graph
from .store import GraphStore, iri_batches
from .vocab import FIMI, FIMIR, INFERRED_GRAPH, PREFIXES, RDF, RDFS

DEPTH = 4
"""How many links deep a missing link's own needs are followed."""
BRANCHES = 3
"""How many candidates (chain steps, organs) each missing link is followed through."""
_ROWS = 200
_ENDS = (FIMI.claimSubject, FIMI.claimPredicate, FIMI.claimObject)
_RANKS = {notations()[g]: r for g, r in grade_ranks().items()}


@cache
def _kind_types() -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """For each link kind, the classes its claims' subject and object may have (``rules/shapes/link-kind.ttl``)."""
    g = shapes_graph()
    found: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    for target in g.subjects(FIMIR.kind, None):
        kind = str(g.value(target, FIMIR.kind))
        shape = g.value(None, SH.target, target)
        allowed: dict[URIRef, frozenset[str]] = {}
        for prop in g.objects(shape, SH.property):
            classes = {str(c) for c in g.objects(prop, SH["class"])}
            either = g.value(prop, SH["or"])
            if either is not None:
                classes |= {str(c) for member in Collection(g, either) for c in g.objects(member, SH["class"])}
            allowed[g.value(prop, SH.path)] = frozenset(classes)
        found[kind] = (allowed.get(FIMI.claimSubject, frozenset()), allowed.get(FIMI.claimObject, frozenset()))
    return found


@cache
def _superclasses(cls: str) -> frozenset[str]:
    return frozenset(str(c) for c in ontology_graph().transitive_objects(URIRef(cls), RDFS.subClassOf))


def _article(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _alternatives(words: list[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


class _Search:
    """One why-not question: the store, what was looked up, and the labels met on the way."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.names: dict[str, str] = {}
        self.types: dict[str, frozenset[str]] = {}
        self.seen: set[tuple[str, str, str]] = set()
        self.claims: set[str] = set()
        self.context = QueryContext(graph=Graph())

    # -- the store -------------------------------------------------------------------------------

    def name(self, iri: Any) -> str:
        iri = str(iri)
        if iri not in self.names:
            self.names[iri] = labels(self.store, {iri}).get(iri) or _term_label(iri) or iri
        return self.names[iri]

    def classes(self, iri: str) -> frozenset[str]:
        """The classes a node has in the store, with their superclasses."""
        if iri not in self.types:
            rows = self.store.select("SELECT DISTINCT ?x ?t WHERE { ?x a ?t }", bind={"x": iri})
            self.types[iri] = frozenset(c for r in rows for c in {r["t"], *_superclasses(r["t"])})
        return self.types[iri]

    def rows(self, shape: RuleShape, premises: list[Premise], fixed: dict[Variable, URIRef]) -> list[dict[Variable, Any]]:
        """Solutions of these premises with the rule's details and optional values, ``fixed`` bound (at most a few hundred)."""
        patterns = [p for premise in premises for alt in premise.alternatives for p in alt]
        named = {t for p in patterns for t in p if isinstance(t, Variable)}
        # A node's type is a check, not a join: the union of the store's graphs holds an entity's type once per
        # source that mentions it (thousands for a state at 1M triples), and a join would repeat every row as often.
        joined = set(fixed) | {t for premise in premises if premise.kind != "entity"
                               for alt in premise.alternatives for p in alt for t in p if isinstance(t, Variable)}
        parts = [f"FILTER EXISTS {{ {_group(premise, set(fixed))} }}" if premise.kind == "entity" and premise.node in joined
                 else _group(premise, set(fixed)) for premise in premises]
        # Only details and optional values about nodes the premises bind: one about a left-out premise's node
        # (a link assumed, not found) would read the whole store.
        pending = list(shape.details)
        while True:
            ready = [p for p in pending if not isinstance(p[0], Variable) or p[0] in named or p[0] in fixed]
            if not ready:
                break
            pending = [p for p in pending if p not in ready]
            parts += [_pattern(p) for p in ready]
            named |= {t for p in ready for t in p if isinstance(t, Variable)}
        for group in shape.optionals:
            if group[0][0] in named or group[0][0] in fixed:
                # Looked up row by row: a plain OPTIONAL is evaluated over the whole store first (store.lateral_optional).
                variables = " ".join(sorted({f"?{t}" for p in group for t in p if isinstance(t, Variable)}))
                parts.append(f"LATERAL {{ OPTIONAL {{ SELECT {variables} WHERE {{ {' '.join(_pattern(p) for p in group)} }} }} }}")
                named |= {t for p in group for t in p if isinstance(t, Variable)}
        for names, table in _tables(shape, fixed):
            if set(names) & named:
                parts.insert(0, _values(names, table))
                named |= set(names)
        bind = {str(v): str(fixed[v]) for v in fixed if v in named}
        projected = " ".join(sorted(f"?{v}" for v in named))
        query = f"SELECT DISTINCT {projected} WHERE {{ {' '.join(parts)} }} LIMIT {_ROWS}"
        solutions = self.store.query(query, prefixes=PREFIXES, bind=bind)
        found = []
        for solution in solutions:
            row = dict(fixed)
            for v in named:
                term = solution[str(v)]
                if term is not None:
                    row[v] = to_rdflib(from_ox(term)) if not isinstance(term, ox.NamedNode) else URIRef(term.value)
            found.append(row)
        return found

    def solutions(self, shape: RuleShape, premises: list[Premise], fixed: dict[Variable, URIRef]) -> list[dict[Variable, Any]]:
        """Solutions of these premises, with the rule's details and optional values, that pass its BINDs and FILTERs."""
        return self.evaluate(shape, self.rows(shape, premises, fixed))

    def evaluate(self, shape: RuleShape, rows: list[dict[Variable, Any]]) -> list[dict[Variable, Any]]:
        """The rule's BINDs and FILTERs on each row, in its order; a filter that cannot be told (a value left unknown) lets the row pass."""
        kept = []
        for row in rows:
            row = dict(row)
            keep = True
            for step in shape.steps:
                if step.kind == "extend":
                    try:
                        result = value(FrozenBindings(self.context, row), step.expr)
                    except Exception as exc:  # noqa: BLE001 - rdflib raises some errors and returns others
                        result = exc
                    if not isinstance(result, Exception):  # SPARQL: an error leaves the variable unbound
                        row[step.var] = result
                elif step.kind == "lookup":  # a computed value's rank or cap: the ontology's
                    s, p, o = step.pattern
                    if s in row:
                        found = ontology_graph().value(row[s], p)
                        if found is not None:
                            row[o] = found
                else:
                    keep = all(self._holds(part, row) for part in _conjuncts(step.expr))
                if not keep:
                    break
            if keep:
                kept.append(row)
        return kept

    def _holds(self, expr: Any, row: dict[Variable, Any]) -> bool:
        try:
            return EBV(value(FrozenBindings(self.context, row), expr))
        except Exception:  # noqa: BLE001 - unknown (a hypothetical premise's value, an EXISTS): no reason to reject
            return True

    # -- descriptions ---------------------------------------------------------------------------------

    def describe_var(self, var: Any, shape: RuleShape, rows: list[dict[Variable, Any]], fixed: dict[Variable, URIRef], *,
                     skip: Premise | None = None) -> str:
        """A variable in words: the subject or state asked about by name; else what the rule's other premises require of
        it ("a state organ that is an organ of Azerbaijan"), with the nodes that fit, when the store has them."""
        if not isinstance(var, Variable):
            return self.name(var)
        if var in fixed:
            return self.name(fixed[var])
        values = sorted({str(r[var]) for r in rows if var in r})
        generic = self._requirement(var, shape, rows, fixed, skip)
        if values and all(var in r for r in rows):
            shown = _alternatives([self.name(v) for v in values[:BRANCHES]] + (["others"] if len(values) > BRANCHES else []))
            return f"{shown} ({generic})" if generic else shown
        return generic or "another node"

    def _requirement(self, var: Variable, shape: RuleShape, rows: list[dict[Variable, Any]], fixed: dict[Variable, URIRef],
                     skip: Premise | None) -> str | None:
        """What the rule's premises other than ``skip`` require of a variable: its class, and a claim joining it to a known node."""
        classes: list[str] = []
        relation = ""
        for premise in shape.premises:
            if premise is skip:
                continue
            alt = premise.alternatives[0]
            for s, p, o in alt:
                if s == var and p == RDF.type:
                    classes = [_article(_term_label(c) or c) for c in self._candidates(o, shape)]
                if premise.kind == "claim" and s == premise.node and p == FIMI.claimSubject and o == var:
                    obj = next(oo for ss, pp, oo in alt if ss == s and pp == FIMI.claimObject)
                    if not isinstance(obj, Variable) or obj in fixed or any(obj in r for r in rows):
                        kinds = self._kinds(premise, alt, shape, rows, fixed)
                        relation = f" that {_alternatives([_phrase(k) for k in kinds])} {self.describe_var(obj, shape, rows, fixed)}"
        if not classes and not relation:
            return None
        return (_alternatives(classes) if classes else "a node") + relation

    def _candidates(self, term: Any, shape: RuleShape) -> list[str]:
        """The values a term can take: itself, or a VALUES table's column."""
        if not isinstance(term, Variable):
            return [str(term)]
        for names, table in shape.values:
            if term in names:
                return [str(row[names.index(term)]) for row in table]
        return []

    def _kinds(self, premise: Premise, alt: tuple[Pattern, ...], shape: RuleShape, rows: list[dict[Variable, Any]],
               fixed: dict[Variable, URIRef] | None = None) -> list[str]:
        """The link kinds a claim premise can have, given the types of its subject and object where they are known."""
        pred = next(o for s, p, o in alt if s == premise.node and p == FIMI.claimPredicate)
        if isinstance(pred, Variable):
            kinds = self._candidates(pred, shape)
            conditions = [(p, o) for s, p, o in alt if s == pred]
            if conditions:  # e.g. ?p fimi:stepDirection fimi:Forward: the ontology says which kinds
                g = ontology_graph()
                kinds = sorted(str(k) for k in g.subjects(conditions[0][0], conditions[0][1])
                               if all((k, p, o) in g for p, o in conditions))
        else:
            kinds = [str(pred)]
        ends = [next((o for s, p, o in alt if s == premise.node and p == end), None) for end in (FIMI.claimSubject, FIMI.claimObject)]
        known = [self._value(e, rows, fixed or {}) for e in ends]
        fitting = []
        for kind in kinds:
            allowed = _kind_types().get(kind, (frozenset(), frozenset()))
            if all(not a or v is None or a & self.classes(v) for a, v in zip(allowed, known)):
                fitting.append(kind)
        return fitting

    @staticmethod
    def _value(term: Any, rows: list[dict[Variable, Any]], fixed: dict[Variable, URIRef]) -> str | None:
        if not isinstance(term, Variable):
            return str(term)
        if term in fixed:
            return str(fixed[term])
        values = {str(r[term]) for r in rows if term in r}
        return values.pop() if len(values) == 1 else None

    def describe(self, premise: Premise, shape: RuleShape, rows: list[dict[Variable, Any]], fixed: dict[Variable, URIRef]) -> str:
        """A premise in the analyst's words."""
        if premise.kind == "entity":
            cls = [c for alt in premise.alternatives for s, p, o in alt if p == RDF.type for c in self._candidates(o, shape)]
            words = [_article(_term_label(c) or c) for c in cls]
            return f"{self.describe_var(premise.node, shape, rows, fixed, skip=premise)} to be {_alternatives(words)}"
        if premise.kind == "conclusion":
            grade = next(iter(premise.objects(FIMI.grade)), None)
            grade = fixed.get(grade, grade) if isinstance(grade, Variable) else grade
            what = f"{_article(notations().get(str(grade), 'attribution'))} link" if grade is not None else "an attribution link"
            subject = next(iter(premise.objects(FIMI.linkSubject)))
            target = next(iter(premise.objects(FIMI.linkTarget)))
            return (f"{what} of {self.describe_var(subject, shape, rows, fixed, skip=premise)} "
                    f"to {self.describe_var(target, shape, rows, fixed, skip=premise)}")
        texts = []
        for alt in premise.alternatives:
            kinds = self._kinds(premise, alt, shape, rows, fixed)
            if not kinds:
                continue
            subject = next(o for s, p, o in alt if s == premise.node and p == FIMI.claimSubject)
            obj = next(o for s, p, o in alt if s == premise.node and p == FIMI.claimObject)
            # What else the rule asks of the claim and already knows (a direct attribution's claimed grade).
            extra = [f" with {_term_label(str(p)) or p} {self.describe_var(o, shape, rows, fixed)}" for s, p, o in alt
                     if s == premise.node and p not in _ENDS and (not isinstance(o, Variable) or o in fixed)]
            texts.append(f"a claim that {self.describe_var(subject, shape, rows, fixed, skip=premise)} "
                         f"{_alternatives([_phrase(k) for k in kinds])} {self.describe_var(obj, shape, rows, fixed, skip=premise)}"
                         + "".join(extra))
        return "; or ".join(texts)

    def applicable(self, premise: Premise, shape: RuleShape, fixed: dict[Variable, URIRef]) -> bool:
        """Whether a premise can hold at all for the subject and state asked about (their types allow it)."""
        if premise.kind == "entity" and premise.node in fixed:
            classes = {c for alt in premise.alternatives for s, p, o in alt if p == RDF.type for c in self._candidates(o, shape)}
            return bool(classes & self.classes(str(fixed[premise.node])))
        if premise.kind == "claim":
            return any(self._kinds(premise, alt, shape, [], fixed) for alt in premise.alternatives)
        return True

    # -- the search -------------------------------------------------------------------------------------

    def goal(self, subject: str, state: str, grade: str, depth: int) -> dict[str, Any]:
        """Every rule that could give ``subject`` a ``grade`` link to ``state``, and what each lacks."""
        key = (subject, state, grade)
        answer: dict[str, Any] = {"subject": subject, "subject_label": self.name(subject), "state": state,
                                  "state_label": self.name(state), "grade": notations()[grade], "rules": []}
        if key in self.seen:
            answer["see_above"] = True
            return answer
        self.seen.add(key)
        for shape in attribution_rules():
            entry = self.rule(shape, subject, state, grade, depth)
            if entry is not None:
                answer["rules"].append(entry)
        return answer

    def rule(self, shape: RuleShape, subject: str, state: str, grade: str, depth: int) -> dict[str, Any] | None:
        """What one rule has and lacks to give the link; None if it can never give it here."""
        fixed: dict[Variable, URIRef] = {shape.subject: URIRef(subject), shape.target: URIRef(state)}
        if shape.kind is not None:
            fixed[shape.kind] = FIMI.AttributionLink
        if isinstance(shape.grade, URIRef):
            if str(shape.grade) != grade:
                return None
        else:
            fixed.update({v: URIRef(grade) for v in shape.grade_from})
        if not all(table for _, table in _tables(shape, fixed)) or not all(self.applicable(p, shape, fixed) for p in shape.premises):
            return None
        premises = list(shape.premises)
        entry: dict[str, Any] = {"rule": shape.iri, "rule_label": shape.label, "present": [], "missing": None,
                                 "also_missing": [], "needs": []}
        missing = None
        for i, premise in enumerate(premises):
            rows = self.solutions(shape, premises[:i + 1], fixed)
            if not rows:
                missing = premise
                break
            entry["present"].append(self.present(premise, shape, rows, fixed))
        rest = [p for p in premises if p is not missing]
        found = self.solutions(shape, rest, fixed)
        gives = {str(r.get(shape.grade, "")) if isinstance(shape.grade, Variable) else str(shape.grade) for r in found}
        rows = [r for r in found if not isinstance(shape.grade, Variable) or str(r.get(shape.grade, grade)) == grade]
        if missing is None:
            others = sorted(notations()[g] for g in gives - {grade, ""})
            entry["note"] = ("its premises hold" if rows else f"its premises hold, but they give {_alternatives(others)}" if others
                             else "its premises hold, but not together (their validity periods do not overlap)")
            return entry
        if found and not rows:  # what is there caps the grade below the one asked (a step that passes on less)
            return None
        if not rows:  # more than one premise is missing: name the next ones too, in the words of those there
            have: list[Premise] = []
            lacking = []
            for premise in rest:
                if self.solutions(shape, [*have, premise], fixed):
                    have.append(premise)
                else:
                    lacking.append(premise)
            rows = self.solutions(shape, have, fixed) if have else []
            entry["also_missing"] = [self.describe(premise, shape, rows, fixed) for premise in lacking]
        entry["missing"] = self.describe(missing, shape, rows, fixed)
        entry["missing_kind"] = missing.kind
        if missing.kind == "conclusion" and depth < DEPTH:
            entry["needs"] = [self.goal(s, t, g, depth + 1) for s, t, g in self.subgoals(missing, rows, fixed)]
        return entry

    def subgoals(self, premise: Premise, rows: list[dict[Variable, Any]], fixed: dict[Variable, URIRef]) -> list[tuple[str, str, str]]:
        """The links a missing link premise stands for: its subject, target and grade in the rows found without it."""
        subject = next(iter(premise.objects(FIMI.linkSubject)))
        target = next(iter(premise.objects(FIMI.linkTarget)))
        grade = next(iter(premise.objects(FIMI.grade)), None)
        found = []
        for r in rows:
            values = [r.get(t, t) if isinstance(t, Variable) else t for t in (subject, target, grade)]
            if all(isinstance(v, URIRef) for v in values):
                found.append(tuple(str(v) for v in values))
        return list(dict.fromkeys(found))[:BRANCHES]

    def present(self, premise: Premise, shape: RuleShape, rows: list[dict[Variable, Any]],
                fixed: dict[Variable, URIRef]) -> dict[str, Any]:
        """A premise that holds, in words, with the claims (each in its source's words) or conclusions that make it hold."""
        nodes = sorted({str(r[premise.node]) for r in rows if premise.node in r})
        if premise.kind != "claim":
            return {"text": self.describe(premise, shape, rows, fixed), "kind": premise.kind,
                    "found": [{"node": n} for n in nodes[:BRANCHES]]}
        self.claims.update(nodes)
        found = []
        for batch in iri_batches(nodes[:BRANCHES]):
            for r in self.store.select(
                f"""SELECT ?claim ?s ?p ?o ?source ?quote WHERE {{ VALUES ?claim {{ {batch} }}
                      ?claim fimi:claimSubject ?s ; fimi:claimPredicate ?p ; fimi:claimObject ?o ; fimi:statedIn ?source ;
                             fimi:quote ?quote }} ORDER BY ?claim"""):
                found.append({"node": r["claim"], "text": f"{self.name(r['s'])} {_phrase(r['p'])} {self.name(r['o'])}",
                              "source": r["source"], "source_label": self.name(r["source"]), "quote": r["quote"]})
        found = list({f["node"]: f for f in found}.values())
        return {"text": "; ".join(f"a claim that {f['text']} ({f['source_label']})" for f in found), "kind": "claim",
                "found": found}


# -- helpers for building the queries ----------------------------------------------------------------


def _pattern(p: Pattern) -> str:
    return f"{n3(p[0])} {n3(p[1])} {n3(p[2])} ."


def _group(premise: Premise, fixed: set[Variable]) -> str:
    """A premise's patterns, those that name the subject or state asked about first: pyoxigraph joins them in the order written."""
    def ordered(alt: tuple[Pattern, ...]) -> str:
        return " ".join(_pattern(p) for p in sorted(alt, key=lambda p: not any(t in fixed for t in p)))

    if len(premise.alternatives) == 1:
        return ordered(premise.alternatives[0])
    return " UNION ".join("{ " + ordered(alt) + " }" for alt in premise.alternatives)


def _tables(shape: RuleShape, fixed: dict[Variable, URIRef]) -> list[tuple[tuple[Variable, ...], list[tuple[Any, ...]]]]:
    """The rule's VALUES tables, keeping the rows that agree with what is fixed (``?kind``: a link, not a finding)."""
    return [(names, [row for row in table if all(v not in fixed or row[i] == fixed[v] for i, v in enumerate(names))])
            for names, table in shape.values]


def _values(names: tuple[Variable, ...], table: list[tuple[Any, ...]]) -> str:
    rows = " ".join("(" + " ".join(n3(t) if t is not None else "UNDEF" for t in row) + ")" for row in table)
    return f"VALUES ({' '.join(f'?{v}' for v in names)}) {{ {rows} }}"


def _conjuncts(expr: Any) -> list[Any]:
    """A FILTER's expression split at its top-level ``&&`` (each part told on its own)."""
    if isinstance(expr, CompValue) and expr.name == "ConditionalAndExpression":
        return [part for e in [expr.expr, *(expr.other or [])] for part in _conjuncts(e)]
    return [expr]


def _term_label(iri: str) -> str | None:
    label = ontology_graph().value(URIRef(iri), RDFS.label)
    return str(label) if label is not None else None


def _phrase(kind: str) -> str:
    phrase = ontology_graph().value(URIRef(kind), FIMI.phrase)
    return str(phrase) if phrase is not None else (_term_label(kind) or kind)


# -- the answer ---------------------------------------------------------------------------------------


def _leaves(answer: dict[str, Any], path: list[str]) -> list[dict[str, Any]]:
    """The evidence a source would have to give, from the deepest missing premises of every rule, shallow first."""
    found = []
    for entry in answer["rules"]:
        here = [*path, answer["subject_label"]]
        below = [leaf for need in entry.get("needs", []) for leaf in _leaves(need, here)]
        if entry.get("missing") and (entry.get("missing_kind") != "conclusion" or not below):
            found.append({"text": entry["missing"], "rule": entry["rule"], "rule_label": entry["rule_label"],
                          "depth": len(path), "through": here})
        found += below
    return found


def _grade(grade: str) -> str:
    """The grade's IRI from its notation (``state-linked``) or IRI."""
    by_notation = {v: k for k, v in notations().items() if k in grade_ranks()}
    if grade in by_notation:
        return by_notation[grade]
    if grade in grade_ranks():
        return grade
    raise InputError(f"not a grade: {grade!r}; use one of {', '.join(sorted(by_notation, key=lambda n: grade_ranks()[by_notation[n]]))}")


def why_not(store: GraphStore, subject: str, state: str, grade: str) -> dict[str, Any]:
    """What a ``grade`` link from ``subject`` to ``state`` would need, and what stands against it."""
    check_iri(subject), check_iri(state)
    grade_iri = _grade(grade)
    if not subject_exists(store, subject):
        raise NotFound(f"no source mentions {subject}")
    search = _Search(store)
    links = store.select(
        f"""SELECT ?subject ?state ?link ?grade ?directness ?confidence WHERE {{ GRAPH <{INFERRED_GRAPH}> {{
              ?link a fimi:AttributionLink ; fimi:linkSubject ?subject ; fimi:linkTarget ?state ; fimi:grade ?grade ;
                    fimi:directness ?directness ; fimi:confidence ?confidence }} }} ORDER BY DESC(?confidence) ?link""",
        bind={"subject": subject, "state": state})
    names = notations()
    current = [{"link": r["link"], "grade": names[r["grade"]], "directness": names[r["directness"]], "confidence": r["confidence"],
                "confidence_label": confidence_label(r["confidence"])} for r in links]
    holds = [l for l in current if l["grade"] == names[grade_iri]]
    answer = {"subject_label": search.name(subject), "state_label": search.name(state), "grade": names[grade_iri], "rules": []}
    if not holds:
        answer = search.goal(subject, state, grade_iri, 0)
    needed = list({leaf["text"]: leaf for leaf in sorted(_leaves(answer, []), key=lambda l: l["depth"])}.values())
    against = _against(store, search, subject, state)
    return {
        "subject": subject, "subject_label": answer["subject_label"], "state": state, "state_label": answer["state_label"],
        "grade": names[grade_iri], "holds": bool(holds), "links": current, "rules": answer["rules"], "needed": needed,
        "against": against, "summary": _summary(answer, current, holds, against),
    }


def _against(store: GraphStore, search: _Search, subject: str, state: str) -> dict[str, list[dict[str, Any]]]:
    """Negative findings about the pair, conflicts about the subject, and disputes of the claims the rules found."""
    findings = [{"finding": f["finding"], "source": f["source"], "source_label": search.name(f["source"]), "quote": f["quote"],
                 "directness": f["directness"]} for f in negative_findings(store, subject) if f["state"] == state]
    _, found = conflicts(store, subject=subject, limit=100)
    disputes = []
    for batch in iri_batches(sorted(search.claims)):
        disputes += store.select(
            f"""SELECT ?claim ?dispute ?source ?quote WHERE {{ VALUES ?claim {{ {batch} }}
                  ?dispute fimi:claimObject ?claim ; fimi:claimPredicate fimi:disputes ; fimi:statedIn ?source ; fimi:quote ?quote }}""")
    for d in disputes:
        d["source_label"] = search.name(d["source"])
    return {"not_directly_linked": findings, "conflicts": [c for c in found if c["state"] in (None, state)], "disputed": disputes}


def _summary(answer: dict[str, Any], current: list[dict[str, Any]], holds: list[dict[str, Any]],
             against: dict[str, list[dict[str, Any]]]) -> str:
    """A paragraph an analyst can paste into a report: what holds, what each rule lacks, what stands against."""
    who, where, grade = answer["subject_label"], answer["state_label"], answer["grade"]
    if holds:
        return f"{who} is {grade} to {where} (confidence {holds[0]['confidence']}); see /explanations?link={holds[0]['link']}."
    best: dict[str, int] = {}
    for l in current:  # the links there are, strongest grade first: each grade once, at its best confidence
        best[l["grade"]] = max(best.get(l["grade"], 0), l["confidence"])
    now = ", ".join(f"{g} (confidence {c})" for g, c in sorted(best.items(), key=lambda gc: _RANKS[gc[0]]))
    text = [f"Nothing makes {who} {grade} to {where}" + (f"; it is {now}." if now else "; no link joins them.")]
    for entry in answer["rules"]:
        lacks = entry["missing"] or entry.get("note")
        # Where the evidence already there leads: the deepest claim that would complete it.
        deepest = max(_leaves({"subject_label": who, "rules": [entry]}, []), key=lambda l: l["depth"], default=None)
        example = f", e.g. {deepest['text']}" if deepest and deepest["text"] != entry["missing"] else ""
        text.append(f"Rule {entry['rule_label']} would need {lacks}{example}.")
    for f in against["not_directly_linked"]:
        text.append(f"Against it: {f['source_label']} could not link {who} directly to {where}: “{f['quote']}”")
    for c in against["conflicts"]:
        text.append(f"Under review: a {c['kind']} conflict about {who}.")
    for d in against["disputed"]:
        text.append(f"Disputed: {d['source_label']}: “{d['quote']}”")
    return " ".join(text)


def render_text(answer: dict[str, Any]) -> str:
    """The answer as plain text: the summary, then every rule with what it has and lacks."""
    lines = [answer["summary"], ""]

    def rules(node: dict[str, Any], indent: str) -> None:
        for entry in node["rules"]:
            lines.append(f"{indent}• rule {entry['rule_label']}:")
            for p in entry["present"]:
                lines.append(f"{indent}    has {p['text']}")
            if entry.get("note"):
                lines.append(f"{indent}    but {entry['note']}")
            if entry["missing"]:
                lines.append(f"{indent}    lacks {entry['missing']}")
            for more in entry["also_missing"]:
                lines.append(f"{indent}    and {more}")
            for need in entry["needs"]:
                if need.get("see_above"):
                    lines.append(f"{indent}    ({need['subject_label']} → {need['state_label']}: as above)")
                    continue
                lines.append(f"{indent}    which would need, for {need['subject_label']} → {need['state_label']} ({need['grade']}):")
                rules(need, indent + "      ")

    rules(answer, "")
    return "\n".join(lines) + "\n"


__all__ = ["BRANCHES", "DEPTH", "render_text", "why_not"]
