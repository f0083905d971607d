"""Triple patterns and property paths matched against :class:`~.facts.Facts`, a batch of rows at a time.

Operators own the rows they are given: a row with one match is extended in place, one with
several copied once per match. Whoever hands the same rows to two operators copies them.

Each pattern is compiled once per plan for the bindings known then: a position is a
constant, a variable bound on every row, a variable bound on none, or one whose binding
varies (bound by an OPTIONAL or a BIND): the last is checked row by row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rdflib import URIRef, Variable
from rdflib.paths import AlternativePath, InvPath, MulPath, Path, SequencePath

from .expressions import Unsupported
from .facts import Facts
from .terms import Term, from_rdflib

Rows = list
Op = Callable[[Rows], Rows]

_E: frozenset = frozenset()
_N: dict = {}

BOUND, FREE, MAYBE = "bound", "free", "maybe"


class Position:
    """One end of a pattern: a constant, or a variable's slot with its binding state."""

    __slots__ = ("const", "slot", "state")

    def __init__(self, const: Term | None = None, slot: int = -1, state: str = BOUND) -> None:
        self.const, self.slot, self.state = const, slot, state

    @property
    def is_var(self) -> bool:
        """Whether this end is a variable."""
        return self.slot >= 0


def pattern_op(facts: Facts, s: Position, p: Position | Path, o: Position) -> Op:
    """The operator matching one triple pattern (``p``: a constant, a variable, or a property path)."""
    if isinstance(p, Path):
        return _path_op(facts, s, p, o)
    if p.is_var:
        return _generic(facts, s, p, o)
    if MAYBE in (s.state, o.state) or (s.is_var and o.is_var and s.slot == o.slot):
        return _generic(facts, s, p, o)
    pred = p.const
    spo = facts.spo
    if not s.is_var or s.state == BOUND:
        if not o.is_var or o.state == BOUND:
            return _check(facts, s, pred, o)
        si, oi, sc = s.slot, o.slot, s.const

        def objects(rows: Rows) -> Rows:
            out = []
            for r in rows:
                found = spo.get(sc if si < 0 else r[si], _N).get(pred, _E)
                if len(found) == 1:  # the usual case: extend the row itself (no other list holds it)
                    for r[oi] in found:
                        out.append(r)
                    continue
                for v in found:
                    n = r.copy()
                    n[oi] = v
                    out.append(n)
            return out
        return objects
    pos = facts.pos
    if not o.is_var or o.state == BOUND:
        si, oi, oc = s.slot, o.slot, o.const

        def subjects(rows: Rows) -> Rows:
            out = []
            for r in rows:
                found = pos.get(pred, _N).get(oc if oi < 0 else r[oi], _E)
                if len(found) == 1:
                    for r[si] in found:
                        out.append(r)
                    continue
                for v in found:
                    n = r.copy()
                    n[si] = v
                    out.append(n)
            return out
        return subjects
    si, oi = s.slot, o.slot

    def scan(rows: Rows) -> Rows:
        out = []
        pairs = [(sv, ov) for ov, ss in pos.get(pred, _N).items() for sv in ss]
        for r in rows:
            for sv, ov in pairs:
                n = r.copy()
                n[si] = sv
                n[oi] = ov
                out.append(n)
        return out
    return scan


def _check(facts: Facts, s: Position, pred: Term, o: Position) -> Op:
    spo = facts.spo
    si, oi, sc, oc = s.slot, o.slot, s.const, o.const
    if si >= 0 and oi >= 0:
        return lambda rows: [r for r in rows if r[oi] in spo.get(r[si], _N).get(pred, _E)]
    if si >= 0:
        return lambda rows: [r for r in rows if oc in spo.get(r[si], _N).get(pred, _E)]
    if oi >= 0:
        return lambda rows: [r for r in rows if r[oi] in spo.get(sc, _N).get(pred, _E)]
    found = lambda: oc in spo.get(sc, _N).get(pred, _E)  # noqa: E731
    return lambda rows: rows if found() else []


def _value(pos: Position, row: list) -> Term | None:
    return pos.const if pos.slot < 0 else row[pos.slot]


def _generic(facts: Facts, s: Position, p: Position, o: Position) -> Op:
    """Any pattern, its variables' bindings read row by row (a variable predicate, varying bindings, ?x p ?x)."""

    def matches(row: list) -> Iterable[tuple[Term, Term, Term]]:
        sv, pv, ov = _value(s, row), _value(p, row), _value(o, row)
        if sv is not None:
            props = facts.properties(sv)
            for pk, objects in (props.items() if pv is None else [(pv, props.get(pv, _E))]):
                if ov is None:
                    for x in objects:
                        yield sv, pk, x
                elif ov in objects:
                    yield sv, pk, ov
        elif pv is not None:
            by_object = facts.by_object(pv)
            for ok, subjects in (by_object.items() if ov is None else [(ov, by_object.get(ov, _E))]):
                for x in subjects:
                    yield x, pv, ok
        else:
            for pk in list(facts.predicates()):
                by_object = facts.by_object(pk)
                for ok, subjects in (by_object.items() if ov is None else [(ov, by_object.get(ov, _E))]):
                    for x in subjects:
                        yield x, pk, ok

    def op(rows: Rows) -> Rows:
        out = []
        for r in rows:
            for triple in matches(r):
                n = r.copy()
                if _bind(n, (s, p, o), triple):
                    out.append(n)
        return out
    return op


def _bind(row: list, positions: tuple[Position, ...], values: tuple[Term, ...]) -> bool:
    for pos, v in zip(positions, values):
        if pos.slot >= 0:
            have = row[pos.slot]
            if have is None:
                row[pos.slot] = v
            elif have != v:
                return False
    return True


# -- property paths -------------------------------------------------------------------------


def path_objects(facts: Facts, path: Path | URIRef, start: Term) -> set[Term]:
    """The nodes ``start`` reaches by ``path``."""
    if isinstance(path, URIRef):
        return set(facts.objects(start, from_rdflib(path)))
    if isinstance(path, InvPath):
        return path_subjects(facts, path.arg, start)
    if isinstance(path, SequencePath):
        nodes = {start}
        for step in path.args:
            nodes = {y for x in nodes for y in path_objects(facts, step, x)}
        return nodes
    if isinstance(path, AlternativePath):
        return {y for step in path.args for y in path_objects(facts, step, start)}
    if isinstance(path, MulPath):
        return _closure(start, lambda x: path_objects(facts, path.path, x), path.mod)
    raise Unsupported(f"property path {path!r} is not supported")


def path_subjects(facts: Facts, path: Path | URIRef, end: Term) -> set[Term]:
    """The nodes that reach ``end`` by ``path``."""
    if isinstance(path, URIRef):
        return set(facts.subjects(from_rdflib(path), end))
    if isinstance(path, InvPath):
        return path_objects(facts, path.arg, end)
    if isinstance(path, SequencePath):
        nodes = {end}
        for step in reversed(path.args):
            nodes = {y for x in nodes for y in path_subjects(facts, step, x)}
        return nodes
    if isinstance(path, AlternativePath):
        return {y for step in path.args for y in path_subjects(facts, step, end)}
    if isinstance(path, MulPath):
        return _closure(end, lambda x: path_subjects(facts, path.path, x), path.mod)
    raise Unsupported(f"property path {path!r} is not supported")


def _closure(start: Term, step: Callable[[Term], set[Term]], mod: str) -> set[Term]:
    seen: set[Term] = {start} if mod in ("*", "?") else set()
    frontier = [start]
    while frontier:
        nxt = []
        for x in frontier:
            for y in step(x):
                if y not in seen:
                    seen.add(y)
                    nxt.append(y)
        if mod == "?":
            break
        frontier = nxt
    return seen


def _path_op(facts: Facts, s: Position, path: Path, o: Position) -> Op:
    def op(rows: Rows) -> Rows:
        out = []
        for r in rows:
            sv, ov = _value(s, r), _value(o, r)
            if sv is not None:
                pairs = [(sv, y) for y in path_objects(facts, path, sv)]
            elif ov is not None:
                pairs = [(x, ov) for x in path_subjects(facts, path, ov)]
            else:
                starts = set(facts.spo)
                pairs = [(x, y) for x in starts for y in path_objects(facts, path, x)]
            for x, y in pairs:
                n = r.copy()
                if _bind(n, (s, o), (x, y)):
                    out.append(n)
        return out
    return op


def pattern_vars(s: object, p: object, o: object) -> list[Variable]:
    """The variables of a triple pattern."""
    return [t for t in (s, p, o) if isinstance(t, Variable)]
