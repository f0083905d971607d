"""STIX 2.1 bundle → one fimigraph source document (``docs/stix-mapping.md`` has the tables).

The document's source is the bundle's ``report`` when it holds exactly one, else the bundle
itself; its STIX id is kept as ``fimi:stixId`` (``dcterms:identifier`` is the store's). Findings
the bundle credits to another publisher (a relationship's external reference, or fimigraph's
extension ``source``) are claims of that other source, which the document describes and its
own source relays (``fimi:reports``), as an article relays a report.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from hashlib import sha256
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS, XSD

from ..countries import country_code
from ..errors import InputError, ParseError
from ..vocab import COUNTRY, DISARM, FIMI, PREFIXES, STIX
from .common import (
    DEFAULT_CONFIDENCE,
    EXTENSION_ID,
    KNOWN_MARKINGS,
    LEGACY_EXTENSION_ID,
    TLP2_EXTENSION_ID,
    WEAKEST_GRADE,
    concepts,
    entity_kinds,
    link_kinds,
    marking_rank,
)
from .opencti import Mapped, classify, map_relationship

_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}:\d{2}(\.\d+)?Z)?$")
_DISARM_ID = re.compile(r"^T(A\d{2}|0\d{3}(\.\d{3})?)$")  # DISARM: T0002…T0155.007, tactics TA01…; ATT&CK is T1xxx
_STIX_ID = re.compile(r"^([a-z0-9][a-z0-9-]*[a-z0-9])--[0-9a-fA-F-]{36}$")
_IRI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$")
_META_TYPES = ("relationship", "report", "marking-definition", "extension-definition", "language-content",
               "x-mitre-matrix", "x-mitre-tactic")
_SOURCE_KINDS = {"source": FIMI.Source, "report": FIMI.Report, "article": FIMI.Article,
                 "official-statement": FIMI.OfficialStatement}


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
    """The date of a STIX timestamp; None for OpenCTI's 'unknown' sentinels (1970-01-01, years ≥ 5000)."""
    if value is None:
        return None
    m = _TIMESTAMP.match(value) if isinstance(value, str) else None
    try:
        day = date.fromisoformat(m.group(1)) if m else None
    except ValueError:
        day = None
    if day is None:
        raise InputError(f"{where} is not a STIX timestamp: {value!r}")
    return None if day == date(1970, 1, 1) or day.year >= 5000 else day


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _compact(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _key(*parts: Any) -> str:
    return sha256(_compact(parts).encode()).hexdigest()[:32]


class _Importer:
    def __init__(self, bundle: dict[str, Any]) -> None:
        self.bid: str = bundle["id"]
        self.warnings: list[str] = []
        self.g = Graph()
        for prefix, ns in PREFIXES.items():
            self.g.bind(prefix, ns)
        # Several versions of one object may travel together: the latest `modified` wins.
        self.objects: dict[str, dict[str, Any]] = {}
        for obj in bundle.get("objects", []):
            old = self.objects.get(obj["id"])
            if old is None or str(obj.get("modified", "")) >= str(old.get("modified", "")):
                self.objects[obj["id"]] = obj
        self.nodes: dict[str, URIRef] = {}
        self.classes: dict[str, URIRef] = {}
        self.stix_types: dict[str, str] = {}
        self.tactics: dict[str, URIRef] = {}  # x_mitre_shortname → tactic

    # ----- helpers
    def _ext(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        extensions = obj.get("extensions") or {}
        ext = extensions.get(EXTENSION_ID, extensions.get(LEGACY_EXTENSION_ID))
        if ext is None:
            return {}
        if not isinstance(ext, dict):
            raise InputError(f"{obj['id']}: the fimigraph extension is not a JSON object")
        return ext

    def _concept(self, cls: URIRef, notation: Any, what: str, where: str) -> URIRef:
        table = concepts(cls)
        if notation not in table:
            raise InputError(f"{where}: {what} {notation!r} is not one of {', '.join(sorted(table))}")
        return table[notation]

    def _iri(self, obj: Mapping[str, Any]) -> URIRef | None:
        iri = self._ext(obj).get("iri")
        return URIRef(iri) if isinstance(iri, str) and _IRI.match(iri) else None

    def _add(self, node: URIRef, prop: URIRef, value: Any) -> None:
        if value is not None:
            self.g.add((node, prop, value if isinstance(value, URIRef) else Literal(value)))

    def _marking(self, refs: Iterable[Any]) -> str | None:
        """Most restrictive TLP notation among marking refs; None when there is none."""
        found = [n for n in (self._tlp(r) for r in refs if isinstance(r, str)) if n]
        return max(found, key=lambda n: marking_rank()[n]) if found else None

    def _tlp(self, ref: str) -> str | None:
        if ref in KNOWN_MARKINGS:
            return KNOWN_MARKINGS[ref]
        md = self.objects.get(ref) or {}
        candidates = [md.get("name"), md.get("x_opencti_definition")]
        if str(md.get("definition_type", "")).lower() == "tlp" and isinstance(md.get("definition"), dict):
            candidates += ["TLP:" + str(v) for v in md["definition"].values()]
        tlp2 = (md.get("extensions") or {}).get(TLP2_EXTENSION_ID)
        if isinstance(tlp2, dict):
            candidates.append("TLP:" + str(tlp2.get("tlp_2_0", "")))
        for c in candidates:
            if isinstance(c, str):
                n = c.strip().upper().replace("TLP:WHITE", "TLP:CLEAR")
                if n in marking_rank():
                    return n
        return None

    # ----- entities
    def _class(self, obj: dict[str, Any]) -> URIRef | None:
        kind = self._ext(obj).get("kind")
        if kind is None:
            return classify(obj)
        if kind not in entity_kinds():
            raise InputError(f"{obj['id']}: fimigraph extension kind {kind!r} is not one of {', '.join(sorted(entity_kinds()))}")
        return entity_kinds()[kind]

    def _disarm_id(self, obj: Mapping[str, Any]) -> str | None:
        """The DISARM id among an object's external references (DISARM.json labels them "mitre-attack": its URL tells)."""
        for ref in obj.get("external_references") or []:
            if not isinstance(ref, dict) or not _DISARM_ID.match(str(ref.get("external_id", ""))):
                continue
            if "disarm" in f"{ref.get('source_name', '')} {ref.get('url', '')}".lower():
                return str(ref["external_id"])
        return None

    def _entities(self) -> None:
        ignored: dict[str, int] = {}
        for obj in self.objects.values():  # first: techniques name their tactics
            if obj["type"] == "x-mitre-tactic":
                self._tactic(obj)
        for oid, obj in self.objects.items():
            if obj["type"] in _META_TYPES:
                continue
            cls = self._class(obj)
            if cls is None:
                ignored[obj["type"]] = ignored.get(obj["type"], 0) + 1
                continue
            node = self._iri(obj)
            code = country_code(str(obj.get("country") or "")) if cls == FIMI.State else None
            disarm = self._disarm_id(obj) if cls == FIMI.Technique else None
            node = node or (COUNTRY[code] if code else DISARM[disarm] if disarm else STIX[oid])
            self.nodes[oid], self.classes[oid], self.stix_types[oid] = node, cls, obj["type"]
            self._describe(node, cls, obj, code, disarm)
        if ignored:
            self.warnings.append("objects of types fimigraph does not model were not imported: "
                                 + ", ".join(f"{t} ×{n}" for t, n in sorted(ignored.items())))

    def _describe(self, node: URIRef, cls: URIRef, obj: dict[str, Any], code: str | None, disarm: str | None) -> None:
        g, oid, ext = self.g, obj["id"], self._ext(obj)
        g.add((node, RDF.type, cls))
        self._add(node, RDFS.label, _text(obj.get("name")))
        self._add(node, DCTERMS.description, _text(obj.get("description")))
        self._add(node, FIMI.countryCode, code)
        self._add(node, FIMI.disarmId, disarm)
        if cls == FIMI.Technique and not disarm and obj.get("external_references"):
            self.warnings.append(f"{oid}: attack-pattern without a DISARM id (an ATT&CK technique?): no fimi:disarmId")
        for phase in obj.get("kill_chain_phases") or []:  # DISARM.json names DISARM's tactics "mitre-attack" phases
            tactic = self.tactics.get(str((phase or {}).get("phase_name", "")))
            if cls == FIMI.Technique and tactic is not None:
                g.add((node, FIMI.tactic, tactic))
        periods = [(FIMI.activeFrom, obj.get("first_seen") if cls == FIMI.Campaign else None, ext.get("active_from")),
                   (FIMI.activeUntil, obj.get("last_seen") if cls == FIMI.Campaign else None, ext.get("active_until"))]
        for prop, seen, given in periods:
            day = _date(given, f"{oid} extension active period") if given else _date(seen, f"{oid} first_seen/last_seen")
            self._add(node, prop, Literal(day, datatype=XSD.date) if day else None)
        if cls == FIMI.Campaign:
            for name in [obj.get("name"), *(obj.get("aliases") or [])]:
                if isinstance(name, str) and re.fullmatch(r"#\w+", name.strip()):
                    g.add((node, FIMI.hashtag, Literal(name.strip())))
        if cls == FIMI.Account:
            for alias in obj.get("aliases") or []:
                if isinstance(alias, str) and alias.startswith("@"):
                    g.add((node, FIMI.handle, Literal(alias)))

    def _tactic(self, obj: dict[str, Any]) -> None:
        tid = self._disarm_id(obj)
        if tid is None:
            self.warnings.append(f"{obj['id']}: x-mitre-tactic without a DISARM id, skipped")
            return
        node = DISARM[tid]
        self.g.add((node, RDF.type, FIMI.Tactic))
        self.g.add((node, SKOS.notation, Literal(tid)))
        self._add(node, RDFS.label, _text(obj.get("name")))
        self._add(node, DCTERMS.description, _text(obj.get("description")))
        if isinstance(obj.get("x_mitre_shortname"), str):
            self.tactics[obj["x_mitre_shortname"]] = node

    # ----- sources
    def _source(self) -> tuple[URIRef, dict[str, Any] | None]:
        reports = [o for o in self.objects.values() if o["type"] == "report"]
        g = self.g
        if len(reports) == 1:
            report = reports[0]
            src = self._iri(report) or STIX[report["id"]]
            g.add((src, RDF.type, FIMI.Report))
            self._add(src, DCTERMS.title, _text(report.get("name")))
            day = _date(report.get("published"), f"{report['id']} published")
            self._add(src, DCTERMS.issued, Literal(day, datatype=XSD.date) if day else None)
            self._add(src, DCTERMS.description, _text(report.get("description")))
            publisher = report.get("created_by_ref") or self._common_author()
        else:
            if len(reports) > 1:
                self.warnings.append(f"{len(reports)} reports in the bundle: the bundle itself is the source")
            report = None
            src = STIX[self.bid]
            g.add((src, RDF.type, FIMI.Source))
            matrices = [o["name"] for o in self.objects.values() if o["type"] == "x-mitre-matrix" and _text(o.get("name"))]
            title = f"{matrices[0]} (STIX bundle {self.bid})" if len(matrices) == 1 else f"STIX bundle {self.bid}"
            g.add((src, DCTERMS.title, Literal(title)))
            publisher = self._common_author()
        g.add((src, FIMI.stixId, Literal(report["id"] if report else self.bid)))
        for md in self.objects.values():  # a licence travels as a statement marking (DISARM's CC BY-SA 4.0)
            statement = (md.get("definition") or {}).get("statement") if md["type"] == "marking-definition" else None
            self._add(src, DCTERMS.rights, _text(statement))
        if isinstance(publisher, str) and _STIX_ID.match(publisher):
            author = self.objects.get(publisher)
            pnode = self.nodes.get(publisher) or (self._iri(author) if author else None) or STIX[publisher]
            g.add((src, DCTERMS.publisher, pnode))
            self._add(pnode, RDFS.label, _text((author or {}).get("name")))
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

    def _relayed(self, own: URIRef, author_name: str | None, rel: Mapping[str, Any], described: Mapping[str, dict[str, Any]]
                 ) -> URIRef:
        """The source a claim is stated in: the bundle's own, or another publisher's that the bundle credits."""
        iri = self._ext(rel).get("source")
        if isinstance(iri, str) and _IRI.match(iri):
            if URIRef(iri) != own:
                self._describe_source(own, URIRef(iri), described.get(iri) or {"source": iri})
            return URIRef(iri)
        for ref in rel.get("external_references") or []:
            publisher = _text((ref or {}).get("source_name")) if isinstance(ref, dict) else None
            if publisher is None or (author_name and publisher.lower() == author_name.lower()):
                continue
            url = next((v for v in (ref.get("url"), ref.get("external_id")) if isinstance(v, str) and _IRI.match(v)), None)
            node = URIRef(url) if url else STIX[f"{self.bid}/source/{_key(publisher, ref.get('description'), ref.get('external_id'))}"]
            named = next((o for o in self.objects.values() if o["type"] == "identity" and _text(o.get("name")) == publisher), None)
            title = _text(ref.get("description")) or _text(ref.get("external_id")) or f"{publisher}, as cited"
            self._describe_source(own, node, {
                "title": title, "label": title,
                "publisher": str(self.nodes.get(named["id"]) or STIX[named["id"]]) if named else None,
                "publisher_label": publisher,
            }, publisher_key=publisher)
            return node
        return own

    def _describe_source(self, own: URIRef, node: URIRef, info: Mapping[str, Any], publisher_key: str | None = None) -> None:
        g = self.g
        if (own, FIMI.reports, node) in g:
            return
        g.add((own, FIMI.reports, node))
        g.add((node, RDF.type, _SOURCE_KINDS.get(str(info.get("kind", "source")), FIMI.Source)))
        self._add(node, RDFS.label, _text(info.get("label")))
        self._add(node, DCTERMS.title, _text(info.get("title")) or _text(info.get("label")) or f"source {node}")
        self._add(node, FIMI.reliability, info.get("reliability"))
        if info.get("issued"):
            self._add(node, DCTERMS.issued, Literal(info["issued"], datatype=XSD.date))
        publisher = info.get("publisher")
        pnode = URIRef(publisher) if publisher else STIX[f"{self.bid}/publisher/{_key(publisher_key or str(node))}"]
        g.add((node, DCTERMS.publisher, pnode))
        self._add(pnode, RDFS.label, _text(info.get("publisher_label")))

    # ----- claims
    def _claims(self, src: URIRef, report: dict[str, Any] | None) -> None:
        report_conf = (report or {}).get("confidence")
        report_refs = (report or {}).get("object_marking_refs") or []
        author = self.objects.get(str((report or {}).get("created_by_ref") or self._common_author()))
        author_name = _text((author or {}).get("name"))
        described = {s["source"]: s for s in self._ext(report or {}).get("sources") or [] if isinstance(s, dict)}
        skipped: dict[str, list[str]] = {}
        conclusions = 0
        for rid, rel in self.objects.items():
            if rel["type"] != "relationship":
                continue
            for key in ("relationship_type", "source_ref", "target_ref"):
                if not isinstance(rel.get(key), str) or not rel[key]:
                    raise InputError(f"{rid}: relationship has no {key}")
            ext = self._ext(rel)
            if rel.get("revoked") is True:
                self.warnings.append(f"{rid}: revoked, skipped")
                continue
            if ext.get("link"):  # a conclusion of fimigraph's rules: its premises travel as claims, it is derived again
                conclusions += 1
                continue
            missing = [r for r in (rel["source_ref"], rel["target_ref"]) if r not in self.nodes]
            if missing:
                why = "not in the bundle" if missing[0] not in self.objects else "of a type fimigraph does not model"
                self.warnings.append(f"{rid}: skipped {rel['relationship_type']}: {missing[0]} is {why}")
                continue
            if rel["relationship_type"] == "subtechnique-of":  # the catalogue's hierarchy: a description, not a claim
                self.g.add((self.nodes[rel["source_ref"]], SKOS.broader, self.nodes[rel["target_ref"]]))
                continue
            mapped = self._map(rel, ext)
            if isinstance(mapped, str):
                skipped.setdefault(f"skipped {rel['relationship_type']}: {mapped}", []).append(rid)
                continue
            if mapped.warning:
                self.warnings.append(f"{rid}: {mapped.warning}")
            quote = ext.get("quote") or _text(rel.get("description")) or _compact(rel)
            conf = next((c for c in (rel.get("confidence"), report_conf) if c is not None), DEFAULT_CONFIDENCE)
            claim = URIRef(ext["claim"]) if isinstance(ext.get("claim"), str) and _IRI.match(ext["claim"]) else STIX[rid]
            self._claim(
                claim, self._relayed(src, author_name, rel, described), self.nodes[mapped.subject], mapped.predicate,
                self.nodes[mapped.object], quote=quote, confidence=conf, where=rid,
                marking=ext.get("marking") or self._marking([*(rel.get("object_marking_refs") or []), *report_refs]),
                valid_from=ext.get("valid_from") or rel.get("start_time"),
                valid_until=ext.get("valid_until") or rel.get("stop_time"),
                grade=mapped.grade, directness=ext.get("directness"), role=mapped.role, evidence=ext.get("evidence_type"),
            )
        if conclusions:
            self.warnings.append(f"{conclusions} conclusions of fimigraph's rules (attributed-to with a 'link') not imported: "
                                 "the rules derive them again from the claims")
        # One line per relationship, unless many share a reason.
        for reason, rids in skipped.items():
            self.warnings.extend([f"{r}: {reason}" for r in rids] if len(rids) <= 3
                                 else [f"{len(rids)} relationships ({rids[0]}, …) {reason}"])

    def _map(self, rel: dict[str, Any], ext: Mapping[str, Any]) -> Mapped | str:
        kind = ext.get("link_kind")
        if kind is None:
            mapped = map_relationship(rel, self.classes, self.stix_types)
            if isinstance(mapped, Mapped) and ext.get("grade") and mapped.predicate == FIMI.attributedTo:
                return Mapped(mapped.predicate, mapped.subject, mapped.object, mapped.role, ext["grade"])
            return mapped
        kinds = link_kinds()
        if kind not in kinds or kind == "disputes":
            raise InputError(f"{rel['id']}: fimigraph extension link_kind {kind!r} is not one of "
                             + ", ".join(sorted(k for k in kinds if k != "disputes")))
        role = ext.get("role")
        plain = map_relationship(rel, self.classes, self.stix_types)
        # The kind is the extension's; the direction a plain reading gives it (channel belongs-to actor: actor operates).
        s, o = (plain.subject, plain.object) if isinstance(plain, Mapped) and plain.predicate == kinds[kind] else (
            rel["source_ref"], rel["target_ref"])
        return Mapped(kinds[kind], s, o,
                      role=self._concept(FIMI.Role, role, "role", rel["id"]) if role else None,
                      grade=ext.get("grade", WEAKEST_GRADE) if kinds[kind] == FIMI.attributedTo else None)

    def _claim(self, claim: URIRef, src: URIRef, s: URIRef, pred: URIRef, o: URIRef, *, quote: str, confidence: Any,
               where: str, marking: str | None, valid_from: Any, valid_until: Any, grade: Any, directness: Any,
               role: URIRef | None, evidence: Any) -> None:
        if isinstance(confidence, bool) or not isinstance(confidence, int) or not 0 <= confidence <= 100:
            raise InputError(f"{where}: confidence {confidence!r} is not an integer from 0 to 100")
        g = self.g
        for p, v in ((RDF.type, FIMI.Claim), (FIMI.claimSubject, s), (FIMI.claimPredicate, pred), (FIMI.claimObject, o),
                     (FIMI.statedIn, src), (FIMI.quote, Literal(quote)),
                     (FIMI.confidence, Literal(confidence, datatype=XSD.integer)), (FIMI.role, role)):
            if v is not None:
                g.add((claim, p, v))
        if marking is not None:
            g.add((claim, FIMI.marking, self._concept(FIMI.TLPMarking, marking, "marking", where)))
        for prop, value, key in ((FIMI.validFrom, valid_from, "start"), (FIMI.validUntil, valid_until, "stop")):
            day = _date(value if not isinstance(value, str) or "T" in value else f"{value}T00:00:00Z", f"{where} {key}_time")
            if day:
                g.add((claim, prop, Literal(day, datatype=XSD.date)))
        if grade is not None:
            g.add((claim, FIMI.claimedGrade, self._concept(FIMI.Grade, grade, "grade", where)))
        if directness is not None:
            g.add((claim, FIMI.directness, self._concept(FIMI.Directness, directness, "directness", where)))
        if evidence is not None:
            g.add((claim, FIMI.evidenceType, self._concept(FIMI.EvidenceType, evidence, "evidence_type", where)))

    def run(self) -> StixImport:
        self._entities()
        src, report = self._source()
        self._claims(src, report)
        return StixImport(self.g, src, tuple(self.warnings))
