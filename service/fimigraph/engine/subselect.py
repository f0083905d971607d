"""Sub-selects in rule bodies: projection, DISTINCT, GROUP BY with aggregates, HAVING.

A sub-select has its own scope. When the outer row already binds one of its projected
variables that it groups by (or it does not aggregate), the sub-select runs for that value
only — the same answer, since that group does not depend on the others — so that a rule
anchored on a node reads that node's group rather than every group. Otherwise it runs once
per batch and its rows are joined to the outer ones.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from rdflib import Variable
from rdflib.plugins.sparql.parserutils import CompValue

from .expressions import Expr, ExprError, Unsupported, holds
from .facts import Facts
from .patterns import Op, Rows
from .algebra import Builder
from .plan import Element, Scope, plan_group
from .terms import XSD_DECIMAL, XSD_INTEGER, Lit, Term, decimal, integer, string, value

def order_key(term: Term | None) -> tuple[int, Any, str]:
    """SPARQL's order of terms: unbound, blank nodes, IRIs, then literals (numbers and dates by value)."""
    if term is None:
        return (0, 0, "")
    if type(term) is str:
        return (2, term, "")
    if type(term) is not Lit:
        return (1, str(term), "")
    try:
        v = value(term)
    except ValueError:
        return (6, term[0], term[1])
    if isinstance(v, bool):
        return (5, int(v), term[1])
    if isinstance(v, (int, float, Decimal)):
        return (3, v, "")
    if isinstance(v, str):
        return (4, v, term[2])
    return (5, v.isoformat(), term[1])


class SubSelect(Element):
    """``{ SELECT … WHERE { … } GROUP BY … }`` as an element of the enclosing group."""

    def __init__(self, node: CompValue, outer: Scope, facts_ref: Callable[[], Facts], functions: Any) -> None:
        self.outer = outer
        self.inner = Scope()
        self.facts_ref = facts_ref
        builder = Builder(self.inner, facts_ref, functions)
        self.distinct = False
        projection: list[Variable] = []
        while node.name in ("Distinct", "Reduced", "OrderBy", "Project", "Slice"):
            if node.name == "Slice":
                raise Unsupported("LIMIT and OFFSET in a rule's sub-select are not supported")
            if node.name == "Distinct":
                self.distinct = True
            if node.name == "Project":
                projection = list(node.PV)
            node = node.p
        after: list[CompValue] = []
        while node.name in ("Extend", "Filter") and _has_aggregation(node):
            after.append(node)
            node = node.p
        self.aggregates: list[tuple[str, Any, int, bool, str]] = []
        self.group_by: list[Expr] | None = None
        self.group_vars: set[int] = set()
        if node.name == "AggregateJoin":
            grouping = node.p
            where = grouping.p
            self.body = builder.group(where)
            exprs = grouping.expr
            if exprs is None:
                self.group_by = []
            else:
                self.group_by = [builder.expression(e)[0] for e in exprs]
                self.group_vars = {self.inner.slot(e) for e in exprs if isinstance(e, Variable)}
            for a in node.A:
                arg = a.vars
                compiled = None if arg == "*" else builder.expression(arg)[0]
                self.aggregates.append((a.name, compiled, self.inner.slot(a.res), bool(a.distinct),
                                        str(a.separator) if a.get("separator") is not None else " "))
        else:
            self.body = builder.group(node)
        self.after: list[tuple[str, int, Expr]] = []
        for step in reversed(after):
            expr, _reads = builder.expression(step.expr)
            self.after.append(("extend", self.inner.slot(step.var), expr) if step.name == "Extend" else ("filter", -1, expr))
        self.nested = builder.nested
        self.index = self.inner.slot(Variable("__outer_row__"))
        self.projected = [(self.inner.slot(v), outer.slot(v)) for v in projection]
        self.sure = frozenset(o for _i, o in self.projected)

    def correlated(self, bound: frozenset[int]) -> list[tuple[int, int]]:
        """The projected variables the outer rows bind and the sub-select may be run for one value of."""
        return [(i, o) for i, o in self.projected if o in bound and (self.group_by is None or i in self.group_vars)]

    def estimate(self, facts: Facts, bound: frozenset[int]) -> float:
        return 1.0 if self.correlated(bound) else 1e4

    def op(self, facts: Facts, bound: frozenset[int], maybe: frozenset[int]) -> Op:
        pairs = self.correlated(bound)
        inner_bound = frozenset([self.index, *(i for i, _o in pairs)])
        body, _ = plan_group(self.body, facts, inner_bound, frozenset())
        width = self.inner.width

        def run(rows: Rows) -> Rows:
            if not rows:
                return rows
            if pairs:
                seeds = []
                for k, r in enumerate(rows):
                    seed = [None] * width
                    seed[self.index] = k
                    for i, o in pairs:
                        seed[i] = r[o]
                    seeds.append(seed)
                results = self._finish(body(seeds), seeds)
                out = []
                for x in results:
                    merged = _merge(rows[x[self.index]], x, self.projected)
                    if merged is not None:
                        out.append(merged)
                return out
            seed = [None] * width
            seed[self.index] = 0
            results = self._finish(body([seed]), [seed])
            out = []
            for r in rows:
                for x in results:
                    merged = _merge(r, x, self.projected)
                    if merged is not None:
                        out.append(merged)
            return out
        return run

    def _finish(self, rows: Rows, seeds: Rows) -> Rows:
        """Aggregate, extend, filter and project the body's rows (each carries its seed's index)."""
        if self.group_by is not None:
            rows = self._aggregate(rows, seeds)
        for kind, slot, expr in self.after:
            if kind == "extend":
                for r in rows:
                    try:
                        r[slot] = expr(r)
                    except ExprError:
                        pass
            else:
                rows = [r for r in rows if holds(expr, r)]
        if self.distinct:
            seen = set()
            unique = []
            for r in rows:
                key = (r[self.index], *(r[i] for i, _o in self.projected))
                if key not in seen:
                    seen.add(key)
                    unique.append(r)
            rows = unique
        return rows

    def _aggregate(self, rows: Rows, seeds: Rows) -> Rows:
        groups: dict[tuple, list] = {}
        for r in rows:
            try:
                key = (r[self.index], *(e(r) for e in self.group_by or ()))
            except ExprError:
                key = (r[self.index], *([None] * len(self.group_by or ())))
            groups.setdefault(key, []).append(r)
        if not self.group_by:  # one group per seed, even an empty one
            for seed in seeds:
                groups.setdefault((seed[self.index],), [])
        out = []
        for key, members in groups.items():
            row = (members[0] if members else seeds[key[0]]).copy()
            for name, expr, slot, distinct, separator in self.aggregates:
                row[slot] = _aggregate(name, expr, members, distinct, separator)
            out.append(row)
        return out


def _merge(outer: list, inner: list, projected: list[tuple[int, int]]) -> list | None:
    merged = outer.copy()
    for i, o in projected:
        v = inner[i]
        if v is None:
            continue
        if merged[o] is None:
            merged[o] = v
        elif merged[o] != v:
            return None
    return merged


def _aggregate(name: str, expr: Expr | None, rows: Rows, distinct: bool, separator: str) -> Term | None:
    if expr is None:  # COUNT(*)
        values: list[Any] = [tuple(r) for r in rows] if distinct else rows
        return integer(len(set(values) if distinct else values))
    found: list[Term] = []
    for r in rows:
        try:
            found.append(expr(r))
        except ExprError:
            if name not in ("Aggregate_Count", "Aggregate_Sample"):
                return None
    if distinct:
        found = list(dict.fromkeys(found))
    if name == "Aggregate_Count":
        return integer(len(found))
    if name == "Aggregate_Sample":
        return found[0] if found else None
    if name in ("Aggregate_Min", "Aggregate_Max"):
        if not found:
            return None
        pick = min if name == "Aggregate_Min" else max
        return pick(found, key=order_key)
    if name == "Aggregate_GroupConcat":
        return string(separator.join(t[0] if type(t) is Lit else str(t) for t in found))
    if name in ("Aggregate_Sum", "Aggregate_Avg"):
        total: Any = 0
        kind = XSD_INTEGER
        for t in found:
            if type(t) is not Lit:
                return None
            v = value(t)
            if isinstance(v, bool) or not isinstance(v, (int, float, Decimal)):
                return None
            if t[1] != XSD_INTEGER and not isinstance(v, int):
                kind = XSD_DECIMAL
            total = total + (Decimal(v) if isinstance(total, Decimal) or isinstance(v, Decimal) else v)
        if name == "Aggregate_Sum":
            return integer(total) if kind == XSD_INTEGER and isinstance(total, int) else decimal(Decimal(total))
        return decimal(Decimal(total) / len(found)) if found else integer(0)
    raise Unsupported(f"aggregate {name} is not supported")


def _has_aggregation(node: Any) -> bool:
    while isinstance(node, CompValue):
        if node.name == "AggregateJoin":
            return True
        node = node.get("p")
    return False


__all__ = ["SubSelect", "order_key"]
