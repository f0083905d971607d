"""What a change did to the conclusions, read off what it did to the inferred graph (the engine's delta).

A conclusion (attribution link, negative finding, conflict) appears or goes with its ``rdf:type``
triple, and is re-scored when its ``fimi:confidence`` changes. A link that goes and one that
appears with the same subject, state, directness, interval and marking but another grade is one
link regraded: the grade is part of a link's key (DESIGN §4), so a regrade is always a pair.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .engine import Triple
from .engine.terms import Lit
from .store import GraphStore, iri_batches
from .vocab import FIMI, INFERRED_GRAPH, RDF, XSD

CONCLUSIONS = (str(FIMI.AttributionLink), str(FIMI.NegativeFinding), str(FIMI.Conflict))
"""The classes of conclusions, in the order a change's effects are read: links, findings, conflicts."""
_TYPE = str(RDF.type)
_CONFIDENCE = str(FIMI.confidence)
_KEY = tuple(str(p) for p in (FIMI.linkSubject, FIMI.linkTarget, FIMI.directness, FIMI.validFrom, FIMI.validUntil, FIMI.marking))
_READ = {*_KEY, str(FIMI.grade), _CONFIDENCE}


@dataclass
class Effect:
    """What a change did to one conclusion."""

    kind: str
    conclusion: str
    type: str
    subject: str | None = None
    state: str | None = None
    grade_before: str | None = None
    grade_after: str | None = None
    confidence_before: int | None = None
    confidence_after: int | None = None
    previous: str | None = None
    subject_label: str | None = None
    state_label: str | None = None
    rank: int = 0
    """The rank of its marking in the change log: the more restrictive of its change's and its conclusion's."""


def _nodes(triples: Iterable[Triple]) -> tuple[dict[str, str], dict[str, dict[str, object]]]:
    """The conclusions typed in ``triples`` (node -> class), and the figures ``triples`` give any node."""
    typed: dict[str, str] = {}
    figures: dict[str, dict[str, object]] = {}
    for s, p, o in triples:
        if p == _TYPE and o in CONCLUSIONS:
            typed[s] = str(o)
        elif p in _READ:
            figures.setdefault(s, {})[p] = o
    return typed, figures


def _value(term: object) -> object:
    """An engine term as a plain value: an IRI as itself, an integer literal as int, another literal as its text."""
    if isinstance(term, Lit):
        return int(term.lexical) if term.datatype == str(XSD.integer) else term.lexical
    return term


def _held(store: GraphStore, nodes: list[str]) -> dict[str, dict[str, object]]:
    """The type, subject, target and grade of conclusions that hold before and after a change (read from the store)."""
    found: dict[str, dict[str, object]] = {}
    for batch in iri_batches(nodes):
        for r in store.select(
            f"""SELECT ?n ?type ?subject ?target ?grade WHERE {{
                  VALUES ?n {{ {batch} }}
                  GRAPH <{INFERRED_GRAPH}> {{ ?n a ?type ; fimi:linkSubject ?subject .
                    OPTIONAL {{ ?n fimi:linkTarget ?target }} OPTIONAL {{ ?n fimi:grade ?grade }} }}
                  VALUES ?type {{ fimi:AttributionLink fimi:NegativeFinding fimi:Conflict }} }}"""
        ):
            found[r["n"]] = r
    return found


def effects(store: GraphStore, added: set[Triple], removed: set[Triple]) -> list[Effect]:
    """The conclusions a change adds, removes, regrades and re-scores, from the inferred triples it adds and removes."""
    appeared, after = _nodes(added)
    went, before = _nodes(removed)
    # A link that went and one that appeared with the same key but another grade: one link regraded.
    gone_by_key = {(went[n], *(before[n].get(k) for k in _KEY)): n for n in sorted(went)}
    found: list[Effect] = []
    for node in sorted(appeared):
        now = after.get(node, {})
        old = gone_by_key.pop((appeared[node], *(now.get(k) for k in _KEY)), None)
        then = before.get(old, {}) if old else {}
        found.append(Effect(
            "regraded" if old else "added", node, appeared[node], _value(now.get(_KEY[0])), _value(now.get(_KEY[1])),
            grade_before=_value(then.get(str(FIMI.grade))), grade_after=_value(now.get(str(FIMI.grade))),
            confidence_before=_value(then.get(_CONFIDENCE)), confidence_after=_value(now.get(_CONFIDENCE)), previous=old,
        ))
    for node in sorted(set(gone_by_key.values())):
        then = before.get(node, {})
        found.append(Effect("removed", node, went[node], _value(then.get(_KEY[0])), _value(then.get(_KEY[1])),
                            grade_before=_value(then.get(str(FIMI.grade))), confidence_before=_value(then.get(_CONFIDENCE))))
    rescored = sorted(n for n in after if _CONFIDENCE in after[n] and _CONFIDENCE in before.get(n, {})
                      and n not in appeared and n not in went)
    held = _held(store, rescored) if rescored else {}
    for node in rescored:
        if node in held:  # only conclusions are re-scored; derivations have confidences too
            r = held[node]
            found.append(Effect("rescored", node, r["type"], r["subject"], r["target"], grade_before=r["grade"],
                                grade_after=r["grade"], confidence_before=_value(before[node][_CONFIDENCE]),
                                confidence_after=_value(after[node][_CONFIDENCE])))
    return found


__all__ = ["CONCLUSIONS", "Effect", "effects"]
