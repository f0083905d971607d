"""Entities by label or IRI: what the workbench's type-ahead and graph ask of the store.

Every value a caller sends is bound into the queries (``GraphStore.select(..., bind=...)``),
never pasted into their text.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pyoxigraph as ox
from rdflib import URIRef
from rdflib.namespace import RDFS

from .attribution import check_iri, labels, subject_exists
from .errors import InputError
from .ontology import ontology_graph
from .store import GraphStore
from .vocab import FIMI, INFERRED_GRAPH, ONTOLOGY_GRAPH

MAX_QUERY_LENGTH = 200
"""The longest search text accepted: a label or an IRI, not a document."""
MAX_RESULTS = 50
"""The most entities one search returns."""
MAX_IRIS = 100
"""The most IRIs one lookup describes."""
_CANDIDATES = 1000
"""Matching (entity, label) rows read per search pass, before ranking: the scan stays bounded on any store."""

# The kinds the workbench draws, most specific first: a state organ is also an organization (an
# actor), a party too; the first class an entity has (or is below) names its kind.
_KINDS = [
    (FIMI.State, "state"), (FIMI.StateOrgan, "organ"), (FIMI.PoliticalParty, "party"), (FIMI.Account, "account"),
    (FIMI.Campaign, "campaign"), (FIMI.Narrative, "narrative"), (FIMI.Source, "source"), (FIMI.Claim, "claim"),
    (FIMI.Actor, "actor"), (FIMI.Platform, "platform"), (FIMI.Event, "event"), (FIMI.Technique, "technique"),
]


@cache
def _kind_of_class() -> dict[str, str]:
    """Every ontology class under one of the kinds, mapped to that kind (the most specific kind wins)."""
    graph = ontology_graph()
    found: dict[str, str] = {}
    for cls, kind in reversed(_KINDS):  # later (more specific) kinds overwrite earlier ones
        for sub in graph.transitive_subjects(RDFS.subClassOf, URIRef(cls)):
            found[str(sub)] = kind
    return found


def kind(types: list[str]) -> str:
    """The workbench's kind of an entity with these rdf:types ("other" when none is known)."""
    known = _kind_of_class()
    order = [k for _, k in _KINDS]
    kinds = [known[t] for t in types if t in known]
    return min(kinds, key=order.index) if kinds else "other"


def _types(store: GraphStore, iri: str) -> list[str]:
    return sorted({r["t"] for r in store.select("SELECT DISTINCT ?x ?t WHERE { ?x a ?t }", bind={"x": iri})})


def _entity(store: GraphStore, iri: str, label: str | None) -> dict[str, Any]:
    types = _types(store, iri)
    return {"iri": iri, "label": label, "kind": kind(types), "types": types}


def search(store: GraphStore, text: str, *, limit: int = 10) -> list[dict[str, Any]]:
    """Entities whose label or IRI contains ``text`` (case-insensitive), best first.

    An exact IRI first, then labels equal to the text, then labels that start with it, then
    labels that hold it, then IRIs that hold it; shorter labels before longer ones. Entities of the ontology and inferred nodes
    are not searched (they have no label of their own).
    """
    text = text.strip()
    if not text:
        raise InputError("give a text to search for (q)")
    if len(text) > MAX_QUERY_LENGTH:
        raise InputError(f"the search text has {len(text)} characters; at most {MAX_QUERY_LENGTH}")
    limit = max(1, min(limit, MAX_RESULTS))
    needle = text.lower()
    found: dict[str, str | None] = {}
    if _iri_like(text) and subject_exists(store, text):
        found[text] = labels(store, {text}).get(text)
    # Two passes over the labels: those that start with the text, then those that contain it
    # (in the label or the IRI). Each reads at most _CANDIDATES rows, so a one-letter search
    # costs one scan of the labels, not a sort of all of them.
    for test in ("STRSTARTS(LCASE(STR(?l)), ?q)", "CONTAINS(LCASE(STR(?l)), ?q) || CONTAINS(LCASE(STR(?x)), ?q)"):
        if len(found) >= limit:
            break
        rows = store.select(
            f"""SELECT DISTINCT ?x ?l ?q WHERE {{
                  GRAPH ?g {{ ?x rdfs:label ?l }}
                  FILTER(?g != <{ONTOLOGY_GRAPH}> && ?g != <{INFERRED_GRAPH}>)
                  FILTER({test})
                }} LIMIT {_CANDIDATES}""",
            bind={"q": ox.Literal(needle)},
        )
        best: dict[str, str] = {}
        for r in rows:
            label = str(r["l"])
            if r["x"] not in best or (len(label), label) < (len(best[r["x"]]), best[r["x"]]):
                best[r["x"]] = label
        # Labels equal to the text first, then labels holding it, then IRIs holding it; shorter first.
        ranked = sorted(best.items(), key=lambda item: (
            item[1].lower() != needle, needle not in item[1].lower(), len(item[1]), item[1], item[0]))
        for iri, label in ranked:
            if len(found) >= limit:
                break
            found.setdefault(iri, label)
    return [_entity(store, iri, label) for iri, label in found.items()]


def describe(store: GraphStore, iris: list[str]) -> list[dict[str, Any]]:
    """Label and kind of each IRI, in the order given (an IRI no graph mentions has no label and kind "other")."""
    if len(iris) > MAX_IRIS:
        raise InputError(f"{len(iris)} IRIs asked for; at most {MAX_IRIS} at a time")
    return [_entity(store, iri, _label(store, iri)) for iri in dict.fromkeys(check_iri(i) for i in iris)]


def _label(store: GraphStore, iri: str) -> str | None:
    """The smallest rdfs:label, else the smallest dcterms:title (as ``attribution.labels``, for one bound IRI)."""
    for prop in ("rdfs:label", "dcterms:title"):
        rows = store.select(f"SELECT ?x (MIN(STR(?l)) AS ?label) WHERE {{ ?x {prop} ?l }} GROUP BY ?x", bind={"x": iri})
        if rows and rows[0]["label"] is not None:
            return rows[0]["label"]
    return None


def _iri_like(text: str) -> bool:
    try:
        check_iri(text)
        ox.NamedNode(text)
    except (InputError, ValueError):
        return False
    return True
