"""The change log: what each ingest, replace and retraction did, written with it.

Each change is a ``fimi:Change`` (a ``prov:Activity``) in its own graph (:data:`CHANGES_GRAPH`):
when, by whom, which source, the document it used and the one it set aside, its counts, and
its effect on the conclusions: the attribution links, negative findings and conflicts it made
appear or go, regraded or re-scored, with their figures before and after. The effects are read
off what the change does to the inferred graph (the engine's delta): a conclusion appears or
goes with its ``rdf:type`` triple, and is re-scored when its ``fimi:confidence`` changes. The
record is an update committed in the change's own transaction (:func:`fimigraph.reason.apply`),
so the log never says what did not happen, and never misses what did.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from datetime import datetime, timezone
from urllib.parse import quote

import pyoxigraph as ox

from .attribution import labels
from .engine import Triple
from .engine.terms import Lit
from .ontology import notations
from .reason import Recorder
from .store import GraphStore, SourceChange, iri_batches
from .vocab import AGENT, CHANGE, CHANGES_GRAPH, DCTERMS, FIMI, INFERRED_GRAPH, PROV, RDF, RDFS, XSD

KINDS = {"ingest": FIMI.Ingest, "replace": FIMI.Replace, "retract": FIMI.Retraction}
"""Change kinds by their notation."""

_CONCLUSIONS = (str(FIMI.AttributionLink), str(FIMI.NegativeFinding), str(FIMI.Conflict))
_NAMES = dict(zip(_CONCLUSIONS, ("attribution-link", "negative-finding", "conflict")))
_TYPE = str(RDF.type)
_CONFIDENCE = str(FIMI.confidence)
# What identifies a conclusion besides its grade: a link that goes and one that appears with the
# same values of these, but another grade, is one link regraded.
_KEY = tuple(str(p) for p in (FIMI.linkSubject, FIMI.linkTarget, FIMI.directness, FIMI.validFrom, FIMI.validUntil, FIMI.marking))
_READ = {*_KEY, str(FIMI.grade), _CONFIDENCE}


@dataclass(frozen=True)
class Document:
    """A document a change received: the node that describes it, its checksum, media type and size."""

    iri: str
    sha256: str
    media_type: str
    size: int


@dataclass(frozen=True)
class Note:
    """What the caller knows of a change before it is made: who, what, on which source, which documents."""

    kind: str
    source: str
    sid: str
    actor: str
    iri: str
    started: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    document: Document | None = None
    previous: str | None = None
    """The node of the document of the version the change sets aside (replace, retract), when known."""
    source_label: str | None = None
    names: dict[str, str] = field(default_factory=dict)
    """Labels the change brings (its new document's), for what its effects name."""
    triples_added: int = 0
    triples_removed: int = 0
    claims_added: int = 0
    claims_removed: int = 0


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


def note(kind: str, change: SourceChange, actor: str | None, *, iri: str | None = None,
         document: Document | None = None) -> Note:
    """What to record of a source change: its counts, the document it sets aside, the names it brings (``actor``: default, this process's user)."""
    def claims(quads: list[ox.Quad]) -> int:
        return sum(1 for q in quads if q.predicate.value == _TYPE and q.object.value == str(FIMI.Claim))

    described = {q.predicate.value: q.object.value for q in (*change.removed, *change.added) if q.subject.value == change.iri}
    names = {q.subject.value: q.object.value for prop in (DCTERMS.title, RDFS.label)  # a label wins over a title
             for q in change.added if q.predicate.value == str(prop)}
    return Note(
        kind, change.iri, change.sid, actor or local_user(), iri=iri or new_change(), document=document,
        previous=next((q.object.value for q in change.removed if q.predicate.value == str(FIMI.receivedAs)), None),
        source_label=described.get(str(RDFS.label)) or described.get(str(DCTERMS.title)), names=names,
        triples_added=len(change.added), triples_removed=len(change.removed),
        claims_added=claims(change.added), claims_removed=claims(change.removed),
    )


def new_change() -> str:
    """A fresh change IRI; its name starts with the time, so that IRIs sort as changes came."""
    return str(CHANGE[f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(4)}"])


def document_node(change: str) -> str:
    """The IRI of the document a change received."""
    return f"{change}/document"


def local_user() -> str:
    """Who runs this process (the command line's user): the default author of a change."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container, say)
        return f"uid {os.getuid()}"


def agent(actor: str) -> str:
    """The IRI of whoever made a change."""
    return str(AGENT[quote(actor, safe="")])


# -- effects ---------------------------------------------------------------------------------------


def _nodes(triples: Iterable[Triple]) -> tuple[dict[str, str], dict[str, dict[str, object]]]:
    """The conclusions typed in ``triples`` (node -> class), and the figures ``triples`` give any node."""
    typed: dict[str, str] = {}
    figures: dict[str, dict[str, object]] = {}
    for s, p, o in triples:
        if p == _TYPE and o in _CONCLUSIONS:
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


# -- the record ------------------------------------------------------------------------------------

_EFFECT_KINDS = {"added": FIMI.Appeared, "removed": FIMI.Went, "regraded": FIMI.Regraded, "rescored": FIMI.Rescored}


def _integer(n: int) -> ox.Literal:
    return ox.Literal(str(int(n)), datatype=ox.NamedNode(str(XSD.integer)))


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _document_json(doc: Document | None) -> dict[str, Any] | None:
    return None if doc is None else {"sha256": doc.sha256, "media_type": doc.media_type, "bytes": doc.size}


def record_json(note: Note, found: list[Effect], *, ended: datetime, previous: Document | None, inferred_added: int,
                inferred_removed: int) -> dict[str, Any]:
    """One change as ``GET /changes`` gives it (its sequence number aside): the log keeps it whole with the change."""
    names = notations()
    return {
        "change": note.iri, "kind": note.kind, "started": _iso(note.started), "ended": _iso(ended), "actor": note.actor,
        "source": note.source, "source_id": note.sid, "source_label": note.source_label,
        "document": _document_json(note.document), "previous_document": _document_json(previous),
        "triples_added": note.triples_added, "triples_removed": note.triples_removed, "claims_added": note.claims_added,
        "claims_removed": note.claims_removed, "inferred_added": inferred_added, "inferred_removed": inferred_removed,
        "effects": [{"effect": e.kind, "conclusion": e.conclusion, "type": _NAMES[e.type], "subject": e.subject,
                     "subject_label": e.subject_label, "state": e.state, "state_label": e.state_label,
                     "grade_before": names.get(e.grade_before or ""), "grade_after": names.get(e.grade_after or ""),
                     "confidence_before": e.confidence_before, "confidence_after": e.confidence_after, "previous": e.previous}
                    for e in found],
    }


def record_triples(note: Note, found: list[Effect], *, ended: datetime, previous: Document | None, inferred_added: int,
                   inferred_removed: int) -> list[ox.Triple]:
    """The change log's statements about one change (its sequence number aside)."""
    change, node = ox.NamedNode(note.iri), ox.NamedNode
    who = node(agent(note.actor))
    out = [
        ox.Triple(change, node(_TYPE), node(str(FIMI.Change))),
        ox.Triple(change, node(str(FIMI.changeKind)), node(str(KINDS[note.kind]))),
        ox.Triple(change, node(str(PROV.startedAtTime)), ox.Literal(_iso(note.started), datatype=node(str(XSD.dateTime)))),
        ox.Triple(change, node(str(PROV.endedAtTime)), ox.Literal(_iso(ended), datatype=node(str(XSD.dateTime)))),
        ox.Triple(change, node(str(PROV.wasAssociatedWith)), who),
        ox.Triple(who, node(_TYPE), node(str(PROV.Agent))),
        ox.Triple(who, node(str(RDFS.label)), ox.Literal(note.actor)),
        ox.Triple(change, node(str(FIMI.changedSource)), node(note.source)),
        ox.Triple(change, node(str(FIMI.sourceId)), ox.Literal(note.sid)),
        # The whole record once more, as the API reads it: a day of changes in as many values, not thousands.
        ox.Triple(change, node(str(FIMI.asJson)), ox.Literal(
            json.dumps(record_json(note, found, ended=ended, previous=previous, inferred_added=inferred_added,
                                   inferred_removed=inferred_removed), ensure_ascii=False, separators=(",", ":")),
            datatype=node(str(RDF.JSON)))),
    ]
    if note.source_label is not None:
        out.append(ox.Triple(change, node(str(FIMI.sourceLabel)), ox.Literal(note.source_label)))
    counts = {FIMI.triplesAdded: note.triples_added, FIMI.triplesRemoved: note.triples_removed,
              FIMI.claimsAdded: note.claims_added, FIMI.claimsRemoved: note.claims_removed,
              FIMI.inferredAdded: inferred_added, FIMI.inferredRemoved: inferred_removed}
    out += [ox.Triple(change, node(str(p)), _integer(n)) for p, n in counts.items()]
    if note.document is not None:
        doc = node(note.document.iri)
        out += [
            ox.Triple(change, node(str(PROV.used)), doc),
            ox.Triple(doc, node(_TYPE), node(str(FIMI.ReceivedDocument))),
            ox.Triple(doc, node(str(FIMI.checksum)), ox.Literal(note.document.sha256)),
            ox.Triple(doc, node(str(FIMI.byteSize)), _integer(note.document.size)),
            ox.Triple(doc, node(str(DCTERMS.format)), ox.Literal(note.document.media_type)),
        ]
    if previous is not None:
        out.append(ox.Triple(change, node(str(PROV.invalidated)), node(previous.iri)))
    for k, e in enumerate(found, 1):
        en = node(f"{note.iri}/effect/{k}")
        out += [ox.Triple(change, node(str(FIMI.effect)), en),
                ox.Triple(en, node(str(FIMI.effectKind)), node(str(_EFFECT_KINDS[e.kind]))),
                ox.Triple(en, node(str(FIMI.conclusion)), node(e.conclusion)),
                ox.Triple(en, node(str(FIMI.conclusionKind)), node(e.type))]
        values = ((FIMI.aboutSubject, e.subject), (FIMI.aboutState, e.state), (FIMI.gradeBefore, e.grade_before),
                  (FIMI.gradeAfter, e.grade_after), (FIMI.previousConclusion, e.previous))
        out += [ox.Triple(en, node(str(p)), node(str(v))) for p, v in values if v is not None]
        words = ((FIMI.subjectLabel, e.subject_label), (FIMI.stateLabel, e.state_label))
        out += [ox.Triple(en, node(str(p)), ox.Literal(v)) for p, v in words if v is not None]
        scores = ((FIMI.confidenceBefore, e.confidence_before), (FIMI.confidenceAfter, e.confidence_after))
        out += [ox.Triple(en, node(str(p)), _integer(v)) for p, v in scores if v is not None]
    return out


def record_sparql(note: Note, found: list[Effect], *, previous: Document | None = None, inferred_added: int,
                  inferred_removed: int) -> str:
    """The update that appends one change to the log, numbering it after the last one."""
    triples = record_triples(note, found, ended=datetime.now(timezone.utc), previous=previous, inferred_added=inferred_added,
                             inferred_removed=inferred_removed)
    body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode()
    last = f"<{CHANGES_GRAPH}> <{FIMI.lastSequence}>"
    return (f"INSERT DATA {{ GRAPH <{CHANGES_GRAPH}> {{\n{body}}} }} ;\n"
            f"DELETE {{ GRAPH <{CHANGES_GRAPH}> {{ {last} ?n }} }} "
            f"INSERT {{ GRAPH <{CHANGES_GRAPH}> {{ {last} ?next . <{note.iri}> <{FIMI.sequence}> ?next }} }} "
            f"WHERE {{ OPTIONAL {{ GRAPH <{CHANGES_GRAPH}> {{ {last} ?n }} }} BIND(COALESCE(?n, 0) + 1 AS ?next) }}")


def _document(store: GraphStore, iri: str) -> Document | None:
    """A document the log describes already (the version a replace or retraction sets aside)."""
    rows = store.select(f"""SELECT ?doc ?sha ?media ?size WHERE {{ GRAPH <{CHANGES_GRAPH}> {{
                              ?doc fimi:checksum ?sha ; dcterms:format ?media ; fimi:byteSize ?size }} }}""", bind={"doc": iri})
    return Document(iri, rows[0]["sha"], rows[0]["media"], rows[0]["size"]) if rows else None


def recorder(store: GraphStore, note: Note) -> Recorder:
    """What :func:`fimigraph.reason.apply` calls to record ``note``'s change with its effects, in the change's transaction."""

    def record(added: set[Triple], removed: set[Triple]) -> str:
        found = effects(store, added, removed)
        # Labels as they are now (a retracted source's still there), or as the change brings them.
        named = {x for e in found for x in (e.subject, e.state) if x}
        names = {**labels(store, named - set(note.names)), **note.names}
        for e in found:
            e.subject_label, e.state_label = names.get(e.subject or ""), names.get(e.state or "")
        found.sort(key=lambda e: (_CONCLUSIONS.index(e.type), e.kind, e.subject_label or e.subject or "", e.state_label or ""))
        previous = _document(store, note.previous) if note.previous else None
        return record_sparql(note, found, previous=previous, inferred_added=len(added), inferred_removed=len(removed))

    return record


__all__ = ["Document", "Effect", "KINDS", "Note", "agent", "document_node", "effects", "local_user", "new_change", "note",
           "record_json", "record_sparql", "record_triples", "recorder"]
