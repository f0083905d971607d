"""Conflicts to review: every disagreement the rules found, both sides with their sources and quotes.

A conflict is a direct attribution against a negative finding for the same subject and state,
or a claim another source disputes (``rules/inference/attribution-conflict.ttl``,
``disputed-claim.ttl``). Nothing resolves one by deleting a side: an analyst's own assessment
is a claim of the analyst's organization, a source like any other (``docs/auditing.md``).
"""

from __future__ import annotations

from typing import Any

from .attribution import check_iri, conflict_sides, group_conflicts, labels
from .store import GraphStore, lateral_optional
from .vocab import INFERRED_GRAPH

DEFAULT_LIMIT = 50
"""Conflicts per page unless asked for another number."""


def conflicts(store: GraphStore, *, state: str | None = None, subject: str | None = None, source: str | None = None,
              limit: int = DEFAULT_LIMIT, offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """One page of the conflicts (about ``state``, ``subject``, resting on ``source`` when given), and how many there are."""
    bind: dict[str, str] = {}
    where = ["?conflict a fimi:Conflict ; fimi:linkSubject ?about ."]
    if subject is not None:
        bind["subject"] = check_iri(subject)
        where.append("?conflict fimi:linkSubject ?subject .")
    if state is not None:
        bind["state"] = check_iri(state)
        where.append("?conflict fimi:linkTarget ?state .")
    if source is not None:  # a source behind either side (or the dispute itself)
        bind["source"] = store.source(source).iri
        where.append("?conflict fimi:proofSource ?source .")
    projected = " ".join(f"?{v}" for v in bind)
    # Conflicts found at an organ are found once more at its state: list those.
    rows = store.select(
        f"""SELECT {projected} ?conflict WHERE {{
              GRAPH <{INFERRED_GRAPH}> {{ {' '.join(where)} }}
              {lateral_optional(str(INFERRED_GRAPH), "conflict", "fimi:linkTarget", "target")}
              FILTER(!BOUND(?target) || EXISTS {{ ?target a fimi:State }})
            }} ORDER BY ?conflict""",
        bind=bind,
    )
    found = list(dict.fromkeys(r["conflict"] for r in rows))
    page = found[offset:offset + limit]
    if not page:
        return len(found), []
    sides = conflict_sides(store, set(page))
    subjects = {r["conflict"]: r["s"] for r in store.select(
        f"SELECT ?conflict ?s WHERE {{ VALUES ?conflict {{ {' '.join(f'<{c}>' for c in page)} }} "
        f"GRAPH <{INFERRED_GRAPH}> {{ ?conflict fimi:linkSubject ?s }} }}")}
    names = labels(store, {*subjects.values(), *(r["source"] for r in sides if r["source"]), *(r["state"] for r in sides if r["state"])})
    grouped = {c["conflict"]: c for c in group_conflicts(sides, names)}
    return len(found), [
        {"conflict": c, "subject": subjects.get(c), "subject_label": names.get(subjects.get(c) or ""), **grouped[c]}
        for c in page if c in grouped
    ]


__all__ = ["DEFAULT_LIMIT", "conflicts"]
