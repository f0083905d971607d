"""Reading the change log: what each ingest, replace and retraction changed in the conclusions.

The JSON shape is the public contract of ``GET /changes`` (DESIGN §5). Changes come in the order
they were made (their ``fimi:sequence``); each names its source, who made it, the documents it
used and set aside, its counts, and its effects, each with a line an analyst can read.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timezone
from typing import Any

import pyoxigraph as ox

from .attribution import check_iri
from .errors import InputError
from .ontology import notations
from .store import GraphStore, iri_batches
from .vocab import CHANGES_GRAPH, DCTERMS, FIMI, PROV, RDFS, XSD

DEFAULT_LIMIT = 100
"""Changes per page unless asked for another number."""

_TYPES = {str(FIMI.AttributionLink): "attribution-link", str(FIMI.NegativeFinding): "negative-finding",
          str(FIMI.Conflict): "conflict"}
_COUNTS = {"triples_added": FIMI.triplesAdded, "triples_removed": FIMI.triplesRemoved, "claims_added": FIMI.claimsAdded,
           "claims_removed": FIMI.claimsRemoved, "inferred_added": FIMI.inferredAdded, "inferred_removed": FIMI.inferredRemoved}
_VERBS = {"ingest": "loaded", "replace": "replaced", "retract": "retracted"}


def parse_since(text: str) -> datetime:
    """A date (midnight UTC) or a date and time (UTC unless it names its offset), as the start of a period."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"since: not a date or a date and time (ISO 8601, e.g. 2024-05-02 or 2024-05-02T14:00:00Z): {text!r}") from exc
    if len(text.strip()) == 10:  # a date alone: the day from its start
        moment = datetime.combine(moment.date(), time(), timezone.utc)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _matching(store: GraphStore, *, since: datetime | None, subject: str | None, state: str | None,
              source: str | None) -> list[str]:
    """The changes that match, in the order they were made."""
    bind: dict[str, str | ox.Literal] = {}
    where = ["?change fimi:sequence ?seq ."]
    if since is not None:
        bind["since"] = ox.Literal(since.isoformat(), datatype=ox.NamedNode(str(XSD.dateTime)))
        where.append("?change prov:startedAtTime ?time . FILTER(?time >= ?since)")
    if source is not None:
        if ":" in source:  # an IRI; else the store's id of the source
            bind["source"] = check_iri(source)
            where.append("?change fimi:changedSource ?source .")
        else:
            bind["sid"] = ox.Literal(source)
            where.append("?change fimi:sourceId ?sid .")
    about = [f"?e fimi:{p} ?{v} ." for p, v, value in (("aboutSubject", "subject", subject), ("aboutState", "state", state)) if value]
    for name, value in (("subject", subject), ("state", state)):
        if value is not None:
            bind[name] = check_iri(value)
    if about:
        where.append(f"FILTER EXISTS {{ ?change fimi:effect ?e . {' '.join(about)} }}")
    projected = " ".join(f"?{v}" for v in bind)
    rows = store.select(
        f"SELECT {projected} ?change ?seq WHERE {{ GRAPH <{CHANGES_GRAPH}> {{ {' '.join(where)} }} }} ORDER BY ?seq", bind=bind)
    return [r["change"] for r in rows]


def _properties(store: GraphStore, nodes: list[str]) -> dict[str, dict[str, list[Any]]]:
    """Every statement the log makes about these nodes, by node and property."""
    found: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for batch in iri_batches(nodes):
        for r in store.select(f"SELECT ?n ?p ?o WHERE {{ VALUES ?n {{ {batch} }} GRAPH <{CHANGES_GRAPH}> {{ ?n ?p ?o }} }}"):
            found[r["n"]][r["p"]].append(r["o"])
    return found


def _one(props: dict[str, list[Any]], term: Any) -> Any:
    values = props.get(str(term)) or [None]
    return values[0]


def _document(props: dict[str, list[Any]], sid: str) -> dict[str, Any]:
    sha256 = _one(props, FIMI.checksum)
    return {"sha256": sha256, "media_type": _one(props, DCTERMS.format), "bytes": _one(props, FIMI.byteSize),
            "href": f"/sources/{sid}/original?sha256={sha256}"}


def _effect_text(e: dict[str, Any]) -> str:
    """One effect in words: "removed: party-linked link #boycottparis2024 campaign → Azerbaijan (confidence 32)"."""
    what = {"attribution-link": f"{e['grade_before'] or e['grade_after']} link", "negative-finding": "negative finding",
            "conflict": "conflict"}[e["type"]]
    pair = (e["subject_label"] or e["subject"] or "") + (f" → {e['state_label'] or e['state']}" if e["state"] else "")
    before, after = e["confidence_before"], e["confidence_after"]
    if e["effect"] == "regraded":
        return f"regraded: link {pair} from {e['grade_before']} ({before}) to {e['grade_after']} ({after})"
    if e["effect"] == "rescored":
        return f"re-scored: {what} {pair} from confidence {before} to {after}"
    score = after if e["effect"] == "added" else before
    return f"{e['effect']}: {what} {pair}" + (f" (confidence {score})" if score is not None else "")


_ORDER = {"attribution-link": 0, "negative-finding": 1, "conflict": 2}


def _summary(entry: dict[str, Any]) -> str:
    """The change in one line: when, who, what, on which source, and what it did to the conclusions."""
    head = (f"{entry['started'][:19].replace('T', ' ')} UTC: {entry['actor']} {_VERBS[entry['kind']]} "
            f"{entry['source_label'] or entry['source']} ({entry['source_id']})")
    effects = entry["effects"]
    if not effects:
        return head + ": no conclusion changed"
    shown = "; ".join(e["text"] for e in effects[:6])
    return f"{head}: {shown}" + (f"; and {len(effects) - 6} more" if len(effects) > 6 else "")


def changes(store: GraphStore, *, since: datetime | None = None, subject: str | None = None, state: str | None = None,
            source: str | None = None, limit: int = DEFAULT_LIMIT, offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """The changes made since ``since`` (about ``subject``, ``state``, ``source`` when given), one page of them, and how many match.

    With ``subject`` or ``state``, a change lists only its effects on them (``effects_total`` counts them all).
    """
    matching = _matching(store, since=since, subject=subject, state=state, source=source)
    page = matching[offset:offset + limit]
    if not page:
        return len(matching), []
    props = _properties(store, page)
    linked = [str(o) for c in page for p in (FIMI.effect, PROV.used, PROV.invalidated, PROV.wasAssociatedWith)
              for o in props[c].get(str(p), [])]
    more = _properties(store, linked)
    names = notations()
    entries = []
    for c in page:
        p = props[c]
        sid = _one(p, FIMI.sourceId)
        effects = []
        for node in p.get(str(FIMI.effect), []):
            e = more[node]
            effects.append({
                "effect": names[_one(e, FIMI.effectKind)], "conclusion": _one(e, FIMI.conclusion),
                "type": _TYPES[_one(e, FIMI.conclusionKind)], "subject": _one(e, FIMI.aboutSubject), "state": _one(e, FIMI.aboutState),
                "grade_before": names.get(_one(e, FIMI.gradeBefore)), "grade_after": names.get(_one(e, FIMI.gradeAfter)),
                "confidence_before": _one(e, FIMI.confidenceBefore), "confidence_after": _one(e, FIMI.confidenceAfter),
                "previous": _one(e, FIMI.previousConclusion),
                "subject_label": _one(e, FIMI.subjectLabel), "state_label": _one(e, FIMI.stateLabel),
            })
        total = len(effects)
        effects = [e for e in effects if (subject is None or e["subject"] == subject) and (state is None or e["state"] == state)]
        used, invalidated = _one(p, PROV.used), _one(p, PROV.invalidated)
        entries.append({
            "change": c, "sequence": _one(p, FIMI.sequence), "kind": names[_one(p, FIMI.changeKind)],
            "started": _one(p, PROV.startedAtTime), "ended": _one(p, PROV.endedAtTime),
            "actor": _one(more[_one(p, PROV.wasAssociatedWith)], RDFS.label),
            "source": _one(p, FIMI.changedSource), "source_id": sid, "source_label": _one(p, FIMI.sourceLabel),
            "document": _document(more[used], sid) if used else None,
            "previous_document": _document(more[invalidated], sid) if invalidated else None,
            **{name: _one(p, term) for name, term in _COUNTS.items()},
            "effects": effects, "effects_total": total,
        })
    _words(entries)
    return len(matching), entries


def _words(entries: list[dict[str, Any]]) -> None:
    """Each effect in words, effects in reading order, and each change's summary."""
    for entry in entries:
        for f in entry["effects"]:
            f["text"] = _effect_text(f)
        entry["effects"].sort(key=lambda f: (_ORDER[f["type"]], f["effect"], f["subject_label"] or "", f["state_label"] or ""))
        entry["summary"] = _summary(entry)


__all__ = ["DEFAULT_LIMIT", "changes", "parse_since"]
