"""A rule compiled for the engine: its body's plan, its CONSTRUCT template, and its anchors.

Reasoning mostly re-runs a rule for a few nodes: those a change touched. A rule is
*anchored* on a variable of its body bound to some values; :meth:`Rule.anchors` finds, for
a fact that changed, which variable and value cover every row that read it — the pattern's
subject or object when the rule's body binds it at the top, otherwise (a pattern inside a
sub-select or an EXISTS) the values the enclosing patterns connect it to. It gives up
(``None``: run the whole rule) when nothing connects. :meth:`Rule.head_anchors` finds the
rows that may derive a given fact again, from the template.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rdflib import BNode, Literal, URIRef, Variable
from rdflib.paths import AlternativePath, InvPath, MulPath, SequencePath
from rdflib.plugins.sparql import prepareQuery

from .expressions import Expr, ExprError, Unsupported
from .facts import Facts, Triple
from .plan import Builder, Group, Minus, Optional, Scope, Triple as Pattern, Union, plan_group
from .shacl import FunctionText, RuleText
from .subselect import SubSelect
from .terms import Blank, Lit, Term, from_rdflib

Anchors = dict[int, set[Term]]
"""Values per anchor slot (of the rule's top scope)."""


@dataclass
class _Frame:
    """Where a pattern sits: a sub-select, an EXISTS/MINUS group, or the rule's body."""

    kind: str
    group: Group
    subselect: SubSelect | None = None


@dataclass
class _Site:
    """One triple pattern of a rule's body and the frames around it, innermost last."""

    pattern: Pattern
    frames: list[_Frame]


@dataclass
class Rule:
    """One compiled rule."""

    name: str
    stratum: int
    scope: Scope
    body: Group
    template: list[tuple[Any, Any, Any]]
    sites: list[_Site]
    shared: frozenset[int]  # top slots the body binds on every row: what a rule may be anchored on
    predicates: frozenset[Term | None]  # predicates the body reads (None: a variable predicate)
    produces: frozenset[Term | None] = frozenset()
    _plans: dict[int | None, tuple[Callable, dict[Term | None, int]]] = field(default_factory=dict)
    _by_predicate: dict[Term | None, tuple[_Site, ...]] | None = None
    _direct: dict[Term, list[tuple[int, int, Term | None, Term | None]]] | None = None
    _template: list[tuple[tuple[int, Any], ...]] | None = None

    # -- running ----------------------------------------------------------------------------------

    def run(self, facts: Facts, anchors: Anchors | None = None) -> set[Triple]:
        """The triples the rule derives: everywhere, or only from rows binding an anchor slot to one of its values."""
        out: set[Triple] = set()
        if anchors is None:
            self._emit(self._plan(facts, None)([self.scope.row()]), out)
            return out
        for slot, values in anchors.items():
            if not values:
                continue
            seeds = []
            for v in values:
                row = self.scope.row()
                row[slot] = v
                seeds.append(row)
            self._emit(self._plan(facts, slot)(seeds), out)
        return out

    def _plan(self, facts: Facts, slot: int | None) -> Callable:
        """The plan for an anchor slot, made again when the sizes it was estimated from changed a lot."""
        cached = self._plans.get(slot)
        if cached is not None:
            op, sizes = cached
            if all(_close(sizes[p], facts.size.get(p, 0)) for p in sizes):
                return op
        op, _ = plan_group(self.body, facts, frozenset() if slot is None else frozenset({slot}), frozenset())
        self._plans[slot] = (op, {p: facts.size.get(p, 0) for p in self.predicates if p is not None})
        return op

    def _emit(self, rows: list[list], out: set[Triple]) -> None:
        if self._template is None:
            self._template = [tuple(_getter(term) for term in triple) for triple in self.template]
        add = out.add
        for row in rows:
            blanks: dict[str, Term] = {}
            for (ks, vs), (kp, vp), (ko, vo) in self._template:
                s = row[vs] if ks == 1 else vs if ks == 0 else blanks.setdefault(vs, Blank(f"b{id(row)}-{vs}"))
                p = row[vp] if kp == 1 else vp
                o = row[vo] if ko == 1 else vo if ko == 0 else blanks.setdefault(vo, Blank(f"b{id(row)}-{vo}"))
                if s is None or p is None or o is None or type(p) is not str or type(s) is Lit:
                    continue
                add((s, p, o))

    # -- anchoring ---------------------------------------------------------------------------------

    def reads(self, p: Term) -> bool:
        """Whether a fact with predicate ``p`` may matter to the rule."""
        return p in self.predicates or None in self.predicates

    def anchors(self, facts: Facts, changed: Iterable[Triple]) -> Anchors | None:
        """Anchor values covering every row that may read one of these facts; None when only the whole rule does."""
        if self._by_predicate is None:
            self._index_sites()
        direct, by_predicate = self._direct, self._by_predicate
        assert direct is not None and by_predicate is not None
        found: Anchors = {}
        anywhere = by_predicate.get(None, ())
        for fact in changed:
            p = fact[1]
            for position, slot, s_const, o_const in direct.get(p, ()):
                if (s_const is None or s_const == fact[0]) and (o_const is None or o_const == fact[2]):
                    values = found.get(slot)
                    if values is None:
                        values = found[slot] = set()
                    values.add(fact[position])
            for site in by_predicate.get(p, ()) + anywhere:
                got = self._site_anchors(facts, site, fact)
                if got is None:
                    return None
                for slot, value in got:
                    found.setdefault(slot, set()).add(value)
        return found

    def _index_sites(self) -> None:
        """Sort the body's patterns: those a fact anchors through one of its own ends, and the others."""
        direct: dict[Term, list[tuple[int, int, Term | None, Term | None]]] = {}
        others: dict[Term | None, list[_Site]] = {}
        for site in self.sites:
            s, p, o = site.pattern.triple
            if len(site.frames) == 1 and isinstance(p, URIRef):
                const_s = None if isinstance(s, Variable) else from_rdflib(s)
                const_o = None if isinstance(o, Variable) else from_rdflib(o)
                ends = [(k, self.scope.slot(term)) for k, term in ((0, s), (2, o)) if isinstance(term, Variable)]
                ends = [(k, slot) for k, slot in ends if slot in self.shared]
                if ends:
                    direct.setdefault(str(p), []).append((ends[0][0], ends[0][1], const_s, const_o))
                    continue
            for pred in set(_predicates(p)):
                others.setdefault(pred, []).append(site)
        self._direct = direct
        self._by_predicate = {k: tuple(v) for k, v in others.items()}

    def _site_anchors(self, facts: Facts, site: _Site, fact: Triple) -> list[tuple[int, Term]] | None:
        if not isinstance(site.pattern.triple[1], (URIRef, Variable)):
            return None  # a property path: the fact may be any step of it
        bindings = _match(site.pattern, fact)
        if bindings is None:
            return []
        if not bindings:  # a pattern of constants: any row may depend on it
            return None
        for frame in reversed(site.frames):
            if frame.kind == "top":
                # One variable bound on every row (never one an OPTIONAL or a BIND binds: pre-binding
                # it would change what they do); the pattern's subject when it can be.
                direct = [(s, v) for s, v in bindings if s in self.shared]
                return direct[:1] or None
            if frame.kind == "subselect":
                sub = frame.subselect
                assert sub is not None
                out = _project(sub, bindings)
                if not out:
                    out = _project(sub, _connect(facts, frame.group, site.pattern, bindings))
                if not out:
                    return None
                bindings = out
            else:  # EXISTS / MINUS: move to the variables the group shares with the body
                shared = [(s, v) for s, v in bindings if s in self.shared]
                if not shared:
                    shared = [(s, v) for s, v in _connect(facts, frame.group, site.pattern, bindings) if s in self.shared]
                if not shared:
                    return None
                bindings = shared
        return bindings

    def head_anchors(self, facts: Facts, derived: Iterable[Triple]) -> Anchors | None:
        """Anchors covering every row that may derive one of these triples again; None: the whole rule."""
        found: Anchors = {}
        for s, p, o in derived:
            matched = False
            for ts, tp, to in self.template:
                if not isinstance(tp, Variable) and from_rdflib(tp) != p:
                    continue
                best = None
                for term, value in ((to, o), (ts, s)):
                    if isinstance(term, Variable):
                        slot = self.scope.slot(term)
                        if slot in self.shared:
                            best = (slot, value)
                            break
                    elif not isinstance(term, BNode) and from_rdflib(term) != value:
                        best = ()
                        break
                if best == ():
                    continue
                matched = True
                if best is None:
                    return None
                found.setdefault(best[0], set()).add(best[1])
                break
            if not matched:
                continue
        return found


def _close(planned: int, now: int) -> bool:
    if planned == now:
        return True
    if not planned or not now:
        return False
    return 0.5 <= now / planned <= 2.0


def _getter(term: Any) -> tuple[int, Any]:
    """A template term as (kind, value): 0 a constant, 1 a variable's slot, 2 a blank node's label."""
    if isinstance(term, tuple):
        return 1, term[1]
    if isinstance(term, list):
        return 2, term[1]
    return 0, term


def _match(pattern: Pattern, fact: Triple) -> list[tuple[int, Term]] | None:
    """The pattern's variable slots bound by a fact it matches; None if it cannot match."""
    out = []
    for term, value in zip(pattern.triple, fact):
        if isinstance(term, Variable):
            out.append((pattern.scope.slot(term), value))
        elif isinstance(term, (URIRef, Literal)) and from_rdflib(term) != value:
            return None
    return out


def _project(sub: SubSelect, bindings: list[tuple[int, Term]]) -> list[tuple[int, Term]]:
    correlatable = {i: o for i, o in sub.projected if sub.group_by is None or i in sub.group_vars}
    return [(correlatable[s], v) for s, v in bindings if s in correlatable]


def _connect(facts: Facts, group: Group, pattern: Pattern, bindings: list[tuple[int, Term]]) -> list[tuple[int, Term]]:
    """Bindings of the group's other variables reachable from these through its plain triple patterns."""
    others = [e for e in group.elements if isinstance(e, Pattern) and e is not pattern]
    if not others:
        return []
    bound = frozenset(s for s, _v in bindings)
    op, _ = plan_group(Group(others), facts, bound, frozenset())
    width = max([*(s for s, _v in bindings), *(s for e in others for s in e.sure)]) + 1
    seed: list = [None] * max(width, pattern.scope.width)
    for s, v in bindings:
        seed[s] = v
    return list({(i, x) for r in op([seed]) for i, x in enumerate(r) if x is not None})


# -- compiling -----------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _parse(text: str, prefixes: tuple[tuple[str, str], ...]) -> Any:
    """rdflib's algebra of a query (parsing takes rdflib ~60 ms a rule: once per process)."""
    return prepareQuery(text, initNs=dict(prefixes)).algebra


def compile_rule(text: RuleText, facts_ref: Callable[[], Facts], functions: dict[str, FunctionText]) -> Rule:
    """Parse a rule's CONSTRUCT with rdflib and compile it."""
    try:
        algebra = _parse(text.text, tuple(sorted(text.prefixes.items())))
    except Exception as exc:  # rdflib's parser raises pyparsing errors of many kinds
        raise Unsupported(f"{text.name}: cannot parse its SPARQL: {exc}") from exc
    if algebra.name != "ConstructQuery":
        raise Unsupported(f"{text.name}: a rule must be a CONSTRUCT query")
    scope = Scope()
    builder = Builder(scope, facts_ref, _function_hook(functions, facts_ref))
    where = algebra.p
    while where.name in ("Project", "Distinct", "Reduced"):
        where = where.p
    body = builder.group(where)
    template = [tuple(_template_term(t, scope) for t in triple) for triple in algebra.template]
    sites: list[_Site] = []
    top = _Frame("top", body)
    _collect(body, [top], sites)
    for g in builder.nested:
        _collect(g, [top, _Frame("exists", g)], sites)
    shared = body.sure
    predicates = frozenset(p for site in sites for p in _predicates(site.pattern.triple[1]))
    produces = frozenset(None if isinstance(t[1], tuple) else t[1] for t in template)
    return Rule(text.name, text.stratum, scope, body, template, sites, shared, predicates, produces)


def _template_term(term: Any, scope: Scope) -> Any:
    if isinstance(term, Variable):
        return ("v", scope.slot(term))
    if isinstance(term, BNode):
        return ["b", str(term)]
    return from_rdflib(term)


def _predicates(pred: Any) -> Iterable[Term | None]:
    """The predicates a pattern's verb reads (None: a variable; a path: those it is made of)."""
    if isinstance(pred, Variable):
        yield None
    elif isinstance(pred, URIRef):
        yield str(pred)
    elif isinstance(pred, (SequencePath, AlternativePath)):
        for a in pred.args:
            yield from _predicates(a)
    elif isinstance(pred, InvPath):
        yield from _predicates(pred.arg)
    elif isinstance(pred, MulPath):
        yield from _predicates(pred.path)
    else:
        raise Unsupported(f"property path {pred!r} is not supported")


def _collect(group: Group, frames: list[_Frame], out: list[_Site]) -> None:
    for e in group.elements:
        if isinstance(e, Pattern):
            out.append(_Site(e, frames))
        elif isinstance(e, Group):
            _collect(e, frames, out)
        elif isinstance(e, Union):
            for b in e.branches:
                _collect(b, frames, out)
        elif isinstance(e, Optional):
            _collect(e.group, frames, out)
        elif isinstance(e, Minus):
            _collect(e.group, [*frames, _Frame("exists", e.group)], out)
        elif isinstance(e, SubSelect):
            inner = [*frames, _Frame("subselect", e.body, e)]
            _collect(e.body, inner, out)
            for g in e.nested:
                _collect(g, [*inner, _Frame("exists", g)], out)


def _function_hook(table: dict[str, FunctionText], facts_ref: Callable[[], Facts]) -> Callable[[str, list[Expr]], Expr | None]:
    """Custom functions: a ``sh:SPARQLFunction`` runs its SELECT with its parameters bound to the arguments."""
    compiled: dict[str, tuple[Scope, Group, list[int], int]] = {}

    def resolve(iri: str, args: list[Expr]) -> Expr | None:
        fn = table.get(iri)
        if fn is None:
            return None
        if len(args) != len(fn.parameters):
            raise Unsupported(f"{iri} takes {len(fn.parameters)} arguments, got {len(args)}")

        def call(row: list) -> Term:
            if iri not in compiled:
                select = _parse(fn.text, tuple(sorted(fn.prefixes.items())))
                scope = Scope()
                where = select.p
                while where.name in ("Project", "Distinct", "Reduced"):
                    where = where.p
                group = Builder(scope, facts_ref, resolve).group(where)
                compiled[iri] = (scope, group, [scope.slot(Variable(n)) for n in fn.parameters], scope.slot(select.PV[0]))
            scope, group, params, result = compiled[iri]
            seed = scope.row()
            for slot, arg in zip(params, args):
                seed[slot] = arg(row)
            op, _ = plan_group(group, facts_ref(), frozenset(params), frozenset())
            for r in op([seed]):
                if r[result] is not None:
                    return r[result]
            raise ExprError(f"{iri} returned nothing")
        return call
    return resolve
