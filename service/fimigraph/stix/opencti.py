"""How plain STIX 2.1 and OpenCTI's conventions read as fimigraph classes and link kinds.

``docs/stix-mapping.md`` is the table this module implements. Its rule: where a bundle leaves a
meaning open, take the weakest reading it supports and say so in a warning; never over-grade.
fimigraph's own extension, when present, is explicit and wins over everything here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rdflib import URIRef

from ..vocab import FIMI
from .common import OPENCTI_EXTENSION_ID, WEAKEST_GRADE, concepts, entity_kinds, is_subclass, link_kinds

_GOVERNMENT_SECTOR = re.compile(r"^government(-[a-z-]+)?$|^government and administrations?$")
ORGANIZATION_TYPES = {
    "government": "state-organ", "state-organ": "state-organ",
    "political-party": "political-party", "party": "political-party",
    "media": "media-outlet", "media-outlet": "media-outlet", "ngo": "ngo", "company": "company",
}
"""``x_opencti_organization_type`` (or an object label) → kind. OpenCTI's default vocabulary has
none of these but ``other``; analysts add them as custom values or labels."""
_TYPES = {"campaign": FIMI.Campaign, "channel": FIMI.Account, "narrative": FIMI.Narrative, "event": FIMI.Event,
          "attack-pattern": FIMI.Technique, "intrusion-set": FIMI.Organization}
# What OpenCTI relationships say that is no attribution, and why they are skipped.
NOT_LINKS = {
    "citizen-of": "nationality is no link to a state", "national-of": "nationality is no link to a state",
    "resides-in": "residence is no link to a state", "located-at": "where, not whose",
    "originates-from": "origin is no attribution", "cooperates-with": "no fimigraph link kind",
    "supports": "no fimigraph link kind", "related-to": "related-to without a link-kind label says nothing more",
}


def norm(label: Any) -> str:
    """A label as a convention name: lower case, spaces and underscores as hyphens."""
    return re.sub(r"[\s_]+", "-", str(label).strip().lower())


def labels_of(obj: Mapping[str, Any]) -> set[str]:
    """The object's labels (OpenCTI's object labels), normalised."""
    return {norm(v) for v in obj.get("labels") or [] if isinstance(v, str)}


def opencti_type(obj: Mapping[str, Any]) -> str:
    """OpenCTI's entity type of an object it exported (``Threat-Actor-Individual``, ``Country``), else ''."""
    octi = (obj.get("extensions") or {}).get(OPENCTI_EXTENSION_ID) or {}
    return str(octi.get("type") or obj.get("x_opencti_type") or "")


def classify(obj: Mapping[str, Any]) -> URIRef | None:
    """The fimigraph class of a STIX object, or None when fimigraph does not model it."""
    t, octi, labels = obj["type"], opencti_type(obj).lower(), labels_of(obj)
    if t == "identity":
        cls = str(obj.get("identity_class", "")).lower()
        if cls == "individual":
            return FIMI.Person
        if cls not in ("organization", "group"):
            return FIMI.Entity
        named = [ORGANIZATION_TYPES[k] for k in (norm(obj.get("x_opencti_organization_type") or ""), *sorted(labels))
                 if k in ORGANIZATION_TYPES]
        if named:
            return entity_kinds()[named[0]]
        if any(_GOVERNMENT_SECTOR.match(str(s).lower()) for s in obj.get("sectors") or []):
            return FIMI.StateOrgan
        return FIMI.Organization
    if t == "location":
        ltype = str(obj.get("x_opencti_location_type") or octi).lower()
        finer = any(obj.get(k) for k in ("city", "administrative_area", "street_address", "postal_code", "latitude"))
        return FIMI.State if ltype == "country" or (not ltype and obj.get("country") and not finer) else None
    if t == "threat-actor":
        individual = octi == "threat-actor-individual" or str(obj.get("resource_level", "")).lower() == "individual"
        return FIMI.Person if individual else FIMI.Organization
    return _TYPES.get(t)


@dataclass(frozen=True)
class Mapped:
    """A relationship read as a claim: predicate, subject and object STIX ids, role, claimed grade, a warning."""

    predicate: URIRef
    subject: str
    object: str
    role: URIRef | None = None
    grade: str | None = None
    warning: str | None = None


def _labelled(labels: Iterable[str], table: Mapping[str, Any]) -> list[Any]:
    return [table[label] for label in sorted(labels) if label in table]


def map_relationship(rel: Mapping[str, Any], classes: Mapping[str, URIRef], stix_types: Mapping[str, str]) -> Mapped | str:
    """A plain relationship (no fimigraph extension) as a claim, or the reason it is skipped."""
    rtype, s, o = rel["relationship_type"], rel["source_ref"], rel["target_ref"]
    cs, co, labels = classes[s], classes[o], labels_of(rel)
    roles = _labelled(labels, concepts(FIMI.Role))
    kinds = [k for k in _labelled(labels, link_kinds()) if k != FIMI.disputes]
    actor = lambda c: is_subclass(c, FIMI.Actor)  # noqa: E731
    state_like = co in (FIMI.State, FIMI.StateOrgan)
    if len(kinds) > 1:
        return f"labels name several link kinds ({', '.join(sorted(labels & set(link_kinds())))})"
    if rtype == "related-to" and kinds:
        return Mapped(kinds[0], s, o, role=roles[0] if roles else None)
    if rtype == "attributed-to":
        if state_like:
            grades = _labelled(labels, {n: n for n in concepts(FIMI.Grade)})
            if len(grades) == 1:
                return Mapped(FIMI.attributedTo, s, o, grade=grades[0])
            return Mapped(FIMI.attributedTo, s, o, grade=WEAKEST_GRADE, warning=(
                f"attributed-to states no grade: recorded as {WEAKEST_GRADE}, the weakest it supports "
                "(a grade label or fimigraph's extension states one)"))
        if cs == FIMI.Campaign and actor(co):
            return Mapped(FIMI.conducts, o, s)
        if cs == FIMI.Account and actor(co):
            return Mapped(FIMI.operates, o, s)
        if actor(cs) and is_subclass(co, FIMI.Organization):
            return Mapped(FIMI.affiliatedWith, s, o, role=roles[0] if roles else concepts(FIMI.Role)["associate"])
    elif rtype == "participates-in" and actor(cs) and co == FIMI.Campaign:
        return Mapped(FIMI.conducts, s, o)
    elif rtype == "belongs-to" and cs == FIMI.Account and actor(co):
        return Mapped(FIMI.operates, o, s)
    elif rtype == "uses":
        if co == FIMI.Account and cs == FIMI.Campaign:
            return Mapped(FIMI.usesAccount, s, o)
        if co == FIMI.Account and actor(cs):
            return Mapped(FIMI.operates, s, o)
        if co == FIMI.Narrative:
            return Mapped(FIMI.promotes, s, o)
        if co == FIMI.Technique:
            return Mapped(FIMI.usesTechnique, s, o)
    elif rtype == "targets":
        return Mapped(FIMI.targets, s, o)
    elif rtype == "employed-by" and actor(cs) and actor(co):
        return Mapped(FIMI.employedBy, s, o)
    elif rtype == "part-of":
        if cs == FIMI.StateOrgan and co == FIMI.State:
            return Mapped(FIMI.organOf, s, o)
        if co == FIMI.State:
            return ("part-of a state is read only for state organs; as an affiliation it would make "
                    "the organization state-linked")
        if actor(cs) and is_subclass(co, FIMI.Organization):
            return Mapped(FIMI.affiliatedWith, s, o, role=roles[0] if roles else concepts(FIMI.Role)["member"])
    if rtype in NOT_LINKS:
        return f"{NOT_LINKS[rtype]} ({stix_types[s]} {rtype} {stix_types[o]})"
    return f"no fimigraph link kind for {stix_types[s]} {rtype} {stix_types[o]}"
