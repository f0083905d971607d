"""Reading the change log: what each ingest, replace and retraction changed in the conclusions.

The JSON shape is the public contract of ``GET /changes`` (DESIGN §5). Changes come in the order
they were made (their ``fimi:sequence``, numbered without gaps in the store read: a caller's view
numbers only the changes it shows); each names its source, who made it, the documents it
used and set aside, its counts, and its effects, each with a line an analyst can read.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta, timezone
from typing import Any

import pyoxigraph as ox

from .attribution import check_iri
from .changelog import day
from .errors import InputError
from .store import GraphStore, iri_batches
from .views import rank_of
from .vocab import CHANGES_GRAPH, XSD

DEFAULT_LIMIT = 100
"""Changes per page unless asked for another number."""

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


DAYS_LOOKED_UP = 400
"""Up to how many days back ``since`` finds changes day by day (by the index); further back, by comparing every change's time."""


def _since(store: GraphStore, since: datetime) -> list[tuple[str, int]]:
    """The changes made since a moment, found day by day (the log notes each change's day), in the order they were made."""
    moment = ox.Literal(since.isoformat(), datatype=ox.NamedNode(str(XSD.dateTime)))
    found = []
    first, today = since.astimezone(timezone.utc).date(), datetime.now(timezone.utc).date()
    for n in range((today - first).days + 1):
        when = datetime.combine(first + timedelta(days=n), time(), timezone.utc)
        found += store.select(
            f"""SELECT ?day ?since ?change ?seq WHERE {{ GRAPH <{CHANGES_GRAPH}> {{
                  ?change fimi:startedOn ?day ; prov:startedAtTime ?time ; fimi:sequence ?seq . FILTER(?time >= ?since) }} }}""",
            bind={"day": day(when), "since": moment})
    return sorted(((r["change"], r["seq"]) for r in found), key=lambda cs: cs[1])


def _matching(store: GraphStore, *, since: datetime | None, subject: str | None, state: str | None,
              source: str | None) -> list[tuple[str, int]]:
    """The changes that match, with their sequence numbers, in the order they were made."""
    if since is not None and subject is None and state is None and source is None \
            and (datetime.now(timezone.utc) - since).days < DAYS_LOOKED_UP:
        return _since(store, since)
    bind: dict[str, str | ox.Literal] = {}
    where = []
    # The most selective first: an effect's subject or state, or a source, picks few changes by the index;
    # a time alone is compared with every change's.
    for prop, name, value in (("aboutSubject", "subject", subject), ("aboutState", "state", state)):
        if value is not None:
            bind[name] = check_iri(value)
            where.append(f"?e fimi:{prop} ?{name} .")
    if where:
        where.append("?change fimi:effect ?e .")
    if source is not None:
        if ":" in source:  # an IRI; else the store's id of the source
            bind["source"] = check_iri(source)
            where.append("?change fimi:changedSource ?source .")
        else:
            bind["sid"] = ox.Literal(source)
            where.append("?change fimi:sourceId ?sid .")
    if since is not None:
        bind["since"] = ox.Literal(since.isoformat(), datatype=ox.NamedNode(str(XSD.dateTime)))
        where.append("?change prov:startedAtTime ?time . FILTER(?time >= ?since)")
    where.append("?change fimi:sequence ?seq .")
    projected = " ".join(f"?{v}" for v in bind)
    rows = store.select(
        f"SELECT DISTINCT {projected} ?change ?seq WHERE {{ GRAPH <{CHANGES_GRAPH}> {{ {' '.join(where)} }} }} ORDER BY ?seq",
        bind=bind)
    return [(r["change"], r["seq"]) for r in rows]


def _records(store: GraphStore, changes: list[str]) -> dict[str, dict[str, Any]]:
    """Each change's record as the log keeps it whole (``fimi:asJson``): of its records this store shows, the most restrictive."""
    found: dict[str, tuple[int, str]] = {}
    for batch in iri_batches(changes):
        for r in store.select(f"""SELECT ?c ?marking ?json WHERE {{ VALUES ?c {{ {batch} }} GRAPH <{CHANGES_GRAPH}> {{
                                    ?c fimi:recordAt ?r . ?r fimi:marking ?marking ; fimi:asJson ?json }} }}"""):
            rank = rank_of(r["marking"])
            if r["c"] not in found or rank > found[r["c"]][0]:
                found[r["c"]] = (rank, r["json"])
    return {c: json.loads(text) for c, (_, text) in found.items()}


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
    records = _records(store, [c for c, _ in page])
    entries = []
    for change, sequence in page:
        entry = {"sequence": sequence, **records[change]}
        for name in ("document", "previous_document"):
            if entry[name] is not None:
                entry[name]["href"] = f"/sources/{entry['source_id']}/original?sha256={entry[name]['sha256']}"
        entry["effects_total"] = len(entry["effects"])
        entry["effects"] = [dict(e, text=_effect_text(e)) for e in entry["effects"]
                            if (subject is None or e["subject"] == subject) and (state is None or e["state"] == state)]
        entry["summary"] = _summary(entry)
        entries.append(entry)
    return len(matching), entries


__all__ = ["DAYS_LOOKED_UP", "DEFAULT_LIMIT", "changes", "parse_since"]
