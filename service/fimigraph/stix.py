"""STIX 2.1 in and out: one bundle becomes one source document; attribution links become a bundle.

Import — :func:`import_bundle` (graph, source IRI, warnings); :func:`bundle_to_graph` (graph, warnings)
------------------------------------------------------------------------------------------------
The source is the bundle's ``report`` if it holds exactly one (``fimi:Report``: title = ``name``,
``dcterms:issued`` = date of ``published``, publisher = its ``created_by_ref`` identity, labelled);
otherwise the bundle itself (``fimi:Source``, title "STIX bundle <id>", publisher = the one
``created_by_ref`` that all objects share; none when they disagree or there is none, and the
SHACL shapes then reject the document — 422 — rather than fimigraph guessing an author).

IRIs: ``STIX[<stix-id>]`` for objects and claims (one claim per relationship); an object that
carries fimigraph's extension with an ``iri`` keeps that IRI, so an exported bundle re-imports
onto the same nodes.

=========================================================  ==========================================
STIX object                                                fimigraph class
=========================================================  ==========================================
identity ``individual`` / ``organization``, ``group``      fimi:Person / fimi:Organization
  … organization with a ``government*`` sector or          fimi:StateOrgan (conservative: only these)
  ``x_opencti_organization_type`` government/state-organ
  … ``x_opencti_organization_type`` political-party,       fimi:PoliticalParty, fimi:MediaOutlet, …
  media, ngo, company
  … ``class`` / ``system`` / ``unknown``                   fimi:Entity
location country (``x_opencti_location_type`` Country,     fimi:State (regions, cities: not imported)
  or a ``country`` code without finer address)
intrusion-set; threat-actor (individual when OpenCTI's     fimi:Organization; fimi:Person / Organization
  type is Threat-Actor-Individual or resource_level is
  ``individual``)
campaign (first_seen/last_seen → activeFrom/activeUntil;   fimi:Campaign
  a ``#name`` or ``#alias`` → fimi:hashtag)
channel (OpenCTI), narrative (OpenCTI), event (OpenCTI)    fimi:Account, fimi:Narrative, fimi:Event
attack-pattern (DISARM ``T…`` external_id → disarmId)      fimi:Technique
report                                                     fimi:Report (the source, see above)
=========================================================  ==========================================
fimigraph's extension may name the class outright (``kind``: "political-party", "state-organ", …).

==============================================  =================================================
relationship                                    claim
==============================================  =================================================
X attributed-to state / state organ             X fimi:attributedTo S, claimedGrade from the
                                                extension's ``grade``, else state-linked (below)
campaign attributed-to actor                    actor fimi:conducts campaign
channel attributed-to / belongs-to actor        actor fimi:operates account (a state counts)
actor attributed-to organization                actor fimi:affiliatedWith org (role associate)
campaign uses channel; actor uses channel       fimi:usesAccount; actor fimi:operates account
X uses narrative / attack-pattern               fimi:promotes / fimi:usesTechnique
X targets Y                                     fimi:targets
organ part-of state                             fimi:organOf
person/org part-of organization                 fimi:affiliatedWith (role member)
any relationship with the extension's           that link kind, source_ref → target_ref
``link_kind`` (e.g. ``related-to`` +
ruling-party-of / not-directly-linked-to)
anything else (related-to, located-at, …)       skipped, with a warning
==============================================  =================================================
Non-organ organization part-of a state is skipped with a warning: as fimi:affiliatedWith it would
make the organization state-linked (rule working-for-state), which "part-of" does not say.

Decisions
- confidence: the relationship's; else the report's; else ``DEFAULT_CONFIDENCE`` = 50, the middle
  of STIX's "Med" band — STIX makes confidence optional, fimigraph's shapes require one.
- A bare ``attributed-to`` a state claims ``DEFAULT_ATTRIBUTION_GRADE`` = state-linked: in threat
  intelligence an attribution to a state means covert state involvement (EEAS "state-linked"),
  not an official channel, and nothing in plain STIX says "controlled".
- quote: the extension's ``quote``; else the relationship's ``description``; else the relationship
  object itself as compact JSON (keys in source order) — what the source said, nothing invented.
- marking: the most restrictive TLP among the relationship's ``object_marking_refs`` and the
  report's (TLP 1.0, TLP 2.0 and OpenCTI ids, or marking-definition objects in the bundle; TLP:WHITE
  reads as TLP:CLEAR); none found → no fimi:marking (= TLP:CLEAR).
- start_time/stop_time (and first_seen/last_seen) keep their date; OpenCTI's "unknown" sentinels
  (1970-01-01 and years ≥ 5000) are dropped.
- fimigraph's extension on a relationship may carry ``grade``, ``directness`` (recorded as
  fimi:directness on the claim: how the exporting system reached it), ``role``, ``evidence_type``,
  ``valid_from``/``valid_until``, ``quote``, ``confidence``; on an object ``iri``, ``kind`` and
  ``not_directly_linked`` (each becomes a fimi:notDirectlyLinkedTo claim). Bad values in the
  extension raise InputError; unknown STIX types only warn.
- Errors: not JSON → ParseError (line, column); not a bundle / object without type or id /
  relationship without refs / malformed timestamp → InputError, one line naming the object.

Export — :func:`attribution_to_stix`
------------------------------------
The JSON of ``GET /attribution`` becomes a bundle: fimigraph's producer identity, the
``extension-definition`` (``EXTENSION_ID``, schema ``EXTENSION_SCHEMA``, property-extension), the
TLP 2.0 marking-definitions used, the subject (STIX type from ``kinds``: campaign, identity,
channel, …; default identity), each state (location, ``x_opencti_location_type`` Country, ISO code
from ``countries`` when given) and one ``attributed-to`` relationship per link with ``confidence``,
``start_time``/``stop_time`` and the extension (link, grade, directness, via, rule, marking).
Negative findings and conflicts travel in the extension on the subject. Ids are uuid5 of the
IRIs; every timestamp is ``created`` (default ``EXPORT_EPOCH``) so the same input gives the same
bundle — callers that re-publish changed links must pass a later ``created``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from hashlib import sha256
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS, XSD

from .errors import InputError, ParseError
from .ontology import ontology_graph
from .vocab import FIMI, PREFIXES, STIX

EXTENSION_SCHEMA = str(STIX) + "extension"
"""Schema URL of fimigraph's STIX property extension."""
_UUID_NS = uuid.uuid5(uuid.NAMESPACE_URL, str(STIX))
EXTENSION_ID = f"extension-definition--{uuid.uuid5(uuid.NAMESPACE_URL, EXTENSION_SCHEMA)}"
"""Fixed id of fimigraph's ``extension-definition`` (uuid5 of the schema URL)."""
PRODUCER_ID = f"identity--{uuid.uuid5(_UUID_NS, 'fimigraph')}"
"""The ``identity`` of fimigraph as producer of exported bundles."""
EXTENSION_CREATED = "2025-01-01T00:00:00.000Z"
EXPORT_EPOCH = "1970-01-01T00:00:00.000Z"
"""Default timestamp of exported objects when the caller gives none (deterministic output)."""

DEFAULT_CONFIDENCE = 50
DEFAULT_ATTRIBUTION_GRADE = "state-linked"

TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_MARKINGS = {
    "TLP:CLEAR": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "TLP:GREEN": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "TLP:AMBER": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "TLP:AMBER+STRICT": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "TLP:RED": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
"""TLP 2.0 marking-definition ids (OASIS TLP 2.0 extension), used on export."""
_KNOWN_MARKINGS = {
    **{v: k for k, v in TLP2_MARKINGS.items()},
    # STIX 2.1 §7.2.1.4 predefined TLP 1.0 markings (WHITE reads as CLEAR) …
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "TLP:CLEAR",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "TLP:GREEN",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "TLP:AMBER",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "TLP:RED",
    # … and OpenCTI's fixed id for TLP:AMBER+STRICT.
    "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37": "TLP:AMBER+STRICT",
}
_OCTI_EXT = "extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba"

_GOVERNMENT_SECTOR = re.compile(r"^government(-[a-z-]+)?$")
_ORG_TYPES = {
    "government": "state-organ", "state-organ": "state-organ", "state organ": "state-organ",
    "political-party": "political-party", "political party": "political-party", "party": "political-party",
    "media": "media-outlet", "media-outlet": "media-outlet", "ngo": "ngo", "company": "company",
}
_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}:\d{2}(\.\d+)?Z)?$")
_DISARM_ID = re.compile(r"^T\d{4}(\.\d{3})?$")
_STIX_ID = re.compile(r"^([a-z0-9][a-z0-9-]*[a-z0-9])--[0-9a-fA-F-]{36}$")


# --------------------------------------------------------------------------- ontology lookups

def _kebab(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).lower()


def _local(term: URIRef) -> str:
    return str(term)[len(str(FIMI)):]


@cache
def _concepts(cls: URIRef) -> dict[str, URIRef]:
    """skos:notation → member of ``cls`` (grades, directness, markings, roles, evidence types)."""
    g = ontology_graph()
    return {str(g.value(s, SKOS.notation)): s for s in g.subjects(RDF.type, cls) if g.value(s, SKOS.notation) is not None}


@cache
def link_kinds() -> dict[str, URIRef]:
    """Link-kind name as used in the extension (kebab-case local name) → fimi:LinkKind property."""
    g = ontology_graph()
    return {_kebab(_local(s)): s for s in g.subjects(RDF.type, FIMI.LinkKind) if str(s).startswith(str(FIMI))}


@cache
def entity_kinds() -> dict[str, URIRef]:
    """Entity kind as used in the extension (kebab-case local name) → class below fimi:Entity."""
    g = ontology_graph()
    return {_kebab(_local(c)): c for c in g.transitive_subjects(RDFS.subClassOf, FIMI.Entity)
            if isinstance(c, URIRef) and str(c).startswith(str(FIMI))}


@cache
def _marking_rank() -> dict[str, int]:
    g = ontology_graph()
    return {n: int(g.value(m, FIMI.rank)) for n, m in _concepts(FIMI.TLPMarking).items()}


def _kind_of(value: str) -> str:
    """Normalise a kind hint: a kebab-case kind, or a class IRI under fimi:."""
    return _kebab(value[len(str(FIMI)):]) if value.startswith(str(FIMI)) else value


# --------------------------------------------------------------------------- import

@dataclass(frozen=True)
class StixImport:
    """The result of importing one bundle: the source document graph, its source IRI, warnings."""

    graph: Graph
    source: URIRef
    warnings: tuple[str, ...] = ()


def bundle_to_graph(data: bytes | str) -> tuple[Graph, tuple[str, ...]]:
    """Turn one STIX 2.1 bundle into one fimigraph source document graph, with the import warnings."""
    result = import_bundle(data)
    return result.graph, result.warnings


def import_bundle(data: bytes | str) -> StixImport:
    """Turn one STIX 2.1 bundle into one source document graph, with the source IRI and warnings."""
    return _Importer(_parse_bundle(data)).run()


def _parse_bundle(data: bytes | str) -> dict[str, Any]:
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            text = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ParseError(f"STIX bundle is not UTF-8 text: {exc.reason} at byte {exc.start}") from exc
    else:
        text = data
    try:
        bundle = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"STIX bundle is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                         extra={"line": exc.lineno, "column": exc.colno}) from exc
    except RecursionError as exc:
        raise ParseError("STIX bundle is not valid JSON: nested too deeply") from exc
    if not isinstance(bundle, dict):
        raise InputError(f"not a STIX bundle: the JSON is a {type(bundle).__name__}, expected an object with type 'bundle'")
    if bundle.get("type") != "bundle":
        raise InputError(f"not a STIX bundle: top-level type is {bundle.get('type')!r}, expected 'bundle'")
    bid = bundle.get("id")
    if not isinstance(bid, str) or not bid.startswith("bundle--"):
        raise InputError(f"not a STIX bundle: id {bid!r} is missing or not of the form bundle--<uuid>")
    objects = bundle.get("objects", [])
    if not isinstance(objects, list):
        raise InputError(f"{bid}: 'objects' is not a list")
    for i, obj in enumerate(objects):
        if not isinstance(obj, dict):
            raise InputError(f"{bid}: objects[{i}] is not a JSON object")
        otype, oid = obj.get("type"), obj.get("id")
        if not isinstance(otype, str) or not otype:
            raise InputError(f"{bid}: objects[{i}] has no 'type'")
        if not isinstance(oid, str) or not oid.startswith(otype + "--"):
            raise InputError(f"{bid}: objects[{i}] ({otype}) has no 'id' of the form {otype}--<uuid>")
    return bundle


def _date(value: Any, where: str) -> date | None:
    """The date of a STIX timestamp; None for OpenCTI's 'unknown' sentinels."""
    if value is None:
        return None
    m = _TIMESTAMP.match(value) if isinstance(value, str) else None
    try:
        day = date.fromisoformat(m.group(1)) if m else None
    except ValueError:
        day = None
    if day is None:
        raise InputError(f"{where} is not a STIX timestamp: {value!r}")
    if day == date(1970, 1, 1) or day.year >= 5000:
        return None
    return day


def _compact(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class _Importer:
    def __init__(self, bundle: dict[str, Any]) -> None:
        self.bundle = bundle
        self.bid: str = bundle["id"]
        self.warnings: list[str] = []
        self.g = Graph()
        for prefix, ns in PREFIXES.items():
            self.g.bind(prefix, ns)
        self.g.bind("stix", str(STIX))
        # Several versions of one object may travel together: the latest `modified` wins.
        self.objects: dict[str, dict[str, Any]] = {}
        for obj in bundle.get("objects", []):
            old = self.objects.get(obj["id"])
            if old is None or str(obj.get("modified", "")) >= str(old.get("modified", "")):
                self.objects[obj["id"]] = obj
        self.nodes: dict[str, URIRef] = {}
        self.classes: dict[str, URIRef] = {}
        self.stix_types: dict[str, str] = {}

    # ----- helpers
    def _ext(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        ext = (obj.get("extensions") or {}).get(EXTENSION_ID)
        if ext is None:
            return {}
        if not isinstance(ext, dict):
            raise InputError(f"{obj['id']}: the fimigraph extension is not a JSON object")
        return ext

    def _concept(self, cls: URIRef, notation: Any, what: str, where: str) -> URIRef:
        table = _concepts(cls)
        if notation not in table:
            raise InputError(f"{where}: fimigraph extension {what} {notation!r} is not one of {', '.join(sorted(table))}")
        return table[notation]

    def _node(self, obj: Mapping[str, Any]) -> URIRef:
        iri = self._ext(obj).get("iri")
        if isinstance(iri, str) and re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$", iri):
            return URIRef(iri)
        return STIX[obj["id"]]

    def _marking(self, refs: Iterable[Any]) -> str | None:
        """Most restrictive TLP notation among marking refs; None when there is none."""
        found = [n for n in (self._tlp(r) for r in refs if isinstance(r, str)) if n]
        return max(found, key=lambda n: _marking_rank()[n]) if found else None

    def _tlp(self, ref: str) -> str | None:
        if ref in _KNOWN_MARKINGS:
            return _KNOWN_MARKINGS[ref]
        md = self.objects.get(ref)
        if md is None:
            return None
        candidates = [md.get("name"), md.get("x_opencti_definition")]
        if md.get("definition_type") == "tlp" and isinstance(md.get("definition"), dict):
            candidates.append("TLP:" + str(md["definition"].get("tlp", "")))
        tlp2 = (md.get("extensions") or {}).get(TLP2_EXTENSION_ID)
        if isinstance(tlp2, dict):
            candidates.append("TLP:" + str(tlp2.get("tlp_2_0", "")))
        for c in candidates:
            if isinstance(c, str):
                n = c.strip().upper().replace("TLP:WHITE", "TLP:CLEAR")
                if n in _marking_rank():
                    return n
        return None

    # ----- entities
    def _classify(self, obj: dict[str, Any]) -> URIRef | None:
        ext_kind = self._ext(obj).get("kind")
        if ext_kind is not None:
            kinds = entity_kinds()
            if ext_kind not in kinds:
                raise InputError(f"{obj['id']}: fimigraph extension kind {ext_kind!r} is not one of {', '.join(sorted(kinds))}")
            return kinds[ext_kind]
        t = obj["type"]
        octi = (obj.get("extensions") or {}).get(_OCTI_EXT) or {}
        octi_type = str(octi.get("type") or obj.get("x_opencti_type") or "")
        if t == "identity":
            cls = str(obj.get("identity_class", "")).lower()
            if cls == "individual":
                return FIMI.Person
            if cls in ("organization", "group"):
                org_type = str(obj.get("x_opencti_organization_type") or "").strip().lower()
                sectors = [str(s).lower() for s in obj.get("sectors") or []]
                if any(_GOVERNMENT_SECTOR.match(s) for s in sectors):
                    return FIMI.StateOrgan
                if org_type in _ORG_TYPES:
                    return entity_kinds()[_ORG_TYPES[org_type]]
                return FIMI.Organization
            return FIMI.Entity
        if t == "location":
            ltype = str(obj.get("x_opencti_location_type") or octi_type).lower()
            finer = any(obj.get(k) for k in ("city", "administrative_area", "street_address", "postal_code", "latitude"))
            if ltype == "country" or (not ltype and obj.get("country") and not finer):
                return FIMI.State
            return None
        if t == "intrusion-set":
            return FIMI.Organization
        if t == "threat-actor":
            individual = octi_type.lower() == "threat-actor-individual" or str(obj.get("resource_level", "")).lower() == "individual"
            return FIMI.Person if individual else FIMI.Organization
        return {
            "campaign": FIMI.Campaign, "channel": FIMI.Account, "narrative": FIMI.Narrative,
            "event": FIMI.Event, "attack-pattern": FIMI.Technique,
        }.get(t)

    def _entities(self) -> None:
        ignored: dict[str, int] = {}
        for oid, obj in self.objects.items():
            t = obj["type"]
            if t in ("relationship", "report", "marking-definition", "extension-definition", "language-content"):
                continue
            cls = self._classify(obj)
            if cls is None:
                ignored[t] = ignored.get(t, 0) + 1
                continue
            node = self._node(obj)
            self.nodes[oid], self.classes[oid], self.stix_types[oid] = node, cls, t
            g = self.g
            g.add((node, RDF.type, cls))
            if isinstance(obj.get("name"), str) and obj["name"].strip():
                g.add((node, RDFS.label, Literal(obj["name"])))
            if isinstance(obj.get("description"), str) and obj["description"].strip():
                g.add((node, DCTERMS.description, Literal(obj["description"])))
            if cls == FIMI.Campaign:
                for prop, key in ((FIMI.activeFrom, "first_seen"), (FIMI.activeUntil, "last_seen")):
                    day = _date(obj.get(key), f"{oid} {key}")
                    if day:
                        g.add((node, prop, Literal(day, datatype=XSD.date)))
                for name in [obj.get("name"), *(obj.get("aliases") or [])]:
                    if isinstance(name, str) and re.fullmatch(r"#\w+", name.strip()):
                        g.add((node, FIMI.hashtag, Literal(name.strip())))
            if cls == FIMI.Account:
                for alias in obj.get("aliases") or []:
                    if isinstance(alias, str) and alias.startswith("@"):
                        g.add((node, FIMI.handle, Literal(alias)))
            if cls == FIMI.Technique:
                for ref in obj.get("external_references") or []:
                    if not isinstance(ref, dict):
                        continue
                    disarm = "disarm" in str(ref.get("source_name", "")).lower() or "disarm" in str(ref.get("url", "")).lower()
                    if disarm and _DISARM_ID.match(str(ref.get("external_id", ""))):
                        g.add((node, FIMI.disarmId, Literal(ref["external_id"])))
        if ignored:
            self.warnings.append("objects of types fimigraph does not model were not imported: "
                                 + ", ".join(f"{t} ×{n}" for t, n in sorted(ignored.items())))

    # ----- source
    def _source(self) -> tuple[URIRef, dict[str, Any] | None]:
        reports = [o for o in self.objects.values() if o["type"] == "report"]
        g = self.g
        if len(reports) == 1:
            report = reports[0]
            src = self._node(report)
            g.add((src, RDF.type, FIMI.Report))
            if isinstance(report.get("name"), str) and report["name"].strip():
                g.add((src, DCTERMS.title, Literal(report["name"])))
            day = _date(report.get("published"), f"{report['id']} published")
            if day:
                g.add((src, DCTERMS.issued, Literal(day, datatype=XSD.date)))
            if isinstance(report.get("description"), str) and report["description"].strip():
                g.add((src, DCTERMS.description, Literal(report["description"])))
            publisher = report.get("created_by_ref") or self._common_author()
        else:
            if len(reports) > 1:
                self.warnings.append(f"{len(reports)} reports in the bundle: the bundle itself is the source")
            report = None
            src = STIX[self.bid]
            g.add((src, RDF.type, FIMI.Source))
            g.add((src, DCTERMS.title, Literal(f"STIX bundle {self.bid}")))
            publisher = self._common_author()
        g.add((src, DCTERMS.identifier, Literal(report["id"] if report else self.bid)))
        if isinstance(publisher, str) and _STIX_ID.match(publisher):
            author = self.objects.get(publisher)
            pnode = self.nodes.get(publisher) or (self._node(author) if author else STIX[publisher])
            g.add((src, DCTERMS.publisher, pnode))
            if author and isinstance(author.get("name"), str):
                g.add((pnode, RDFS.label, Literal(author["name"])))
            reliability = (report or {}).get("x_opencti_reliability") or (author or {}).get("x_opencti_reliability")
            if isinstance(reliability, str) and reliability[:1] and reliability[:1] in "ABCDEF":
                g.add((src, FIMI.reliability, Literal(reliability[:1])))
        else:
            self.warnings.append("no publisher: the bundle names no single created_by_ref identity")
        return src, report

    def _common_author(self) -> str | None:
        authors = {o.get("created_by_ref") for o in self.objects.values()
                   if o["type"] not in ("marking-definition", "extension-definition") and o.get("created_by_ref")}
        return authors.pop() if len(authors) == 1 else None

    # ----- claims
    def _map(self, rel: dict[str, Any], kind: str | None) -> tuple[URIRef, str, str, URIRef | None] | str:
        """(predicate, subject id, object id, role) for a relationship, or the reason to skip it."""
        rtype, s, o = rel["relationship_type"], rel["source_ref"], rel["target_ref"]
        if kind is not None:
            kinds = link_kinds()
            if kind not in kinds or kind == "disputes":
                raise InputError(f"{rel['id']}: fimigraph extension link_kind {kind!r} is not one of "
                                 + ", ".join(sorted(k for k in kinds if k != "disputes")))
            return kinds[kind], s, o, None
        cs, co = self.classes[s], self.classes[o]
        sup = ontology_graph().transitive_objects
        is_ = lambda c, base: base in set(sup(c, RDFS.subClassOf))  # noqa: E731
        state_like = co in (FIMI.State, FIMI.StateOrgan)
        if rtype == "attributed-to":
            if state_like:
                return FIMI.attributedTo, s, o, None
            if cs == FIMI.Campaign and is_(co, FIMI.Actor):
                return FIMI.conducts, o, s, None
            if cs == FIMI.Account and is_(co, FIMI.Actor):
                return FIMI.operates, o, s, None
            if is_(cs, FIMI.Actor) and is_(co, FIMI.Organization):
                return FIMI.affiliatedWith, s, o, _concepts(FIMI.Role)["associate"]
        elif rtype == "belongs-to":
            if cs == FIMI.Account and is_(co, FIMI.Actor):
                return FIMI.operates, o, s, None
        elif rtype == "uses":
            if co == FIMI.Account and cs == FIMI.Campaign:
                return FIMI.usesAccount, s, o, None
            if co == FIMI.Account and is_(cs, FIMI.Actor):
                return FIMI.operates, s, o, None
            if co == FIMI.Narrative:
                return FIMI.promotes, s, o, None
            if co == FIMI.Technique:
                return FIMI.usesTechnique, s, o, None
        elif rtype == "targets":
            return FIMI.targets, s, o, None
        elif rtype == "part-of":
            if cs == FIMI.StateOrgan and co == FIMI.State:
                return FIMI.organOf, s, o, None
            if co == FIMI.State:
                return ("part-of a state is only read for state organs; as an affiliation it would "
                        "make the organization state-linked")
            if is_(cs, FIMI.Actor) and is_(co, FIMI.Organization):
                return FIMI.affiliatedWith, s, o, _concepts(FIMI.Role)["member"]
        return f"no fimigraph link kind for {self.stix_types[s]} {rtype} {self.stix_types[o]}"

    def _claims(self, src: URIRef, report: dict[str, Any] | None) -> None:
        report_conf = (report or {}).get("confidence")
        report_refs = (report or {}).get("object_marking_refs") or []
        skipped: dict[str, list[str]] = {}
        for rid, rel in self.objects.items():
            if rel["type"] != "relationship":
                continue
            for key in ("relationship_type", "source_ref", "target_ref"):
                if not isinstance(rel.get(key), str) or not rel[key]:
                    raise InputError(f"{rid}: relationship has no {key}")
            if rel.get("revoked") is True:
                self.warnings.append(f"{rid}: revoked, skipped")
                continue
            ext = self._ext(rel)
            missing = [r for r in (rel["source_ref"], rel["target_ref"]) if r not in self.nodes]
            if missing:
                why = "not in the bundle" if missing[0] not in self.objects else "of a type fimigraph does not model"
                self.warnings.append(f"{rid}: skipped {rel['relationship_type']}: {missing[0]} is {why}")
                continue
            mapped = self._map(rel, ext.get("link_kind"))
            if isinstance(mapped, str):
                skipped.setdefault(f"skipped {rel['relationship_type']}: {mapped}", []).append(rid)
                continue
            pred, s, o, role = mapped
            quote = ext.get("quote") or rel.get("description")
            if not isinstance(quote, str) or not quote.strip():
                quote = _compact(rel)
            conf = next((c for c in (ext.get("confidence"), rel.get("confidence"), report_conf) if c is not None),
                        DEFAULT_CONFIDENCE)
            grade = ext.get("grade", DEFAULT_ATTRIBUTION_GRADE) if pred == FIMI.attributedTo else ext.get("grade")
            self._claim(
                STIX[rid], src, self.nodes[s], pred, self.nodes[o], quote=quote, confidence=conf, where=rid,
                marking=ext.get("marking") or self._marking([*(rel.get("object_marking_refs") or []), *report_refs]),
                valid_from=ext.get("valid_from") or rel.get("start_time"),
                valid_until=ext.get("valid_until") or rel.get("stop_time"),
                grade=grade, directness=ext.get("directness"),
                role=ext.get("role") if ext.get("role") is not None else role,
                evidence=ext.get("evidence_type"),
            )
        # One line per relationship, unless many share a reason (e.g. DISARM's 288 subtechnique-of).
        for reason, rids in skipped.items():
            self.warnings.extend([f"{r}: {reason}" for r in rids] if len(rids) <= 3
                                 else [f"{len(rids)} relationships ({rids[0]}, …) {reason}"])
        # Negative findings that travel in the extension of an object (fimigraph's own export).
        for oid, obj in self.objects.items():
            findings = self._ext(obj).get("not_directly_linked")
            if not findings:
                continue
            if oid not in self.nodes or not isinstance(findings, list):
                raise InputError(f"{oid}: fimigraph extension not_directly_linked must be a list on a modelled object")
            for i, item in enumerate(findings):
                where = f"{oid} not_directly_linked[{i}]"
                if not isinstance(item, dict):
                    raise InputError(f"{where} is not a JSON object")
                ref = item.get("state_ref")
                if isinstance(ref, str) and ref in self.nodes:
                    state = self.nodes[ref]
                elif isinstance(item.get("state"), str) and item["state"]:
                    state = URIRef(item["state"])
                    if (state, RDF.type, None) not in self.g:
                        self.g.add((state, RDF.type, FIMI.State))
                else:
                    raise InputError(f"{where} names no state")
                quote = item.get("quote") if isinstance(item.get("quote"), str) and item["quote"].strip() else _compact(item)
                key = sha256(_compact([oid, str(state), item.get("source"), quote]).encode()).hexdigest()[:32]
                self._claim(
                    STIX[f"{oid}/not-directly-linked-to/{key}"], src, self.nodes[oid], FIMI.notDirectlyLinkedTo, state,
                    quote=quote, confidence=item.get("confidence", DEFAULT_CONFIDENCE), where=where,
                    marking=item.get("marking") or self._marking([*(obj.get("object_marking_refs") or []), *report_refs]),
                    valid_from=None, valid_until=None, grade=None, directness=item.get("directness"), role=None,
                    evidence=None,
                )

    def _claim(self, claim: URIRef, src: URIRef, s: URIRef, pred: URIRef, o: URIRef, *, quote: str, confidence: Any,
               where: str, marking: str | None, valid_from: Any, valid_until: Any, grade: Any, directness: Any,
               role: Any, evidence: Any) -> None:
        if isinstance(confidence, bool) or not isinstance(confidence, int) or not 0 <= confidence <= 100:
            raise InputError(f"{where}: confidence {confidence!r} is not an integer from 0 to 100")
        g = self.g
        g.add((claim, RDF.type, FIMI.Claim))
        g.add((claim, FIMI.claimSubject, s))
        g.add((claim, FIMI.claimPredicate, pred))
        g.add((claim, FIMI.claimObject, o))
        g.add((claim, FIMI.statedIn, src))
        g.add((claim, FIMI.quote, Literal(quote)))
        g.add((claim, FIMI.confidence, Literal(confidence, datatype=XSD.integer)))
        if marking is not None:
            g.add((claim, FIMI.marking, self._concept(FIMI.TLPMarking, marking, "marking", where)))
        for prop, value, key in ((FIMI.validFrom, valid_from, "start"), (FIMI.validUntil, valid_until, "stop")):
            day = _date(value, f"{where} {key}_time")
            if day:
                g.add((claim, prop, Literal(day, datatype=XSD.date)))
        if grade is not None:
            g.add((claim, FIMI.claimedGrade, self._concept(FIMI.Grade, grade, "grade", where)))
        if directness is not None:
            g.add((claim, FIMI.directness, self._concept(FIMI.Directness, directness, "directness", where)))
        if role is not None:
            g.add((claim, FIMI.role, role if isinstance(role, URIRef) else self._concept(FIMI.Role, role, "role", where)))
        if evidence is not None:
            g.add((claim, FIMI.evidenceType, self._concept(FIMI.EvidenceType, evidence, "evidence_type", where)))

    def run(self) -> StixImport:
        self._entities()
        src, report = self._source()
        self._claims(src, report)
        return StixImport(self.g, src, tuple(self.warnings))


# --------------------------------------------------------------------------- export

_STIX_TYPE_FOR_KIND = {
    "campaign": ("campaign", {}),
    "account": ("channel", {}),
    "narrative": ("narrative", {}),
    "event": ("event", {}),
    "technique": ("attack-pattern", {}),
    "person": ("identity", {"identity_class": "individual"}),
    "state": ("location", {"x_opencti_location_type": "Country"}),
}
"""fimigraph kind → STIX type (+ fixed properties); organizations of every kind are identities."""


def _sid(stix_type: str, *parts: str) -> str:
    return f"{stix_type}--{uuid.uuid5(_UUID_NS, ' '.join(parts))}"


def _tail(iri: str) -> str:
    return re.split(r"[/#]", iri.rstrip("/#"))[-1] or iri


def _timestamp(value: str) -> str:
    if not isinstance(value, str) or not _TIMESTAMP.match(value) or "T" not in value:
        raise InputError(f"created {value!r} is not a STIX timestamp (YYYY-MM-DDThh:mm:ss[.sss]Z)")
    return value


def extension_definition() -> dict[str, Any]:
    """fimigraph's STIX ``extension-definition`` object."""
    return {
        "type": "extension-definition", "spec_version": "2.1", "id": EXTENSION_ID,
        "created_by_ref": PRODUCER_ID, "created": EXTENSION_CREATED, "modified": EXTENSION_CREATED,
        "name": "fimigraph attribution",
        "description": "Graded FIMI attribution (DESIGN §3): on relationships link, grade, directness, via, rule, "
                       "marking, valid_from, valid_until, link_kind, role, evidence_type, quote; on objects iri, kind, "
                       "not_directly_linked, conflicts.",
        "schema": EXTENSION_SCHEMA, "version": "1.0.0", "extension_types": ["property-extension"],
    }


def attribution_to_stix(attribution: dict[str, Any], *, labels: Mapping[str, str] | None = None,
                        kinds: Mapping[str, str] | None = None, countries: Mapping[str, str] | None = None,
                        created: str | None = None) -> dict[str, Any]:
    """Turn the JSON of ``GET /attribution`` into a STIX 2.1 bundle (deterministic for the same input)."""
    if not isinstance(attribution, dict) or not isinstance(attribution.get("subject"), str) or not attribution["subject"]:
        raise InputError("attribution JSON has no 'subject' IRI")
    for key in ("links", "not_directly_linked", "conflicts"):
        if not isinstance(attribution.get(key, []), list):
            raise InputError(f"attribution JSON: '{key}' is not a list")
    labels, kinds, countries = dict(labels or {}), dict(kinds or {}), dict(countries or {})
    ts = _timestamp(created) if created is not None else EXPORT_EPOCH
    subject = attribution["subject"]
    if attribution.get("label"):
        labels.setdefault(subject, attribution["label"])
    # GET /attribution already names most nodes (state_label, via_labels, source_label): reuse them.
    for item in [*attribution.get("links", []), *attribution.get("not_directly_linked", [])]:
        if not isinstance(item, dict):
            continue
        for iri_key, label_key in (("state", "state_label"), ("source", "source_label"), ("rule", "rule_label")):
            if isinstance(item.get(iri_key), str) and item.get(label_key):
                labels.setdefault(item[iri_key], item[label_key])
        for iri, name in zip(item.get("via") or [], item.get("via_labels") or []):
            if isinstance(iri, str) and name:
                labels.setdefault(iri, name)
    label = lambda iri: labels.get(iri) or _tail(iri)  # noqa: E731
    common = {"spec_version": "2.1", "created_by_ref": PRODUCER_ID, "created": ts, "modified": ts}
    used_markings: set[str] = set()

    def ext(**props: Any) -> dict[str, Any]:
        return {"extensions": {EXTENSION_ID: {"extension_type": "property-extension",
                                              **{k: v for k, v in props.items() if v not in (None, [], "")}}}}

    def stix_type(iri: str, default_kind: str) -> tuple[str, str, dict[str, Any]]:
        kind = _kind_of(kinds.get(iri, default_kind))
        return (kind, *_STIX_TYPE_FOR_KIND.get(kind, ("identity", {})))

    def sdo(iri: str, default_kind: str, **extra: Any) -> dict[str, Any]:
        kind, stix_t, fixed = stix_type(iri, default_kind)
        if stix_t == "identity" and not fixed:
            fixed = {"identity_class": "unknown" if kind in ("entity", "actor", "identity", "") else "organization"}
        obj: dict[str, Any] = {"type": stix_t, "id": _sid(stix_t, iri), **common, "name": label(iri), **fixed}
        if stix_t == "location" and countries.get(iri):
            obj["country"] = countries[iri]
        known = kind if kind in entity_kinds() else None
        obj.update(ext(iri=iri, kind=known, **extra))
        return obj

    states: dict[str, None] = {}
    relationships = []
    for i, link in enumerate(attribution.get("links", [])):
        if not isinstance(link, dict) or not isinstance(link.get("state"), str) or not isinstance(link.get("link"), str):
            raise InputError(f"attribution JSON: links[{i}] has no 'link' and 'state' IRIs")
        conf = link.get("confidence")
        if isinstance(conf, bool) or not isinstance(conf, int) or not 0 <= conf <= 100:
            raise InputError(f"attribution JSON: links[{i}] confidence {conf!r} is not an integer from 0 to 100")
        state = link["state"]
        states[state] = None
        via = [v for v in link.get("via") or [] if isinstance(v, str)]
        text = f"{label(subject)} is {link.get('grade') or 'linked'} to {label(state)} ({link.get('directness') or 'direct'}"
        text += f", via {' → '.join(label(v) for v in via)})" if via else ")"
        rel: dict[str, Any] = {
            "type": "relationship", "id": _sid("relationship", link["link"]), **common,
            "relationship_type": "attributed-to", "description": text,
            "source_ref": _sid(stix_type(subject, "")[1], subject),
            "target_ref": _sid(stix_type(state, "state")[1], state),
            "confidence": conf,
        }
        if link.get("valid_from"):
            rel["start_time"] = f"{link['valid_from']}T00:00:00.000Z"
        if link.get("valid_until"):
            rel["stop_time"] = f"{link['valid_until']}T23:59:59.999Z"
        marking = link.get("marking")
        if marking:
            if marking not in TLP2_MARKINGS:
                raise InputError(f"attribution JSON: links[{i}] marking {marking!r} is not a TLP 2.0 marking")
            rel["object_marking_refs"] = [TLP2_MARKINGS[marking]]
            used_markings.add(marking)
        rel.update(ext(link=link["link"], grade=link.get("grade"), directness=link.get("directness"), via=via,
                       rule=link.get("rule"), marking=marking, valid_from=link.get("valid_from"),
                       valid_until=link.get("valid_until")))
        relationships.append(rel)

    negatives = []
    for i, item in enumerate(attribution.get("not_directly_linked", [])):
        if not isinstance(item, dict) or not isinstance(item.get("state"), str):
            raise InputError(f"attribution JSON: not_directly_linked[{i}] has no 'state' IRI")
        states[item["state"]] = None
        negatives.append({**item, "state_ref": _sid(stix_type(item["state"], "state")[1], item["state"])})
    subject_markings = [m for m in (n.get("marking") for n in negatives) if m in TLP2_MARKINGS]
    subject_obj = sdo(subject, "", not_directly_linked=negatives, conflicts=attribution.get("conflicts") or [])
    if subject_markings:
        strictest = max(subject_markings, key=lambda m: _marking_rank()[m])
        subject_obj["object_marking_refs"] = [TLP2_MARKINGS[strictest]]
        used_markings.add(strictest)

    producer = {"type": "identity", "spec_version": "2.1", "id": PRODUCER_ID, "created": EXTENSION_CREATED,
                "modified": EXTENSION_CREATED, "name": "fimigraph", "identity_class": "system"}
    markings = [{"type": "marking-definition", "spec_version": "2.1", "id": TLP2_MARKINGS[m],
                 "created": "2022-10-01T00:00:00.000Z", "name": m,
                 "extensions": {TLP2_EXTENSION_ID: {"extension_type": "property-extension",
                                                    "tlp_2_0": m.removeprefix("TLP:").lower()}}}
                for m in TLP2_MARKINGS if m in used_markings]
    objects = [producer, extension_definition(), *markings, subject_obj,
               *(sdo(s, "state") for s in states), *relationships]
    bundle_key = " ".join([subject, *(r["id"] for r in relationships), *sorted(states)])
    return {"type": "bundle", "id": _sid("bundle", bundle_key), "objects": objects}


__all__ = [
    "DEFAULT_ATTRIBUTION_GRADE", "DEFAULT_CONFIDENCE", "EXPORT_EPOCH", "EXTENSION_ID", "EXTENSION_SCHEMA",
    "PRODUCER_ID", "STIX", "StixImport", "TLP2_MARKINGS", "attribution_to_stix", "bundle_to_graph",
    "entity_kinds", "extension_definition", "import_bundle", "link_kinds",
]
