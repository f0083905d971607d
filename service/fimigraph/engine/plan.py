"""Rule bodies, as rdflib's SPARQL algebra, compiled into left-deep plans over the facts in memory.

A group graph pattern becomes a list of elements (triple patterns, unions, nested groups,
VALUES, sub-selects; OPTIONAL, MINUS and BIND; filters). A plan orders them for the
variables bound when it runs: at each step the cheapest element that may go next by
SPARQL's semantics (an element waits for the OPTIONAL or BIND that binds one of its
variables; OPTIONAL, MINUS and BIND keep their relative order and wait for the elements
before them that share a variable), estimated from the facts' statistics; a filter runs as
soon as everything that binds its variables has. Every operator takes and returns a batch
of rows (lists of terms, one slot per variable of the scope).
"""

from __future__ import annotations

from typing import Any

from rdflib import Variable
from rdflib.paths import Path

from .expressions import Expr, ExprError, holds
from .facts import Facts
from .patterns import BOUND, FREE, MAYBE, Op, Position, Rows, pattern_op
from .terms import from_rdflib

_NONE: dict = {}


class Scope:
    """The variables of one query level (a rule's body, a sub-select), each with its row slot."""

    def __init__(self) -> None:
        self.slots: dict[Variable, int] = {}

    def slot(self, v: Variable) -> int:
        """The slot of a variable, allocated on first use."""
        found = self.slots.get(v)
        if found is None:
            found = self.slots[v] = len(self.slots)
        return found

    @property
    def width(self) -> int:
        """How many slots a row of this scope has."""
        return len(self.slots)

    def row(self) -> list:
        """An empty row."""
        return [None] * len(self.slots)


class Element:
    """One element of a group: what it binds, what it reads, and how to run it given what is bound."""

    barrier = False  # OPTIONAL, MINUS and BIND keep their order
    sure: frozenset[int] = frozenset()  # slots it binds on every row
    maybe: frozenset[int] = frozenset()  # slots it may bind
    reads: frozenset[int] = frozenset()  # slots it only reads (filters, BIND expressions)

    @property
    def slots(self) -> frozenset[int]:
        """Every slot it touches."""
        return self.sure | self.maybe | self.reads

    def estimate(self, facts: Facts, bound: frozenset[int]) -> float:
        """Rows out per row in."""
        return 1.0

    def op(self, facts: Facts, bound: frozenset[int], maybe: frozenset[int]) -> Op:
        """The operator for these bindings."""
        raise NotImplementedError


def _position(term: Any, scope: Scope, bound: frozenset[int], maybe: frozenset[int]) -> Position:
    if isinstance(term, Variable):
        slot = scope.slot(term)
        return Position(slot=slot, state=BOUND if slot in bound else MAYBE if slot in maybe else FREE)
    return Position(const=from_rdflib(term))


class Triple(Element):
    """A triple pattern (its predicate may be a property path)."""

    def __init__(self, triple: tuple[Any, Any, Any], scope: Scope) -> None:
        self.triple, self.scope = triple, scope
        self.sure = frozenset(scope.slot(t) for t in triple if isinstance(t, Variable))

    def estimate(self, facts: Facts, bound: frozenset[int]) -> float:
        s, p, o = self.triple
        if isinstance(p, Path):
            return 2.0 if self._bound(s, bound) or self._bound(o, bound) else 1e6
        pred = None if isinstance(p, Variable) else from_rdflib(p)
        const_o = None if isinstance(o, Variable) else from_rdflib(o)
        return facts.estimate(pred, self._bound(s, bound), self._bound(o, bound), const_o)

    def _bound(self, term: Any, bound: frozenset[int]) -> bool:
        return not isinstance(term, Variable) or self.scope.slot(term) in bound

    def op(self, facts: Facts, bound: frozenset[int], maybe: frozenset[int]) -> Op:
        s, p, o = (_position(t, self.scope, bound, maybe) if not isinstance(t, Path) else t for t in self.triple)
        return pattern_op(facts, s, p, o)  # type: ignore[arg-type]


class Values(Element):
    """An inline VALUES block."""

    def __init__(self, rows: list[dict[Variable, Any]], scope: Scope) -> None:
        names = sorted({v for r in rows for v in r}, key=str)
        self.slots_in_order = [scope.slot(v) for v in names]
        self.rows = [[None if r.get(v) in (None, "UNDEF") else from_rdflib(r[v]) for v in names] for r in rows]
        undef = {i for row in self.rows for i, x in zip(self.slots_in_order, row) if x is None}
        self.sure = frozenset(self.slots_in_order) - undef
        self.maybe = frozenset(undef)

    def estimate(self, facts: Facts, bound: frozenset[int]) -> float:
        return 0.5 if set(self.slots_in_order) <= bound else float(len(self.rows))

    def op(self, facts: Facts, bound: frozenset[int], maybe: frozenset[int]) -> Op:
        pairs = list(zip(self.slots_in_order, range(len(self.slots_in_order))))

        def join(rows: Rows) -> Rows:
            out = []
            for r in rows:
                for values in self.rows:
                    n = r.copy()
                    for slot, k in pairs:
                        v = values[k]
                        if v is None:
                            continue
                        if n[slot] is None:
                            n[slot] = v
                        elif n[slot] != v:
                            break
                    else:
                        out.append(n)
            return out
        return join


class Group(Element):
    """A group graph pattern: its elements, planned together."""

    def __init__(self, elements: list[Element]) -> None:
        self.elements = elements
        self.orders: dict[tuple, tuple[list[int], float]] = {}  # planned orders, by what is bound and the facts' sizes
        sure: set[int] = set()
        maybe: set[int] = set()
        reads: set[int] = set()
        for e in elements:
            sure |= e.sure
            maybe |= e.maybe
            reads |= e.reads
        self.sure, self.maybe, self.reads = frozenset(sure), frozenset(maybe - sure), frozenset(reads - sure - maybe)

    def estimate(self, facts: Facts, bound: frozenset[int]) -> float:
        return best_order(self, facts, bound)[1]

    def op(self, facts: Facts, bound: frozenset[int], maybe: frozenset[int]) -> Op:
        return plan_group(self, facts, bound, maybe)[0]


class Isolated(Element):
    """A nested group evaluated on its own, then joined (its filters read variables it does not bind)."""

    def __init__(self, group: Group) -> None:
        self.group = group
        self.sure, self.maybe = group.sure, group.maybe

    def estimate(self, facts: Facts, bound: frozenset[int]) -> float:
        return self.group.estimate(facts, frozenset())

    def op(self, facts: Facts, bound: frozenset[int], maybe: frozenset[int]) -> Op:
        inner = self.group.op(facts, frozenset(), frozenset())
        slots = sorted(self.group.sure | self.group.maybe)

        def join(rows: Rows) -> Rows:
            if not rows:
                return rows
            found = inner([[None] * len(rows[0])])
            out = []
            for r in rows:
                for x in found:
                    n = r.copy()
                    for i in slots:
                        v = x[i]
                        if v is None:
                            continue
                        if n[i] is None:
                            n[i] = v
                        elif n[i] != v:
                            break
                    else:
                        out.append(n)
            return out
        return join


class Union(Element):
    """Alternative groups."""

    def __init__(self, branches: list[Group]) -> None:
        self.branches = branches
        sure = frozenset.intersection(*(b.sure for b in branches))
        self.sure = sure
        self.maybe = frozenset().union(*(b.sure | b.maybe for b in branches)) - sure
        self.reads = frozenset().union(*(b.reads for b in branches)) - self.sure - self.maybe

    def estimate(self, facts: Facts, bound: frozenset[int]) -> float:
        return sum(b.estimate(facts, bound) for b in self.branches)

    def op(self, facts: Facts, bound: frozenset[int], maybe: frozenset[int]) -> Op:
        ops = [b.op(facts, bound, maybe) for b in self.branches]

        last = len(ops) - 1

        def union(rows: Rows) -> Rows:
            out: Rows = []
            for k, op in enumerate(ops):
                out.extend(op(rows if k == last else [r.copy() for r in rows]))
            return out
        return union


class Optional(Element):
    """OPTIONAL { group } with the filter of its group (a left join)."""

    barrier = True

    def __init__(self, group: Group, expr: Expr | None, reads: frozenset[int]) -> None:
        self.group, self.expr = group, expr
        self.maybe = group.sure | group.maybe
        self.reads = (group.reads | reads) - self.maybe

    def op(self, facts: Facts, bound: frozenset[int], maybe: frozenset[int]) -> Op:
        fast = self._lookup(facts, bound)
        if fast is not None:
            return fast
        inner = self.group.op(facts, bound, maybe)
        expr = self.expr
        # The group's operators write into the rows they get: a row the group does not match must come
        # back unchanged, so it gets a copy unless the group is one triple pattern (which writes only on a match).
        copy = expr is not None or len(self.group.elements) > 1 or not isinstance(self.group.elements[0], Triple)

        def left_join(rows: Rows) -> Rows:
            out = []
            for r in rows:
                found = inner([r.copy() if copy else r])
                if expr is not None:
                    found = [x for x in found if holds(expr, x)]
                if found:
                    out.extend(found)
                else:
                    out.append(r)
            return out
        return left_join


    def _lookup(self, facts: Facts, bound: frozenset[int]) -> Op | None:
        """OPTIONAL { ?bound <p> ?free }, the usual case, as one index lookup per row (no nested plan)."""
        if self.expr is not None or len(self.group.elements) != 1 or not isinstance(self.group.elements[0], Triple):
            return None
        s, p, o = self.group.elements[0].triple
        scope = self.group.elements[0].scope
        if not (isinstance(s, Variable) and isinstance(o, Variable) and not isinstance(p, (Variable, Path))):
            return None
        si, oi = scope.slot(s), scope.slot(o)
        if si not in bound or oi in bound or si == oi:
            return None
        spo, pred = facts.spo, from_rdflib(p)
        empty: frozenset = frozenset()

        def left_join(rows: Rows) -> Rows:
            out = []
            for r in rows:
                found = spo.get(r[si], _NONE).get(pred, empty)
                if len(found) <= 1:
                    for r[oi] in found:
                        pass
                    out.append(r)
                    continue
                for v in found:
                    n = r.copy()
                    n[oi] = v
                    out.append(n)
            return out
        return left_join


class Minus(Element):
    """MINUS { group }: rows with a compatible, overlapping match in the group are dropped."""

    barrier = True

    def __init__(self, group: Group) -> None:
        self.group = group
        self.reads = group.sure | group.maybe | group.reads

    def op(self, facts: Facts, bound: frozenset[int], maybe: frozenset[int]) -> Op:
        inner = self.group.op(facts, frozenset(), frozenset())
        shared = sorted(self.group.sure | self.group.maybe)

        def minus(rows: Rows) -> Rows:
            others = inner([[None] * (len(rows[0]) if rows else 0)]) if rows else []
            out = []
            for r in rows:
                for x in others:
                    overlap = [i for i in shared if r[i] is not None and x[i] is not None]
                    if overlap and all(r[i] == x[i] for i in overlap):
                        break
                else:
                    out.append(r)
            return out
        return minus


class Bind(Element):
    """BIND(expr AS ?var): the variable stays unbound when the expression errs."""

    barrier = True

    def __init__(self, slot: int, expr: Expr, reads: frozenset[int]) -> None:
        self.slot, self.expr = slot, expr
        self.maybe = frozenset({slot})
        self.reads = reads - {slot}

    def op(self, facts: Facts, bound: frozenset[int], maybe: frozenset[int]) -> Op:
        slot, expr = self.slot, self.expr

        def extend(rows: Rows) -> Rows:
            # In place: no other list holds these rows (a UNION hands each branch its own copies).
            for r in rows:
                try:
                    r[slot] = expr(r)
                except ExprError:
                    pass
            return rows
        return extend


class Filter(Element):
    """A group's FILTER."""

    def __init__(self, expr: Expr, reads: frozenset[int]) -> None:
        self.expr = expr
        self.reads = reads

    def op(self, facts: Facts, bound: frozenset[int], maybe: frozenset[int]) -> Op:
        expr = self.expr
        return lambda rows: [r for r in rows if holds(expr, r)]


def plan_group(group: Group, facts: Facts, bound: frozenset[int], maybe: frozenset[int]) -> tuple[Op, float]:
    """Order a group's elements for what is bound; return its operator and its estimated rows per input row.

    Each possible first element is tried, then the cheapest element that may go next, preferring
    one joined to what is bound (a cross product multiplies rows); the order whose intermediate
    results are estimated smallest in total wins.
    """
    elements = group.elements
    order, rows = best_order(group, facts, bound)
    steps: list[Op] = []
    for i in order:
        e = elements[i]
        steps.append(e.op(facts, bound, maybe))
        bound = bound | e.sure
        maybe = (maybe | e.maybe) - bound

    def run(rows: Rows) -> Rows:
        for step in steps:
            if not rows:
                return rows
            rows = step(rows)
        return rows
    return run, rows


STARTS = 4
"""How many of the cheapest first elements planning tries."""


def best_order(group: Group, facts: Facts, bound: frozenset[int]) -> tuple[list[int], float]:
    """The order of a group's elements for what is bound (see :func:`plan_group`), and its estimated rows per input row."""
    key = (bound, facts.version())
    cached = group.orders.get(key)
    if cached is not None:
        return cached
    elements = group.elements
    starts = sorted(_ready(elements, list(range(len(elements))), bound, facts))[:STARTS]
    best: tuple[float, list[int], float] | None = None
    for _cost, first in starts:
        order, total, rows = _greedy(elements, first, bound, facts)
        if best is None or total < best[0]:
            best = (total, order, rows)
    found = (best[1], best[2]) if best else ([], 1.0)
    if len(group.orders) > 64:
        group.orders.clear()
    group.orders[key] = found
    return found


def _ready(elements: list[Element], pending: list[int], bound: frozenset[int], facts: Facts) -> list[tuple[float, int]]:
    """The elements that may go next by SPARQL's semantics, with their estimated rows out per row in."""
    binders = {i: elements[i].sure | elements[i].maybe for i in pending}
    ready = []
    for i in pending:
        e = elements[i]
        if isinstance(e, Filter):
            # After every element of the group that can bind one of its variables.
            if all(not (binders[j] & e.reads) for j in pending if j != i):
                ready.append((0.5, i))
            continue
        earlier = [j for j in pending if j < i and not isinstance(elements[j], Filter)]
        if e.barrier:
            if any(elements[j].barrier or (elements[j].slots & e.slots) for j in earlier):
                continue
            ready.append((1.0, i))
        elif not any(elements[j].barrier and (binders[j] & e.slots) for j in earlier):
            estimate = e.estimate(facts, bound)
            if bound and not (e.slots & bound) and estimate > 1:
                estimate *= 1000.0  # not joined to anything bound: a cross product
            ready.append((estimate, i))
    if not ready and pending:  # cannot happen for a well-formed group; keep the written order
        ready = [(1.0, pending[0])]
    return ready


def _greedy(elements: list[Element], first: int, bound: frozenset[int], facts: Facts) -> tuple[list[int], float, float]:
    """An order starting with ``first``, then always the cheapest ready element (filters as soon as they may run)."""
    pending = list(range(len(elements)))
    order: list[int] = []
    rows, total = 1.0, 0.0
    pick = first
    while True:
        e = elements[pick]
        cost = 0.5 if isinstance(e, Filter) else 1.0 if e.barrier else max(e.estimate(facts, bound), 0.1)
        rows *= cost
        total += rows
        order.append(pick)
        pending.remove(pick)
        bound = bound | e.sure
        if not pending:
            return order, total, rows
        ready = _ready(elements, pending, bound, facts)
        filters = [i for _c, i in ready if isinstance(elements[i], Filter)]
        pick = filters[0] if filters else min(ready)[1]
