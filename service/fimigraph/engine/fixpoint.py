"""Stratified reasoning to a fixpoint, and its incremental maintenance when facts come and go.

A rebuild runs each stratum's rules semi-naively: every rule once over all facts, then
only anchored on what the previous round added, until a round adds nothing; later rules of
a round already see what earlier ones added.

A change (asserted facts added or removed) is maintained stratum by stratum with
delete-and-rederive (DRed): on the facts as they were, every row that read a changed fact is
found (anchored runs) and what it derived is deleted, transitively within the stratum; then,
on the facts as they are, the same anchors and the rows that may derive a deleted fact again
(:meth:`~.rules.Rule.head_anchors`) run, and what they add is propagated semi-naively. The
facts "as they were" for a stratum are recovered by undoing the lower strata's changes for
the time of the deleting pass. Aggregates, OPTIONAL and NOT EXISTS need nothing more: their
rows are found by the same anchors, on both sides of the change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .facts import Facts, Triple
from .rules import Anchors, Rule
from .subselect import order_key
from .terms import Term


@dataclass
class Delta:
    """What a change did to the derived facts."""

    added: set[Triple] = field(default_factory=set)
    removed: set[Triple] = field(default_factory=set)


def _by_predicate(triples: Iterable[Triple]) -> dict[Term, list[Triple]]:
    """Facts grouped by predicate, for the rules to pick those they read."""
    found: dict[Term, list[Triple]] = {}
    for t in triples:
        group = found.get(t[1])
        if group is None:
            group = found[t[1]] = []
        group.append(t)
    return found


def _merge(into: Anchors | None, more: Anchors | None) -> Anchors | None:
    if into is None or more is None:
        return None
    for slot, values in more.items():
        into.setdefault(slot, set()).update(values)
    return into


class Reasoner:
    """Asserted facts (with how many graphs assert each), derived facts, and the rules, by stratum."""

    def __init__(self, rules: list[Rule], extremes: dict[Term, int] | None = None) -> None:
        self.facts = Facts()
        self.asserted: dict[Triple, int] = {}
        self.derived: set[Triple] = set()
        # Working properties of which only each node's highest (+1) or lowest (-1) value matters:
        # only that one is kept, so a better value found later replaces it (a lattice fixpoint).
        self.extremes = extremes or {}
        # During a change: whether each fact it touched was derived before it (what it added and removed).
        self._before: dict[Triple, bool] | None = None
        levels = sorted({r.stratum for r in rules})
        self.strata = [[r for r in rules if r.stratum == level] for level in levels]
        self.rounds = 0

    # -- asserted facts ----------------------------------------------------------------------------

    def assert_facts(self, triples: Iterable[Triple]) -> None:
        """Load asserted facts (one per graph that holds them) without reasoning; :meth:`rebuild` follows."""
        for t in triples:
            n = self.asserted.get(t, 0)
            self.asserted[t] = n + 1
            if not n:
                self.facts.add(*t)

    # -- full reasoning ---------------------------------------------------------------------------

    def rebuild(self) -> None:
        """Derive everything again from the asserted facts."""
        for t in self.derived:
            if t not in self.asserted:
                self.facts.discard(*t)
        self.derived = set()
        self.rounds = 0
        for rules in self.strata:
            delta: set[Triple] = set()
            for rule in rules:
                self._add_all(rule.run(self.facts), delta)
            self.rounds += 1
            self._saturate(rules, delta, set())

    def _add_all(self, triples: set[Triple], into: set[Triple]) -> None:
        extremes = self.extremes
        for t in triples:
            if t in self.derived:
                continue
            if t in self.asserted:
                self.derived.add(t)
                continue
            direction = extremes.get(t[1]) if extremes else None
            if direction is not None and not self._better(t, direction, into):
                continue
            self.facts.add(*t)
            self.derived.add(t)
            into.add(t)
            if self._before is not None:
                self._before.setdefault(t, False)

    def _better(self, t: Triple, direction: int, into: set[Triple]) -> bool:
        """Whether ``t`` beats the value its node holds for an extreme property; if so, that value goes."""
        held = self.facts.objects(t[0], t[1])
        if not held:
            return True
        (current,) = held
        if (order_key(t[2]) > order_key(current)) != (direction > 0) or order_key(t[2]) == order_key(current):
            return False
        old = (t[0], t[1], current)
        self.facts.discard(*old)
        self.derived.discard(old)
        into.discard(old)
        if self._before is not None:
            self._before.setdefault(old, True)
        return True

    def _saturate(self, rules: list[Rule], delta: set[Triple], added: set[Triple]) -> None:
        """Run the rules anchored on each round's new facts until a round adds nothing."""
        while delta:
            added |= delta
            fresh: set[Triple] = set()
            by_predicate = _by_predicate(delta)
            for rule in rules:
                relevant = rule.relevant(by_predicate)
                if relevant:
                    self._add_all(rule.run(self.facts, rule.anchors(self.facts, relevant)), fresh)
            self.rounds += 1
            delta = fresh

    # -- changes ------------------------------------------------------------------------------------

    def change(self, added: Iterable[Triple] = (), removed: Iterable[Triple] = ()) -> Delta:
        """Assert and retract facts (once per graph each) and bring the derived facts up to date."""
        self.rounds = 0
        gone: list[Triple] = []
        new: list[Triple] = []
        for t in removed:
            n = self.asserted.get(t, 0)
            if n <= 1:
                if n == 1:
                    del self.asserted[t]
                    if t not in self.derived:
                        self.facts.discard(*t)
                        gone.append(t)
            else:
                self.asserted[t] = n - 1
        for t in added:
            n = self.asserted.get(t, 0)
            self.asserted[t] = n + 1
            if not n and t not in self.derived:
                self.facts.add(*t)
                new.append(t)
        undo_added: list[Triple] = list(new)  # lower changes, undone while a stratum reads the old facts
        undo_removed: list[Triple] = list(gone)
        changed: set[Triple] = set(gone) | set(new)
        delta = Delta()
        for rules in self.strata:
            added_k, removed_k = self._maintain(rules, changed, undo_added, undo_removed)
            undo_added += added_k
            undo_removed += removed_k
            changed |= added_k | removed_k
            delta.added |= added_k
            delta.removed |= removed_k
        both = delta.added & delta.removed
        delta.added -= both
        delta.removed -= both
        return delta

    def _maintain(self, rules: list[Rule], changed: set[Triple], undo_added: list[Triple],
                  undo_removed: list[Triple]) -> tuple[set[Triple], set[Triple]]:
        facts = self.facts
        # The rows a changed fact touches, found on the facts as they are (a fact a lower stratum just
        # added connects to its rows only there) and as they were; their outputs are all suspect.
        anchors: dict[int, Anchors | None] = {}
        changed_by_predicate = _by_predicate(changed)
        for i, rule in enumerate(rules):
            relevant = rule.relevant(changed_by_predicate)
            if relevant:
                anchors[i] = rule.anchors(facts, relevant)
        # Delete: on the facts as they were, everything derived from a row that read a changed fact.
        for t in undo_added:
            facts.discard(*t)
        for t in undo_removed:
            facts.add(*t)
        doomed: set[Triple] = set()
        seeds: set[Triple] = set(changed)
        while seeds:
            fresh: set[Triple] = set()
            seeds_by_predicate = _by_predicate(seeds)
            for i, rule in enumerate(rules):
                relevant = rule.relevant(seeds_by_predicate)
                if not relevant:
                    continue
                found = rule.anchors(facts, relevant)
                before = anchors.get(i, {})
                anchors[i] = found = None if before is None or found is None else _merge(before, found)
                for t in rule.run(facts, found):
                    if t in self.derived and t not in doomed:
                        doomed.add(t)
                        fresh.add(t)
            seeds = fresh
        for t in undo_removed:
            facts.discard(*t)
        for t in undo_added:
            facts.add(*t)
        before = self._before = {}
        for t in doomed:
            before[t] = True
            self.derived.discard(t)
            if t not in self.asserted:
                facts.discard(*t)
        # Derive again, on the facts as they are: the same rows, those that may derive a deleted fact
        # another way, and whatever follows from what they add.
        delta: set[Triple] = set()
        touched = _by_predicate(changed | doomed)
        for i, rule in enumerate(rules):
            found: Anchors | None = {}
            relevant = rule.relevant(touched)
            if relevant:
                found = _merge(found, rule.anchors(facts, relevant))
            if i in anchors:
                found = _merge(found, anchors[i])
            regain = [t for t in doomed if t[1] in rule.produces or None in rule.produces]
            if regain:
                found = _merge(found, rule.head_anchors(facts, regain, self.extremes))
            if found is None or found:
                self._add_all(rule.run(facts, found), delta)
        self._saturate(rules, delta, set())
        self._before = None
        return ({t for t, was in before.items() if not was and t in self.derived},
                {t for t, was in before.items() if was and t not in self.derived})

    # -- results ----------------------------------------------------------------------------------------

    def inferred(self, working: frozenset[Term]) -> set[Triple]:
        """The derived facts that are not asserted, without working properties: the inferred graph."""
        return {t for t in self.derived if t[1] not in working and t not in self.asserted}
