"""The change log: what each ingest, replace and retraction did, written with it.

Each change is a ``fimi:Change`` (a ``prov:Activity``) in its own graph (:data:`CHANGES_GRAPH`):
when, by whom, which source, the document it used and the one it set aside, its counts, and
its effect on the conclusions (:mod:`fimigraph.effects`): the attribution links, negative findings
and conflicts it made appear or go, regraded or re-scored, with their figures before and after.
The record is committed in the change's own transaction (:func:`fimigraph.reason.apply`), so the
log never says what did not happen, and never misses what did.

Need-to-know (:mod:`fimigraph.views`): a change is marked as its document is (the most restrictive
of its source's and its claims' markings, both versions' for a replace), each effect as the more
restrictive of that and its conclusion's marking. The whole record is kept once more as JSON for
each marking among those (a ``fimi:ChangeRecord``): the effects and inferred triples of that
marking or below, named with the labels a caller of that clearance reads. A caller's view of the
store holds only the records, effects and statements within its clearance, numbered without gaps.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox

from .attribution import labels
from .effects import CONCLUSIONS, Effect, effects
from .engine import Triple
from .ontology import notations
from .reason import Record, Recorder
from .store import GraphStore, SourceChange
from .views import marking_iri, source_ranks
from .vocab import AGENT, CHANGE, CHANGES_GRAPH, DCTERMS, FIMI, PROV, RDF, RDFS, XSD

KINDS = {"ingest": FIMI.Ingest, "replace": FIMI.Replace, "retract": FIMI.Retraction}
"""Change kinds by their notation."""

_NAMES = dict(zip(CONCLUSIONS, ("attribution-link", "negative-finding", "conflict")))
_TYPE = str(RDF.type)


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
    rank: int = 0
    """The rank of the change's marking: its document's (both versions' for a replace)."""


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
        rank=max((r for _, r in source_ranks([*change.added, *change.removed])), default=0),
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


# -- the record ------------------------------------------------------------------------------------

_EFFECT_KINDS = {"added": FIMI.Appeared, "removed": FIMI.Went, "regraded": FIMI.Regraded, "rescored": FIMI.Rescored}


def _integer(n: int) -> ox.Literal:
    return ox.Literal(str(int(n)), datatype=ox.NamedNode(str(XSD.integer)))


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def day(moment: datetime) -> ox.Literal:
    """The day (UTC) of a moment, as the log records when a change started."""
    return ox.Literal(moment.astimezone(timezone.utc).date().isoformat(), datatype=ox.NamedNode(str(XSD.date)))


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


def record_quads(note: Note, found: list[Effect], *, ended: datetime, previous: Document | None,
                 inferred: dict[int, tuple[int, int]]) -> list[tuple[ox.Quad, int]]:
    """The change log's statements about one change (its sequence number aside), each with the rank of its marking.

    ``inferred``: for each rank to keep a record at, the inferred triples of that rank or below the change added and removed.
    """
    change, node, graph = ox.NamedNode(note.iri), ox.NamedNode, ox.NamedNode(str(CHANGES_GRAPH))
    out: list[tuple[ox.Quad, int]] = []

    def add(rank: int, s: ox.NamedNode, p: object, o: ox.NamedNode | ox.Literal) -> None:
        out.append((ox.Quad(s, node(str(p)), o, graph), rank))

    def marked(rank: int, s: ox.NamedNode) -> None:
        add(rank, s, FIMI.marking, node(marking_iri(rank)))

    at, who = note.rank, node(agent(note.actor))
    marked(at, change)
    add(at, change, RDF.type, node(str(FIMI.Change)))
    add(at, change, FIMI.changeKind, node(str(KINDS[note.kind])))
    add(at, change, PROV.startedAtTime, ox.Literal(_iso(note.started), datatype=node(str(XSD.dateTime))))
    add(at, change, FIMI.startedOn, day(note.started))
    add(at, change, PROV.endedAtTime, ox.Literal(_iso(ended), datatype=node(str(XSD.dateTime))))
    add(at, change, PROV.wasAssociatedWith, who)
    add(at, who, RDF.type, node(str(PROV.Agent)))
    add(at, who, RDFS.label, ox.Literal(note.actor))
    add(at, change, FIMI.changedSource, node(note.source))
    add(at, change, FIMI.sourceId, ox.Literal(note.sid))
    if note.source_label is not None:
        add(at, change, FIMI.sourceLabel, ox.Literal(note.source_label))
    counts = {FIMI.triplesAdded: note.triples_added, FIMI.triplesRemoved: note.triples_removed,
              FIMI.claimsAdded: note.claims_added, FIMI.claimsRemoved: note.claims_removed}
    for p, n in counts.items():
        add(at, change, p, _integer(n))
    if note.document is not None:
        doc = node(note.document.iri)
        add(at, change, PROV.used, doc)
        add(at, doc, RDF.type, node(str(FIMI.ReceivedDocument)))
        add(at, doc, FIMI.checksum, ox.Literal(note.document.sha256))
        add(at, doc, FIMI.byteSize, _integer(note.document.size))
        add(at, doc, DCTERMS.format, ox.Literal(note.document.media_type))
    if previous is not None:
        add(at, change, PROV.invalidated, node(previous.iri))
    for k, e in enumerate(found, 1):
        en = node(f"{note.iri}/effect/{k}")
        marked(e.rank, en)
        add(e.rank, change, FIMI.effect, en)  # that it exists is as restricted as what it says
        add(e.rank, en, FIMI.effectKind, node(str(_EFFECT_KINDS[e.kind])))
        add(e.rank, en, FIMI.conclusion, node(e.conclusion))
        add(e.rank, en, FIMI.conclusionKind, node(e.type))
        values = ((FIMI.aboutSubject, e.subject), (FIMI.aboutState, e.state), (FIMI.gradeBefore, e.grade_before),
                  (FIMI.gradeAfter, e.grade_after), (FIMI.previousConclusion, e.previous))
        for p, v in values:
            if v is not None:
                add(e.rank, en, p, node(str(v)))
        for p, v in ((FIMI.subjectLabel, e.subject_label), (FIMI.stateLabel, e.state_label)):
            if v is not None:
                add(e.rank, en, p, ox.Literal(v))
        for p, n in ((FIMI.confidenceBefore, e.confidence_before), (FIMI.confidenceAfter, e.confidence_after)):
            if n is not None:
                add(e.rank, en, p, _integer(n))
    for rank, (added, removed) in sorted(inferred.items()):
        # The whole record once more, as the API reads it: a day of changes in as many values, not thousands.
        shown = node(f"{note.iri}/record/{rank}")
        whole = record_json(note, [e for e in found if e.rank <= rank], ended=ended, previous=previous,
                            inferred_added=added, inferred_removed=removed)
        marked(rank, shown)
        add(rank, change, FIMI.recordAt, shown)
        add(rank, shown, RDF.type, node(str(FIMI.ChangeRecord)))
        add(rank, shown, FIMI.inferredAdded, _integer(added))
        add(rank, shown, FIMI.inferredRemoved, _integer(removed))
        add(rank, shown, FIMI.asJson, ox.Literal(json.dumps(whole, ensure_ascii=False, separators=(",", ":")),
                                                 datatype=node(str(RDF.JSON))))
    return out


def numbering(change: str) -> Callable[[ox.Store], tuple[list[ox.Quad], list[ox.Quad]]]:
    """What a store that shows ``change`` adds and removes to number it after the last change it shows."""
    graph, last, sequence = ox.NamedNode(str(CHANGES_GRAPH)), ox.NamedNode(str(FIMI.lastSequence)), ox.NamedNode(str(FIMI.sequence))

    def numbered(store: ox.Store) -> tuple[list[ox.Quad], list[ox.Quad]]:
        before = list(store.quads_for_pattern(graph, last, None, graph))
        n = max((int(q.object.value) for q in before), default=0) + 1
        return [ox.Quad(ox.NamedNode(change), sequence, _integer(n), graph), ox.Quad(graph, last, _integer(n), graph)], before

    return numbered


def record(note: Note, found: list[Effect], *, previous: Document | None = None,
           inferred: dict[int, tuple[int, int]] | None = None) -> Record:
    """One change's record, as :func:`fimigraph.reason.apply` writes it (``inferred``: see :func:`record_quads`; default none, at the change's rank)."""
    ranks = {note.rank, *(e.rank for e in found)}
    counts = inferred if inferred is not None else {r: (0, 0) for r in ranks}
    quads = record_quads(note, found, ended=datetime.now(timezone.utc), previous=previous, inferred=counts)
    return Record(quads, note.rank, numbering(note.iri))


def _document(store: GraphStore, iri: str) -> Document | None:
    """A document the log describes already (the version a replace or retraction sets aside)."""
    rows = store.select(f"""SELECT ?doc ?sha ?media ?size WHERE {{ GRAPH <{CHANGES_GRAPH}> {{
                              ?doc fimi:checksum ?sha ; dcterms:format ?media ; fimi:byteSize ?size }} }}""", bind={"doc": iri})
    return Document(iri, rows[0]["sha"], rows[0]["media"], rows[0]["size"]) if rows else None


def recorder(store: GraphStore, note: Note) -> Recorder:
    """What :func:`fimigraph.reason.apply` calls to record ``note``'s change with its effects, in the change's transaction."""

    def make(added: set[Triple], removed: set[Triple], rank_of: Callable[[object], int]) -> Record:
        found = effects(store, added, removed)
        for e in found:
            e.rank = max(note.rank, rank_of(e.conclusion))
        # Labels as they are now (a retracted source's still there), or as the change brings them, as a caller
        # cleared for the effect reads them: the view of its rank, before the change.
        for rank in {e.rank for e in found}:
            mine = [e for e in found if e.rank == rank]
            named = {x for e in mine for x in (e.subject, e.state) if x}
            names = {**labels(store.for_clearance(rank), named - set(note.names)), **note.names}
            for e in mine:
                e.subject_label, e.state_label = names.get(e.subject or ""), names.get(e.state or "")
        found.sort(key=lambda e: (CONCLUSIONS.index(e.type), e.kind, e.subject_label or e.subject or "", e.state_label or ""))
        previous = _document(store, note.previous) if note.previous else None
        ranks = sorted({note.rank, *(e.rank for e in found)})
        inferred = {r: (sum(1 for s, _, _ in added if rank_of(s) <= r), sum(1 for s, _, _ in removed if rank_of(s) <= r))
                    for r in ranks}
        return record(note, found, previous=previous, inferred=inferred)

    return make


__all__ = ["Document", "KINDS", "Note", "agent", "day", "document_node", "local_user", "new_change", "note",
           "numbering", "record", "record_json", "record_quads", "recorder"]
