"""DISARM's incident master (``incidents.csv``, ``incidenttechniques.csv``) as one source document.

Each incident is a campaign (``DISARM["I00001"]``), attributed or not. ``attributions_seen`` is
the DISARM team's record of a third party's direct attribution at country level, with no grade,
confidence or evidence given: each country becomes a ``fimi:attributedTo`` claim at the weakest
grade (state-aligned), confidence :data:`ATTRIBUTION_CONFIDENCE` and no evidence type (unknown).
``found_in_country`` becomes ``fimi:targets``; the technique rows, ``fimi:usesTechnique`` of the
catalogue's techniques (``DISARM["T0049"]``, the nodes ``DISARM.json`` describes). Country names
are normalised by :mod:`fimigraph.countries`; ``docs/disarm.md`` has the tables.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS, XSD

from .countries import NOT_STATES, country_code, country_name, split_countries
from .errors import InputError
from .ingest import IngestResult, ingest
from .reason import DEFAULT_ENGINE
from .resources import data_dir
from .store import GraphStore
from .vocab import COUNTRY, DISARM, FIMI, PREFIXES

SOURCE = DISARM["incidents"]
"""The source document the incidents load as."""
PUBLISHER = DISARM["foundation"]
ATTRIBUTION_CONFIDENCE = 20
"""Confidence of an ``attributions_seen`` country: "Low" (1–29). DISARM gives none; a country named with no
evidence, grade or author is a weak claim, and a stronger source's claim about the same campaign must outweigh it."""
TECHNIQUE_CONFIDENCE = 50
"""Confidence of a technique row: "Med". DISARM's analysts map the technique and quote the evidence they read."""
TARGET_CONFIDENCE = 50
"""Confidence of a ``found_in_country`` target: "Med"."""
_INCIDENT = re.compile(r"^I\d{5}$")
_TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")


def default_paths() -> tuple[Path, Path]:
    """The incident and technique tables shipped in ``data/disarm/``."""
    folder = data_dir() / "disarm"
    return folder / "incidents.csv", folder / "incidenttechniques.csv"


def _rows(path: Path, required: Iterable[str]) -> list[dict[str, str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"{path}: no column {', '.join(missing)} (is it DISARM's {path.name}?)")
    return [{k: (v or "").replace("\xa0", " ").strip() for k, v in row.items() if k} for row in reader]


def _state(g: Graph, name: str, warnings: list[str], where: str) -> URIRef | None:
    code = country_code(name)
    if code is None:
        if name.lower() not in NOT_STATES:  # "World", "EU", "Unknown" name no state, as documented
            warnings.append(f"{where}: {name!r} names no state; left out")
        return None
    node = COUNTRY[code]
    g.add((node, RDF.type, FIMI.State))
    g.add((node, RDFS.label, Literal(country_name(code))))
    g.add((node, FIMI.countryCode, Literal(code)))
    return node


def _claim(g: Graph, iri: URIRef, s: URIRef, kind: URIRef, o: URIRef, quote: str, confidence: int) -> None:
    for p, v in ((RDF.type, FIMI.Claim), (FIMI.claimSubject, s), (FIMI.claimPredicate, kind), (FIMI.claimObject, o),
                 (FIMI.statedIn, SOURCE), (FIMI.quote, Literal(quote)),
                 (FIMI.confidence, Literal(confidence, datatype=XSD.integer))):
        g.add((iri, p, v))


def incidents_document(incidents: Path, techniques: Path | None = None) -> tuple[Graph, tuple[str, ...]]:
    """The incidents (and, given their table, the techniques each used) as one source document, with warnings."""
    g, warnings = Graph(), []
    for prefix, ns in PREFIXES.items():
        g.bind(prefix, ns)
    g.add((SOURCE, RDF.type, FIMI.Source))
    g.add((SOURCE, DCTERMS.title, Literal("DISARM incident master (incidents.csv, incidenttechniques.csv)")))
    g.add((SOURCE, DCTERMS.publisher, PUBLISHER))
    g.add((SOURCE, DCTERMS.rights, Literal("CC BY-SA 4.0, DISARM Foundation")))
    g.add((SOURCE, DCTERMS.source, URIRef("https://github.com/DISARMFoundation/DISARMframeworks")))
    g.add((PUBLISHER, RDFS.label, Literal("DISARM Foundation")))
    campaigns: dict[str, URIRef] = {}
    for row in _rows(incidents, ("disarm_id", "name", "attributions_seen", "found_in_country")):
        iid = row["disarm_id"]
        if not _INCIDENT.match(iid):
            warnings.append(f"{incidents.name}: {iid!r} is not an incident id (I00000); row left out")
            continue
        campaign = campaigns[iid] = DISARM[iid]
        g.add((campaign, RDF.type, FIMI.Campaign))
        g.add((campaign, SKOS.notation, Literal(iid)))
        if row["name"]:
            g.add((campaign, RDFS.label, Literal(row["name"])))
            if re.fullmatch(r"#\w+", row["name"]):
                g.add((campaign, FIMI.hashtag, Literal(row["name"])))
        if row.get("summary"):
            g.add((campaign, DCTERMS.description, Literal(row["summary"])))
        if re.fullmatch(r"\d{4}", row.get("year_started", "")):  # a year is no day: not fimi:activeFrom
            g.add((campaign, DCTERMS.date, Literal(row["year_started"], datatype=XSD.gYear)))
        for url in (row.get("urls") or "").split():
            if re.match(r"^https?://\S+$", url):
                g.add((campaign, RDFS.seeAlso, URIRef(url)))
        for name in split_countries(row["attributions_seen"]):
            state = _state(g, name, warnings, f"{iid} attributions_seen")
            if state is not None:
                claim = DISARM[f"{iid}/attributed-to/{state.rsplit('/', 1)[-1]}"]
                _claim(g, claim, campaign, FIMI.attributedTo, state, f"attributions_seen: {row['attributions_seen']}",
                       ATTRIBUTION_CONFIDENCE)
                g.add((claim, FIMI.claimedGrade, FIMI.StateAligned))
        for name in split_countries(row["found_in_country"]):
            state = _state(g, name, warnings, f"{iid} found_in_country")
            if state is not None:
                _claim(g, DISARM[f"{iid}/targets/{state.rsplit('/', 1)[-1]}"], campaign, FIMI.targets, state,
                       f"found_in_country: {row['found_in_country']}", TARGET_CONFIDENCE)
    for row in _rows(techniques, ("disarm_id", "name", "incident_id", "technique_ids")) if techniques else []:
        campaign = campaigns.get(row["incident_id"])
        if campaign is None:
            warnings.append(f"{row['disarm_id']}: incident {row['incident_id']!r} is not in {incidents.name}; row left out")
            continue
        for tid in (t.strip() for t in row["technique_ids"].split(",")):
            if not _TECHNIQUE.match(tid):
                warnings.append(f"{row['disarm_id']}: {tid!r} is not a DISARM technique id; left out")
                continue
            g.add((DISARM[tid], RDF.type, FIMI.Technique))
            g.add((DISARM[tid], FIMI.disarmId, Literal(tid)))
            _claim(g, DISARM[f"{row['disarm_id']}/{tid}"], campaign, FIMI.usesTechnique, DISARM[tid],
                   row["name"] or f"technique_ids: {row['technique_ids']}", TECHNIQUE_CONFIDENCE)
    return g, tuple(warnings)


def load_incidents(store: GraphStore, incidents: Path, techniques: Path | None = None, *, replace: bool = False,
                   engine: str = DEFAULT_ENGINE) -> IngestResult:
    """Validate and load the incidents as one source (like ``fimigraph load``); warnings travel in the result."""
    graph, warnings = incidents_document(incidents, techniques)
    result = ingest(store, graph.serialize(format="nt", encoding="utf-8"), media_type="application/n-triples",
                    replace=replace, engine=engine)
    return IngestResult(**{**result.__dict__, "warnings": (*warnings, *result.warnings)})
