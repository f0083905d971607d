"""The facts the rules read and write, held in memory with the indexes their patterns use.

Two indexes: subject → predicate → objects, and predicate → object → subjects. A pattern
with a bound subject reads the first; one with a bound object, or none, the second. Each
predicate's size and number of distinct subjects are kept for the planner's estimates.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .terms import Term

Triple = tuple[Term, Term, Term]

_EMPTY: frozenset = frozenset()
_NONE: dict = {}


class Facts:
    """A set of triples with the indexes pattern matching needs."""

    __slots__ = ("spo", "pos", "size", "subjects_of")

    def __init__(self, triples: Iterable[Triple] = ()) -> None:
        self.spo: dict[Term, dict[Term, set[Term]]] = {}
        self.pos: dict[Term, dict[Term, set[Term]]] = {}
        self.size: dict[Term, int] = {}  # triples per predicate
        self.subjects_of: dict[Term, int] = {}  # distinct subjects per predicate
        for t in triples:
            self.add(*t)

    def __len__(self) -> int:
        return sum(self.size.values())

    def __contains__(self, triple: Triple) -> bool:
        s, p, o = triple
        return o in self.spo.get(s, _NONE).get(p, _EMPTY)

    def __iter__(self) -> Iterator[Triple]:
        for s, props in self.spo.items():
            for p, objects in props.items():
                for o in objects:
                    yield s, p, o

    def add(self, s: Term, p: Term, o: Term) -> bool:
        """Add a triple; whether it is new."""
        props = self.spo.get(s)
        if props is None:
            props = self.spo[s] = {}
        objects = props.get(p)
        if objects is None:
            objects = props[p] = set()
            self.subjects_of[p] = self.subjects_of.get(p, 0) + 1
        elif o in objects:
            return False
        objects.add(o)
        by_object = self.pos.get(p)
        if by_object is None:
            by_object = self.pos[p] = {}
        subjects = by_object.get(o)
        if subjects is None:
            subjects = by_object[o] = set()
        subjects.add(s)
        self.size[p] = self.size.get(p, 0) + 1
        return True

    def discard(self, s: Term, p: Term, o: Term) -> bool:
        """Remove a triple; whether it was there."""
        props = self.spo.get(s)
        objects = props.get(p) if props is not None else None
        if objects is None or o not in objects:
            return False
        objects.discard(o)
        if not objects:
            del props[p]  # type: ignore[union-attr]
            self.subjects_of[p] -= 1
            if not props:
                del self.spo[s]
        by_object = self.pos[p]
        subjects = by_object[o]
        subjects.discard(s)
        if not subjects:
            del by_object[o]
        self.size[p] -= 1
        return True

    def objects(self, s: Term, p: Term) -> set[Term] | frozenset:
        """The objects of ``s p ?``."""
        return self.spo.get(s, _NONE).get(p, _EMPTY)

    def subjects(self, p: Term, o: Term) -> set[Term] | frozenset:
        """The subjects of ``? p o``."""
        return self.pos.get(p, _NONE).get(o, _EMPTY)

    def properties(self, s: Term) -> dict[Term, set[Term]]:
        """Every predicate and its objects for ``s``."""
        return self.spo.get(s, _NONE)

    def by_object(self, p: Term) -> dict[Term, set[Term]]:
        """Every object of ``p`` and its subjects."""
        return self.pos.get(p, _NONE)

    def predicates(self) -> Iterable[Term]:
        """The predicates used."""
        return [p for p, n in self.size.items() if n]

    def degree(self, node: Term) -> int:
        """How many facts mention a node, as subject or object."""
        out = sum(len(objects) for objects in self.spo.get(node, _NONE).values())
        return out + sum(len(by_object.get(node, _EMPTY)) for by_object in self.pos.values())

    def version(self) -> tuple[int, ...]:
        """A coarse fingerprint of the predicates' sizes (each to within a factor of two): plans made for it stay good."""
        return tuple(n.bit_length() for n in self.size.values())

    def estimate(self, p: Term | None, s_bound: bool, o_bound: bool, o: Term | None = None) -> float:
        """Rows a pattern on ``p`` yields per input row, given which ends are bound (``o``: a constant object)."""
        if p is None:
            total = float(len(self) or 1)
            return 1.0 if s_bound and o_bound else total / max(len(self.spo), 1) if s_bound else total
        size = self.size.get(p, 0)
        if not size:
            return 0.0
        if s_bound and o_bound:
            return 0.5
        if s_bound:
            return size / max(self.subjects_of.get(p, 1), 1)
        if o is not None:
            return float(len(self.subjects(p, o)))
        if o_bound:
            return size / max(len(self.pos.get(p, _NONE)), 1)
        return float(size)
