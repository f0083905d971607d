"""A rule body in rdflib's SPARQL algebra, turned into the elements :mod:`.plan` orders.

rdflib translates a group graph pattern into nested Join, LeftJoin, Filter, Extend, Minus,
Union and ToMultiSet nodes; the builder flattens them back into the group's elements in
their written order (a nested group whose expressions read outer variables stays apart, as
SPARQL evaluates it bottom-up), compiles their expressions, and gives EXISTS and custom
functions what they need to run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rdflib import BNode, Variable
from rdflib.plugins.sparql.algebra import translateGroupGraphPattern
from rdflib.plugins.sparql.parserutils import CompValue

from .expressions import Compiler, Expr, Unsupported
from .facts import Facts
from .patterns import Op
from .plan import Bind, Element, Filter, Group, Isolated, Minus, Optional, Scope, Triple, Union, Values
from .terms import Term, boolean

Functions = Callable[[str, list[Expr]], "Expr | None"]


class Builder:
    """Turns rdflib algebra into elements of a scope; ``functions`` resolves custom function IRIs."""

    def __init__(self, scope: Scope, facts_ref: Callable[[], Facts], functions: Functions | None = None) -> None:
        self.scope = scope
        self.facts_ref = facts_ref
        self.functions = functions
        self.nested: list[Group] = []  # the groups of EXISTS and NOT EXISTS, for anchoring

    def expression(self, e: Any) -> tuple[Expr, frozenset[int]]:
        """Compile an expression; return it with the slots it reads."""
        expr = Compiler(self.scope.slot, exists=self._exists, functions=self.functions)(e)
        return expr, frozenset(self.scope.slot(v) for v in _expression_vars(e))

    def _exists(self, graph: CompValue, positive: bool) -> Expr:
        if getattr(graph, "name", "") == "GroupGraphPatternSub":
            graph = translateGroupGraphPattern(graph)
        group = self.group(graph)
        self.nested.append(group)
        cache: dict[frozenset[int], Op] = {}

        def exists(row: list) -> Term:
            bound = frozenset(i for i, v in enumerate(row) if v is not None)
            op = cache.get(bound)
            if op is None:
                op = cache[bound] = group.op(self.facts_ref(), bound, frozenset())
            return boolean(bool(op([row.copy()])) == positive)
        return exists

    def group(self, node: Any) -> Group:
        """The elements of a group graph pattern."""
        elements: list[Element] = []
        self._flatten(node, elements)
        return Group(elements)

    def _flatten(self, node: Any, out: list[Element]) -> None:
        name = node.name
        if name == "BGP":
            # A blank node in a pattern is a variable (SPARQL 1.1 §4.1.4), scoped to the query.
            out.extend(Triple(tuple(Variable(f"_:{x}") if isinstance(x, BNode) else x for x in t), self.scope)
                       for t in node.triples)
        elif name == "Join":
            self._flatten(node.p1, out)
            right = node.p2
            if right.name in ("BGP", "ToMultiSet", "Union", "Join", "Extend"):
                self._flatten(right, out)
            else:
                group = self.group(right)
                # A nested group is evaluated bottom-up (SPARQL 1.1 §18.5): when one of its
                # expressions reads a variable the group itself does not bind, it must not see
                # the outer row's value, so it runs on its own and is joined.
                own = group.sure | group.maybe
                out.append(Isolated(group) if group.reads - own else group)
        elif name == "LeftJoin":
            self._flatten(node.p1, out)
            inner = self.group(node.p2)
            expr, reads = (None, frozenset())
            if node.expr is not None and not _is_true(node.expr):
                expr, reads = self.expression(node.expr)
            out.append(Optional(inner, expr, reads))
        elif name == "Filter":
            self._flatten(node.p, out)
            for conjunct in _conjuncts(node.expr):
                expr, reads = self.expression(conjunct)
                out.append(Filter(expr, reads))
        elif name == "Extend":
            self._flatten(node.p, out)
            expr, reads = self.expression(node.expr)
            out.append(Bind(self.scope.slot(node.var), expr, reads))
        elif name == "Minus":
            self._flatten(node.p1, out)
            out.append(Minus(self.group(node.p2)))
        elif name == "Union":
            branches: list[Any] = []
            _union_branches(node, branches)
            out.append(Union([self.group(b) for b in branches]))
        elif name == "ToMultiSet":
            inner = node.p
            if inner.name == "values":
                out.append(Values(inner.res, self.scope))
            else:
                from .subselect import SubSelect  # a sub-select builds its own body: imported when met
                out.append(SubSelect(inner, self.scope, self.facts_ref, self.functions))
        elif name == "values":
            out.append(Values(node.res, self.scope))
        elif name in ("Project", "Distinct", "Reduced"):
            self._flatten(node.p, out)
        else:
            raise Unsupported(f"the native engine does not evaluate {name} in a rule body")


def _union_branches(node: Any, out: list[Any]) -> None:
    for side in (node.p1, node.p2):
        if side.name == "Union":
            _union_branches(side, out)
        else:
            out.append(side)


def _conjuncts(e: Any) -> list[Any]:
    if isinstance(e, CompValue) and e.name == "ConditionalAndExpression":
        return [x for part in [e.expr, *(e.other or [])] for x in _conjuncts(part)]
    return [e]


def _is_true(e: Any) -> bool:
    return getattr(e, "name", None) == "TrueFilter"


def _expression_vars(e: Any) -> set[Variable]:
    found: set[Variable] = set()

    def walk(x: Any) -> None:
        if isinstance(x, Variable):
            found.add(x)
        elif isinstance(x, CompValue):
            if x.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
                graph = x.graph
                found.update(getattr(graph, "_vars", set()) or _pattern_vars(graph))
                return
            for v in x.values():
                walk(v)
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)
    walk(e)
    return found


def _pattern_vars(node: Any) -> set[Variable]:
    found: set[Variable] = set()

    def walk(x: Any) -> None:
        if isinstance(x, Variable):
            found.add(x)
        elif isinstance(x, CompValue):
            for v in x.values():
                walk(v)
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)
    walk(node)
    return found
