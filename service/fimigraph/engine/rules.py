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
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from rdflib import BNode, Literal, URIRef, Variable
from rdflib.paths import AlternativePath, InvPath, MulPath, SequencePath
from rdflib.plugins.sparql import prepareQuery

from .expressions import Expr, ExprError, Unsupported
from .facts import Facts, Triple
from .algebra import Builder
from .plan import Group, Minus, Optional, Scope, Triple as Pattern, Union, plan_group
from .shacl import FunctionText, RuleText
from .subselect import SubSelect
from .terms import Blank, Lit, Term, from_rdflib

Anchors = dict[int, set[Term]]
"""Values per anchor slot (of the rule's top scope)."""


@dataclass(frozen=True)
class Slot:
    """A template's variable: the row slot its value comes from."""

    slot: int


@dataclass(frozen=True)
class Fresh:
    """A template's blank node: a new one for each row."""

    label: str


@dataclass(frozen=True)
class _Frame:
    """One level around a pattern: the rule's body, a sub-select, or an EXISTS/MINUS group.

    ``home``: the group of that level that holds the pattern, or the element leading to it:
    its other triple patterns connect the pattern's variables to that level's.
    """

    kind: str
    sure: frozenset[int]  # the variables that level binds on every row (the body's, a sub-select's)
    home: Group | None = None
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
    _connections: dict[tuple, Callable] = field(default_factory=dict)
    _by_template_predicate: dict[Term | None, list[tuple[Any, Any, Any]]] | None = None

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

    def relevant(self, by_predicate: dict[Term, list[Triple]]) -> list[Triple]:
        """Of facts grouped by predicate, those the rule may read."""
        if None in self.predicates:
            return [t for group in by_predicate.values() for t in group]
        return [t for p in self.predicates if p in by_predicate for t in by_predicate[p]]

    def anchors(self, facts: Facts, changed: Iterable[Triple]) -> Anchors | None:
        """Anchor values covering every row that may read one of these facts; None when only the whole rule does."""
        if self._by_predicate is None:
            self._index_sites()
        direct, by_predicate = self._direct, self._by_predicate
        assert direct is not None and by_predicate is not None
        found: Anchors = {}
        anywhere = by_predicate.get(None, ())
        waiting: dict[int, tuple[_Site, list[Triple]]] = {}  # the facts each other site must connect, at once
        for fact in changed:
            p = fact[1]
            for position, slot, s_const, o_const in direct.get(p, ()):
                if (s_const is None or s_const == fact[0]) and (o_const is None or o_const == fact[2]):
                    values = found.get(slot)
                    if values is None:
                        values = found[slot] = set()
                    values.add(fact[position])
            for site in by_predicate.get(p, ()) + anywhere:
                waiting.setdefault(id(site), (site, []))[1].append(fact)
        for site, facts_of_site in waiting.values():
            got = self._site_anchors(facts, site, facts_of_site)
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

    def _site_anchors(self, facts: Facts, site: _Site, matched: list[Triple]) -> list[tuple[int, Term]] | None:
        """Anchors for the rows that read these facts through one pattern nested in sub-selects or EXISTS."""
        if not isinstance(site.pattern.triple[1], (URIRef, Variable)):
            return None  # a property path: the fact may be any step of it
        batch = [b for b in (_match(site.pattern, fact) for fact in matched) if b is not None]
        if not batch:
            return []
        if not all(batch):  # a pattern of constants: any row may depend on it
            return None
        skip: Pattern | None = site.pattern
        for frame in reversed(site.frames):
            assert frame.home is not None
            if frame.kind == "subselect":
                sub = frame.subselect
                assert sub is not None
                keep = lambda found: _project(sub, found)  # noqa: E731
            else:
                # The body, or an EXISTS/MINUS group: on to variables the body binds on every row
                # (never one an OPTIONAL or a BIND binds: pre-binding it would change what they do).
                keep = lambda found: [(s, v) for s, v in found if s in frame.sure]  # noqa: E731
            out = [kept for b in batch if (kept := keep(b))]
            rest = [b for b in batch if not keep(b)]
            if rest:
                connected = self._connect(facts, frame.home, skip, rest)
                if connected is None:
                    return None  # nothing to connect through: only the whole rule is sure
                kept = keep(connected)
                if connected and not kept:
                    return None
                if kept:
                    out.append(kept)
            # Connecting to no row means no row reads those facts now (the other side of the change looks too).
            if not out:
                return []
            batch = out
            skip = None
        # One variable suffices: all its values.
        slot = min(s for b in batch for s, _v in b)
        return [(s, v) for b in batch for s, v in b if s == slot]

    def _connect(self, facts: Facts, group: Group, skip: Pattern | None,
                 batch: list[list[tuple[int, Term]]]) -> list[tuple[int, Term]] | None:
        """Bindings of the group's variables reachable from each of these through its triple patterns (None: it has none).

        A UNION's branches are alternatives: each is tried with the group's own patterns.
        """
        alternatives = _alternatives(group, skip)
        if not any(alternatives):
            return None
        bound = frozenset(s for b in batch for s, _v in b)
        found: set[tuple[int, Term]] = set()
        for k, patterns in enumerate(alternatives):
            if not patterns:
                continue
            key = (id(group), id(skip), k, bound)
            op = self._connections.get(key)
            if op is None:
                op = self._connections[key] = plan_group(Group(patterns), facts, bound, frozenset())[0]
            seeds = []
            for b in batch:
                seed: list = [None] * patterns[0].scope.width
                for s, v in b:
                    seed[s] = v
                seeds.append(seed)
            found.update((i, x) for r in op(seeds) for i, x in enumerate(r) if x is not None)
        return list(found)

    def head_anchors(self, facts: Facts, derived: Iterable[Triple], extremes: Iterable[Term] = ()) -> Anchors | None:
        """Anchors covering every row that may derive one of these triples again; None: the whole rule.

        A row that writes a node writes every triple the template gives that node: a node is
        covered when one of its triples binds a template variable the body binds on every row
        (``?link fimi:linkSubject ?s`` binds ``?s``), whatever its other triples.
        """
        found: Anchors = {}
        if self._by_template_predicate is None:
            index: dict[Term | None, list[tuple[Any, Any, Any]]] = {}
            for triple in self.template:
                index.setdefault(None if isinstance(triple[1], Slot) else triple[1], []).append(triple)
            self._by_template_predicate = index
        # Per node, the template variables its triples bind to the node's only value for the property
        # (its subject, its target: every row that writes the node binds them alike), not to one of
        # several (its premises: one row each).
        doomed: dict[Term, dict[Term, set[Term]]] = {}
        for s, p, o in derived:
            doomed.setdefault(s, {}).setdefault(p, set()).add(o)
        for node, properties in doomed.items():
            options: list[tuple[int, int, Term]] = []
            matched = False
            for p, values in properties.items():
                for ts, _tp, to in self._by_template_predicate.get(p, []) + self._by_template_predicate.get(None, []):
                    if not _fits(ts, node) or not any(_fits(to, o) for o in values):
                        continue
                    matched = True
                    if isinstance(ts, Slot) and ts.slot in self.shared:
                        options.append((0, ts.slot, node))
                    # (An extreme property keeps one value of the many its rows bind: no guide.)
                    if (isinstance(to, Slot) and to.slot in self.shared and p not in extremes
                            and len(values | facts.objects(node, p)) == 1):
                        (value,) = values
                        options.append((facts.degree(value), to.slot, value))
            if not matched:
                continue
            if not options:
                return None
            # The one few facts mention: a node's subject, not its state or kind.
            _degree, slot, value = min(options, key=lambda option: (option[0], option[1], str(option[2])))
            found.setdefault(slot, set()).add(value)
        return found


def _fits(template_term: Any, value: Term) -> bool:
    """Whether a template term (a constant, a variable, a blank node) can produce a value."""
    return isinstance(template_term, (Slot, Fresh)) or template_term == value


def _close(planned: int, now: int) -> bool:
    if planned == now:
        return True
    if not planned or not now:
        return False
    return 0.5 <= now / planned <= 2.0


def _getter(term: Any) -> tuple[int, Any]:
    """A template term as (kind, value): 0 a constant, 1 a variable's slot, 2 a blank node's label."""
    if isinstance(term, Slot):
        return 1, term.slot
    if isinstance(term, Fresh):
        return 2, term.label
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


def _alternatives(group: Group, skip: Pattern | None) -> list[list[Pattern]]:
    """The group's required triple patterns, once per combination of its UNIONs' branches."""
    own = [e for e in group.elements if isinstance(e, Pattern) and e is not skip]
    combos = [own]
    for e in group.elements:
        if isinstance(e, Union):
            combos = [c + alt for c in combos for b in e.branches for alt in _alternatives(b, skip)]
        elif isinstance(e, Group):
            combos = [c + alt for c in combos for alt in _alternatives(e, skip)]
    return combos


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
    _collect(body, [_Frame("top", body.sure)], sites)
    for g in builder.nested:
        _collect(g, [_Frame("top", body.sure, home=body), _Frame("exists", body.sure)], sites)
    shared = body.sure
    predicates = frozenset(p for site in sites for p in _predicates(site.pattern.triple[1]))
    produces = frozenset(None if isinstance(t[1], Slot) else t[1] for t in template)
    return Rule(text.name, text.stratum, scope, body, template, sites, shared, predicates, produces)


def _template_term(term: Any, scope: Scope) -> Any:
    if isinstance(term, Variable):
        return Slot(scope.slot(term))
    if isinstance(term, BNode):
        return Fresh(str(term))
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
    """Every triple pattern under ``group``, with the frames around it (the innermost one's home still to set)."""
    here = [*frames[:-1], replace(frames[-1], home=group)]
    for e in group.elements:
        if isinstance(e, Pattern):
            out.append(_Site(e, here))
        elif isinstance(e, Group):
            _collect(e, frames, out)
        elif isinstance(e, Union):
            for b in e.branches:
                _collect(b, frames, out)
        elif isinstance(e, Optional):
            _collect(e.group, frames, out)
        elif isinstance(e, Minus):
            _collect(e.group, [*here, _Frame("exists", here[-1].sure)], out)
        elif isinstance(e, SubSelect):
            inner = [*here, _Frame("subselect", e.body.sure, subselect=e)]
            _collect(e.body, inner, out)
            for g in e.nested:
                _collect(g, [*inner[:-1], replace(inner[-1], home=e.body), _Frame("exists", e.body.sure)], out)


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
