"""The change log: what each ingest, replace and retraction did, written with it.

Each change is a ``fimi:Change`` (a ``prov:Activity``) in its own graph (:data:`CHANGES_GRAPH`):
when, by whom, which source, the document it used and the one it set aside, its counts, and
its effect on the conclusions (:mod:`fimigraph.effects`): the attribution links, negative findings
and conflicts it made appear or go, regraded or re-scored, with their figures before and after.
The record is an update committed in the change's own transaction (:func:`fimigraph.reason.apply`),
so the log never says what did not happen, and never misses what did.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox

from .attribution import labels
from .effects import CONCLUSIONS, Effect, effects
from .engine import Triple
from .ontology import notations
from .reason import Recorder
from .store import GraphStore, SourceChange
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


def record_triples(note: Note, found: list[Effect], *, ended: datetime, previous: Document | None, inferred_added: int,
                   inferred_removed: int) -> list[ox.Triple]:
    """The change log's statements about one change (its sequence number aside)."""
    change, node = ox.NamedNode(note.iri), ox.NamedNode
    who = node(agent(note.actor))
    out = [
        ox.Triple(change, node(_TYPE), node(str(FIMI.Change))),
        ox.Triple(change, node(str(FIMI.changeKind)), node(str(KINDS[note.kind]))),
        ox.Triple(change, node(str(PROV.startedAtTime)), ox.Literal(_iso(note.started), datatype=node(str(XSD.dateTime)))),
        ox.Triple(change, node(str(FIMI.startedOn)), day(note.started)),
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
        found.sort(key=lambda e: (CONCLUSIONS.index(e.type), e.kind, e.subject_label or e.subject or "", e.state_label or ""))
        previous = _document(store, note.previous) if note.previous else None
        return record_sparql(note, found, previous=previous, inferred_added=len(added), inferred_removed=len(removed))

    return record


__all__ = ["Document", "KINDS", "Note", "agent", "day", "document_node", "local_user", "new_change", "note",
           "record_json", "record_sparql", "record_triples", "recorder"]
