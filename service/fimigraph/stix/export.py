"""An attribution answer → a STIX 2.1 bundle, built with the ``stix2`` library.

The bundle holds the answer's conclusions (one ``attributed-to`` per link, with grade,
directness, via and rule in fimigraph's extension; negative findings and conflicts in the
extension of the subject) and the claims those conclusions rest on, each as the relationship a
plain STIX or OpenCTI reader understands (``docs/stix-mapping.md``), credited to the source
that states it. Imported again, the claims give the same conclusions: the importer skips the
conclusions themselves and the rules derive them anew.

:func:`attribution_to_stix` is a function of the answer (either shape, with or without
``derivations``/``sources``) and of what the store says about the nodes and claims it names;
:func:`export_attribution` gathers those from a store.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import stix2
from rdflib import URIRef
from stix2.properties import ListProperty, StringProperty
from stix2.v21 import CustomObject

from ..countries import country_code
from ..errors import InputError
from ..ontology import notations
from ..store import GraphStore, iri_batches
from ..vocab import FIMI, INFERRED, INFERRED_GRAPH, SOURCES_GRAPH
from .common import (
    EXPORT_EPOCH,
    EXTENSION_CREATED,
    EXTENSION_ID,
    EXTENSION_SCHEMA,
    NEW_SDO_EXTENSION_IDS,
    PRODUCER_ID,
    TLP2_EXTENSION_ID,
    TLP2_MARKINGS,
    entity_kinds,
    extension_validator,
    is_subclass,
    kebab,
    local_name,
    marking_rank,
    stix_id,
    stix_timestamp,
)

_OPENCTI_PROPERTIES = [("name", StringProperty(required=True)), ("description", StringProperty()),
                       ("aliases", ListProperty(StringProperty))]


@CustomObject("channel", _OPENCTI_PROPERTIES, extension_name=NEW_SDO_EXTENSION_IDS["channel"])
class Channel:
    """OpenCTI's Channel: an account on a platform."""


@CustomObject("narrative", _OPENCTI_PROPERTIES, extension_name=NEW_SDO_EXTENSION_IDS["narrative"])
class Narrative:
    """OpenCTI's Narrative."""


@CustomObject("event", _OPENCTI_PROPERTIES, extension_name=NEW_SDO_EXTENSION_IDS["event"])
class Event:
    """OpenCTI's Event (a target such as the Olympic Games)."""


_CUSTOM = {"account": Channel, "narrative": Narrative, "event": Event}
_CUSTOM_MEANING = {"channel": "an account on a platform", "narrative": "a story a campaign pushes",
                   "event": "something that happens, e.g. a target such as the Olympic Games"}
_ORGANIZATION_LABELS = {"political-party", "media-outlet", "company", "ngo"}
# Link kind → (STIX relationship type, reversed?) as a plain reader maps it back (opencti.map_relationship);
# kinds STIX and OpenCTI lack travel as related-to with the kind as label.
_RELATIONSHIP = {
    "operates": ("belongs-to", True), "conducts": ("attributed-to", True), "uses-account": ("uses", False),
    "affiliated-with": ("part-of", False), "employed-by": ("employed-by", False), "promotes": ("uses", False),
    "targets": ("targets", False), "uses-technique": ("uses", False), "attributed-to": ("attributed-to", False),
}


def _ext(**props: Any) -> dict[str, Any]:
    """fimigraph's property extension with the given properties (empty ones left out), checked against its schema."""
    ext = {"extension_type": "property-extension", **{k: v for k, v in props.items() if v not in (None, [], "", {})}}
    errors = sorted(extension_validator().iter_errors(ext), key=str)
    if errors:
        raise InputError(f"attribution JSON: {errors[0].message} (at {'/'.join(map(str, errors[0].absolute_path))})")
    return {EXTENSION_ID: ext}


def _kind(node: Mapping[str, Any]) -> str:
    kind = str(node.get("kind") or "")
    return kebab(local_name(kind)) if kind.startswith(str(FIMI)) else kind


def _tail(iri: str) -> str:
    return iri.rstrip("/#").replace("#", "/").rsplit("/", 1)[-1] or iri


class _Builder:
    def __init__(self, nodes: Mapping[str, Mapping[str, Any]], sources: Mapping[str, Mapping[str, Any]], created: str) -> None:
        self.nodes, self.sources, self.ts = nodes, sources, created
        self.common = {"created_by_ref": PRODUCER_ID, "created": created, "modified": created}
        self.sdos: dict[str, Any] = {}
        self.markings: set[str] = set()

    def label(self, iri: str) -> str:
        return str(self.nodes.get(iri, {}).get("label") or _tail(iri))

    def marking_refs(self, marking: str | None, where: str) -> list[str] | None:
        if not marking:
            return None
        if marking not in TLP2_MARKINGS:
            raise InputError(f"attribution JSON: {where} marking {marking!r} is not a TLP 2.0 marking")
        self.markings.add(marking)
        return [TLP2_MARKINGS[marking]]

    def sdo(self, iri: str, default_kind: str = "", *, marking: str | None = None, **extra: Any) -> str:
        """The STIX id of the object for a node, made on first use (``extra``: more extension properties)."""
        node = self.nodes.get(iri, {})
        kind = _kind(node) or default_kind
        if iri in self.sdos:
            return self.sdos[iri].id
        ext = _ext(iri=iri, kind=kind if kind in entity_kinds() else None,
                   active_from=node.get("active_from"), active_until=node.get("active_until"), **extra)
        props: dict[str, Any] = {"name": self.label(iri), "extensions": ext, **self.common,
                                 "object_marking_refs": self.marking_refs(marking, iri)}
        if node.get("description"):
            props["description"] = node["description"]
        code = node.get("country_code") or (country_code(self.label(iri)) if kind == "state" else None)
        if kind == "state" and code:
            obj = stix2.Location(id=stix_id("location", iri), country=code, **props)
        elif kind == "campaign":
            seen = {k: stix_timestamp(node[f]) for k, f in (("first_seen", "active_from"), ("last_seen", "active_until"))
                    if node.get(f)}
            if "last_seen" in seen:
                seen["last_seen"] = seen["last_seen"].replace("T00:00:00.000Z", "T23:59:59.999Z")
            obj = stix2.Campaign(id=stix_id("campaign", iri), **seen, **props)
        elif kind in _CUSTOM:
            obj = _CUSTOM[kind](id=stix_id(kind if kind != "account" else "channel", iri), **props)
        elif kind == "technique":
            refs = [{"source_name": "DISARM", "external_id": node["disarm_id"]}] if node.get("disarm_id") else None
            obj = stix2.AttackPattern(id=stix_id("attack-pattern", iri), external_references=refs, **props)
        else:
            obj = self.identity(iri, kind, props)
        self.sdos[iri] = obj
        return obj.id

    def identity(self, iri: str, kind: str, props: dict[str, Any]) -> Any:
        """Persons, organizations of every kind, and states without an ISO code, as identities."""
        extra: dict[str, Any] = {}
        if kind == "person":
            extra["identity_class"] = "individual"
        elif kind in ("entity", "actor", ""):
            extra["identity_class"] = "unknown"
        else:
            extra["identity_class"] = "organization"
        if kind == "state-organ":
            extra["sectors"] = ["government-national"]
        if kind in _ORGANIZATION_LABELS:
            extra["labels"] = [kind]
        return stix2.Identity(id=stix_id("identity", iri), **extra, **props)

    def times(self, valid_from: str | None, valid_until: str | None) -> dict[str, str]:
        out = {}
        if valid_from:
            out["start_time"] = stix_timestamp(valid_from)
        if valid_until:
            out["stop_time"] = stix_timestamp(valid_until).replace("T00:00:00.000Z", "T23:59:59.999Z")
        return out

    def reference(self, source: str) -> dict[str, Any]:
        info = self.sources.get(source, {})
        # The source's IRI as external_id, not url: STIX wants a url's content hashed, and an IRI names, it is no download.
        return {"source_name": info.get("publisher_label") or info.get("label") or _tail(source),
                "description": info.get("title") or info.get("label") or source, "external_id": source}


def attribution_to_stix(answer: Mapping[str, Any], *, nodes: Mapping[str, Mapping[str, Any]] | None = None,
                        claims: Iterable[Mapping[str, Any]] = (), sources: Mapping[str, Mapping[str, Any]] | None = None,
                        created: str | None = None, kinds: Mapping[str, str] | None = None,
                        labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The attribution answer of one subject as a STIX 2.1 bundle; the same input gives the same bundle.

    ``nodes``: what the store says of each IRI the answer or the claims name (``kind``, ``label``,
    ``country_code``, ``active_from``, ``active_until``, ``disarm_id``, ``description``); ``claims``: the
    claims the conclusions rest on; ``sources``: the sources stating them (``label``, ``title``,
    ``kind``, ``publisher``, ``publisher_label``, ``issued``, ``reliability``). ``kinds`` and ``labels`` are
    shorthands for nodes' kinds and labels. ``created`` dates every object (default :data:`EXPORT_EPOCH`).
    """
    if not isinstance(answer, Mapping) or not isinstance(answer.get("subject"), str) or not answer["subject"]:
        raise InputError("attribution JSON has no 'subject' IRI")
    for key in ("links", "not_directly_linked", "conflicts"):
        if not isinstance(answer.get(key, []), list):
            raise InputError(f"attribution JSON: '{key}' is not a list")
    try:
        ts = stix_timestamp(created) if created is not None else EXPORT_EPOCH
    except ValueError as exc:
        raise InputError(f"created: {exc}") from exc
    subject = answer["subject"]
    info: dict[str, dict[str, Any]] = {iri: dict(n) for iri, n in (nodes or {}).items()}
    for iri, kind in (kinds or {}).items():
        info.setdefault(iri, {}).setdefault("kind", kind)
    names = {**(labels or {}), subject: answer.get("label")}
    for item in [*answer.get("links", []), *answer.get("not_directly_linked", [])]:  # answers name what they mention
        if isinstance(item, Mapping):
            names.setdefault(item.get("state"), item.get("state_label"))
            names.update(zip(item.get("via") or [], item.get("via_labels") or []))
    for iri, name in names.items():
        if isinstance(iri, str) and name:
            info.setdefault(iri, {}).setdefault("label", name)
    srcs = {iri: dict(s) for iri, s in (sources or {}).items()}
    for link in answer.get("links", []):
        for s in (link.get("sources") or []) if isinstance(link, Mapping) else []:
            srcs.setdefault(s["source"], {}).setdefault("label", s.get("label"))
    b = _Builder(info, srcs, ts)
    findings = []
    for i, f in enumerate(answer.get("not_directly_linked", [])):
        if not isinstance(f, Mapping) or not isinstance(f.get("state"), str):
            raise InputError(f"attribution JSON: not_directly_linked[{i}] has no 'state' IRI")
        findings.append({k: f.get(k) for k in ("finding", "state", "state_label", "source", "source_label", "quote",
                                                "confidence", "marking", "directness", "via") if f.get(k) not in (None, [])}
                        | {"state_ref": b.sdo(f["state"], "state")})
    conflicts = [{"conflict": c["conflict"], "kind": c["kind"], "state": c.get("state"),
                  "sides": [{"node": s["node"], "type": s.get("type"),
                             "sources": [{"source": x["source"], "quote": x.get("quote")} for x in s.get("sources") or []]}
                            for s in c.get("sides") or []]}
                 for c in answer.get("conflicts") or []]
    # The subject shows its negative findings: it carries the strictest of their markings.
    strictest = max((f["marking"] for f in findings if f.get("marking")), key=lambda m: marking_rank()[m], default=None)
    b.sdo(subject, marking=strictest, not_directly_linked=findings, conflicts=conflicts)
    relationships = [*_conclusions(b, subject, answer.get("links", [])), *_claims(b, claims)]
    return _bundle(b, subject, relationships, srcs)


def _conclusions(b: _Builder, subject: str, links: list[Any]) -> list[Any]:
    out, seen = [], set()
    for i, link in enumerate(links):
        if not isinstance(link, Mapping) or not isinstance(link.get("state"), str) or not isinstance(link.get("link"), str):
            raise InputError(f"attribution JSON: links[{i}] has no 'link' and 'state' IRIs")
        if link["link"] in seen:  # one object per link, however many entries an answer gives it (one per via path)
            continue
        seen.add(link["link"])
        conf = link.get("confidence")
        if isinstance(conf, bool) or not isinstance(conf, int) or not 0 <= conf <= 100:
            raise InputError(f"attribution JSON: links[{i}] confidence {conf!r} is not an integer from 0 to 100")
        via = [v for v in link.get("via") or [] if isinstance(v, str)]
        text = f"{b.label(subject)} is {link.get('grade')} to {b.label(link['state'])} ({link.get('directness')}"
        text += f", via {' → '.join(b.label(v) for v in via)})" if via else ")"
        for v in via:
            b.sdo(v)
        out.append(stix2.Relationship(
            id=stix_id("relationship", link["link"]), relationship_type="attributed-to", description=text,
            source_ref=b.sdo(subject), target_ref=b.sdo(link["state"], "state"), confidence=conf,
            object_marking_refs=b.marking_refs(link.get("marking"), f"links[{i}]"),
            **b.times(link.get("valid_from"), link.get("valid_until")), **b.common,
            extensions=_ext(link=link["link"], grade=link.get("grade"), directness=link.get("directness"), via=via,
                            rule=link.get("rule"), marking=link.get("marking"), valid_from=link.get("valid_from"),
                            valid_until=link.get("valid_until"), derivations=link.get("derivations"),
                            sources=[{"source": s["source"], "label": s.get("label")} for s in link.get("sources") or []]),
        ))
    return out


def _claims(b: _Builder, claims: Iterable[Mapping[str, Any]]) -> list[Any]:
    out = []
    for c in sorted(claims, key=lambda c: c["claim"]):
        kind = kebab(local_name(c["predicate"]))
        if kind == "disputes":  # its object is a claim, not a node: conflicts travel in the subject's extension
            continue
        rtype, backwards = _RELATIONSHIP.get(kind, ("related-to", False))
        s, o = b.sdo(c["subject"]), b.sdo(c["object"], "state" if kind in ("attributed-to", "organ-of") else "")
        if kind == "conducts" and _kind(b.nodes.get(c["subject"], {})) in ("state", "state-organ"):
            rtype, backwards = "participates-in", False  # "campaign attributed-to a state" would read as an attribution
        labels = {"related-to": [kind], "attributed-to": [c.get("claimed_grade")], "part-of": [c.get("role")]}.get(rtype)
        out.append(stix2.Relationship(
            id=stix_id("relationship", c["claim"]), relationship_type=rtype, description=c["quote"],
            source_ref=o if backwards else s, target_ref=s if backwards else o, confidence=c["confidence"],
            labels=[x for x in labels or [] if x] or None, object_marking_refs=b.marking_refs(c.get("marking"), str(c["claim"])),
            external_references=[b.reference(c["source"])], **b.times(c.get("valid_from"), c.get("valid_until")),
            **b.common,
            extensions=_ext(claim=c["claim"], link_kind=kind, quote=c["quote"], source=c["source"], role=c.get("role"),
                            evidence_type=c.get("evidence_type"), grade=c.get("claimed_grade"),
                            directness=c.get("directness"), marking=c.get("marking"), valid_from=c.get("valid_from"),
                            valid_until=c.get("valid_until")),
        ))
    return out


def _bundle(b: _Builder, subject: str, relationships: list[Any], sources: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    producer = stix2.Identity(id=PRODUCER_ID, name="fimigraph", identity_class="system", description=(
        "fimigraph, a knowledge graph and attribution reasoning service for analysts of foreign information "
        "manipulation and interference (FIMI)."), created=EXTENSION_CREATED, modified=EXTENSION_CREATED)
    definitions = [stix2.ExtensionDefinition(
        id=EXTENSION_ID, created_by_ref=PRODUCER_ID, created=EXTENSION_CREATED, modified=EXTENSION_CREATED,
        name="fimigraph attribution", schema=EXTENSION_SCHEMA, version="2.0.0", extension_types=["property-extension"],
        description="Graded FIMI attribution: on relationships a conclusion (link, grade, directness, via, rule) or a "
                    "source's claim (claim, link_kind, quote, source); on objects their fimigraph IRI and kind, and on "
                    "the subject its negative findings and conflicts. JSON schema: service/fimigraph/stix/extension.schema.json.")]
    for stix_type in sorted({o["type"] for o in b.sdos.values()} & set(NEW_SDO_EXTENSION_IDS)):
        definitions.append(stix2.ExtensionDefinition(
            id=NEW_SDO_EXTENSION_IDS[stix_type], created_by_ref=PRODUCER_ID, created=EXTENSION_CREATED,
            modified=EXTENSION_CREATED, name=f"OpenCTI {stix_type}", version="1.0.0", extension_types=["new-sdo"],
            schema=f"The {stix_type} object of OpenCTI's data model ({_CUSTOM_MEANING[stix_type]}): name, description, aliases.",
            description=f"A {stix_type}, which STIX 2.1 has no object for, as OpenCTI defines it."))
    markings = [stix2.MarkingDefinition(
        id=TLP2_MARKINGS[m], created="2022-10-01T00:00:00.000Z", name=m,
        extensions={TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": m.removeprefix("TLP:").lower()}})
        for m in TLP2_MARKINGS if m in b.markings]
    content = [*b.sdos.values(), *relationships]
    used = sorted({r["extensions"][EXTENSION_ID]["source"] for r in relationships
                   if r["extensions"][EXTENSION_ID].get("source")})
    report = stix2.Report(
        id=stix_id("report", subject, *(o.id for o in content)), name=f"fimigraph attribution of {b.label(subject)}",
        description="Graded attribution links of the subject, the negative findings beside them, and the claims "
                    "they rest on, each credited to the source that states it.",
        report_types=["threat-report"], published=b.ts, object_refs=[o.id for o in content], **b.common,
        external_references=[b.reference(s) for s in used] or None,
        extensions=_ext(sources=[{"source": s, **{k: v for k, v in sources.get(s, {}).items() if v is not None}} for s in used]))
    bundle = stix2.Bundle(producer, *definitions, *markings, report, *content, id=stix_id("bundle", report.id))
    return json.loads(bundle.serialize())


# --------------------------------------------------------------------------- from a store

def export_attribution(store: GraphStore, subject: str) -> dict[str, Any]:
    """The subject's attribution in ``store`` as a STIX 2.1 bundle: its answer, and the claims and nodes it rests on."""
    from ..attribution import attribution

    answer = attribution(store, subject)
    found = {r["f"] for r in store.select(
        f"SELECT ?f WHERE {{ GRAPH <{INFERRED_GRAPH}> {{ ?f a fimi:NegativeFinding ; fimi:linkSubject <{subject}> }} }}")}
    claims = _claim_rows(store, _premise_claims(store, {link["link"] for link in answer["links"]} | found))
    iris = {subject, *(link["state"] for link in answer["links"]), *(v for link in answer["links"] for v in link["via"]),
            *(f["state"] for f in answer["not_directly_linked"]), *(c["subject"] for c in claims),
            *(c["object"] for c in claims)}
    # The data's last change dates the export, so the same store always exports the same bundle.
    changed = store.select(f"SELECT (MAX(?d) AS ?last) WHERE {{ GRAPH <{SOURCES_GRAPH}> {{ ?s dcterms:dateSubmitted ?d }} }}")
    return attribution_to_stix(answer, nodes=_node_rows(store, iris), claims=claims,
                               sources=_source_rows(store, {c["source"] for c in claims}),
                               created=changed[0]["last"] if changed and changed[0]["last"] else None)


def _premise_claims(store: GraphStore, nodes: set[str]) -> set[str]:
    """The claims under inferred nodes, following fimi:premise level by level (each node read once)."""
    seen, level, claims = set(nodes), set(nodes), set()
    while level:
        found: set[str] = set()
        for batch in iri_batches(sorted(level)):
            found |= {r["p"] for r in store.select(
                f"SELECT DISTINCT ?p WHERE {{ VALUES ?n {{ {batch} }} GRAPH <{INFERRED_GRAPH}> {{ ?n fimi:premise ?p }} }}")}
        claims |= {p for p in found if not p.startswith(str(INFERRED))}
        level = {p for p in found if p.startswith(str(INFERRED))} - seen
        seen |= level
    return claims


def _rows(store: GraphStore, iris: Iterable[str], variable: str, properties: Mapping[str, str]) -> list[dict[str, Any]]:
    """One row per IRI with each property's smallest value (None when absent), looked up IRI by IRI."""
    rows = []
    for batch in iri_batches(sorted(iris)):
        lookups = "".join(
            f"LATERAL {{ OPTIONAL {{ SELECT ?{variable} (MIN(?{name}_) AS ?{name}) WHERE {{ ?{variable} {path} ?{name}_ }} "
            f"GROUP BY ?{variable} }} }}\n" for name, path in properties.items())
        rows += store.select(f"SELECT * WHERE {{ VALUES ?{variable} {{ {batch} }} {lookups} }}")
    return rows


def _claim_rows(store: GraphStore, claims: set[str]) -> list[dict[str, Any]]:
    names = notations()
    rows = _rows(store, claims, "claim", {
        "subject": "fimi:claimSubject", "predicate": "fimi:claimPredicate", "object": "fimi:claimObject",
        "source": "fimi:statedIn", "quote": "fimi:quote", "confidence": "fimi:confidence", "valid_from": "fimi:validFrom",
        "valid_until": "fimi:validUntil", "marking": "fimi:marking", "evidence_type": "fimi:evidenceType",
        "role": "fimi:role", "claimed_grade": "fimi:claimedGrade", "directness": "fimi:directness"})
    concepts = ("marking", "evidence_type", "role", "claimed_grade", "directness")
    return [{**r, **{k: names.get(r[k]) for k in concepts if r[k]}} for r in rows]


def _node_rows(store: GraphStore, iris: set[str]) -> dict[str, dict[str, Any]]:
    kinds = {str(c): c for c in entity_kinds().values()}
    types: dict[str, set[str]] = {}
    for batch in iri_batches(sorted(iris)):
        for r in store.select(f"SELECT DISTINCT ?x ?t WHERE {{ VALUES ?x {{ {batch} }} ?x a ?t }}"):
            if r["t"] in kinds:
                types.setdefault(r["x"], set()).add(r["t"])
    rows = _rows(store, iris, "x", {"label": "rdfs:label", "country_code": "fimi:countryCode",
                                        "active_from": "fimi:activeFrom", "active_until": "fimi:activeUntil",
                                        "disarm_id": "fimi:disarmId"})
    return {r["x"]: {**{k: v for k, v in r.items() if k != "x" and v is not None},
                     "kind": _most_specific(types.get(r["x"], set()))} for r in rows}


def _most_specific(types: set[str]) -> str | None:
    """The class no other of the node's classes is below (the first in IRI order when sources disagree)."""
    narrow = [t for t in sorted(types) if not any(o != t and is_subclass(URIRef(o), URIRef(t)) for o in types)]
    return narrow[0] if narrow else None


def _source_rows(store: GraphStore, sources: set[str]) -> dict[str, dict[str, Any]]:
    kinds = {str(FIMI.Report): "report", str(FIMI.Article): "article", str(FIMI.OfficialStatement): "official-statement"}
    rows = _rows(store, sources, "s", {"label": "rdfs:label", "title": "dcterms:title", "publisher": "dcterms:publisher",
                                           "publisher_label": "dcterms:publisher/rdfs:label", "issued": "dcterms:issued",
                                           "reliability": "fimi:reliability"})
    typed = {}
    for batch in iri_batches(sorted(sources)):
        for r in store.select(f"SELECT DISTINCT ?s ?t WHERE {{ VALUES ?s {{ {batch} }} ?s a ?t }}"):
            if r["t"] in kinds:
                typed[r["s"]] = kinds[r["t"]]
    return {r["s"]: {**{k: v for k, v in r.items() if k != "s" and v is not None}, "kind": typed.get(r["s"], "source")}
            for r in rows}
