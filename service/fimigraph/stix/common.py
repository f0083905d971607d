"""What import and export share: fixed ids, markings, deterministic ids, ontology lookups."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from functools import cache
from hashlib import sha256
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from rdflib import URIRef
from rdflib.namespace import RDF, RDFS, SKOS

from ..ontology import ontology_graph
from ..vocab import FIMI, STIX

EXTENSION_SCHEMA = str(STIX) + "extension"
"""Schema URL of fimigraph's STIX property extension (its JSON schema: ``extension.schema.json`` beside this module)."""

def stix_id(stix_type: str, *key: str) -> str:
    """A deterministic id: a UUID of version 4's form (STIX SHOULDs v4 for SDOs and SROs) made from a hash of ``key``."""
    digest = sha256("\x1f".join((stix_type, *key)).encode()).digest()
    return f"{stix_type}--{uuid.UUID(bytes=digest[:16], version=4)}"


EXTENSION_ID = stix_id("extension-definition", EXTENSION_SCHEMA)
"""Fixed id of fimigraph's property ``extension-definition``."""
LEGACY_EXTENSION_ID = "extension-definition--c7be86d2-966e-5057-be5b-ecff58d8ba05"
"""The extension's earlier id (a UUIDv5, which STIX advises against): bundles that use it still import."""
NEW_SDO_EXTENSION_IDS = {t: stix_id("extension-definition", str(STIX) + t) for t in ("channel", "narrative", "event")}
"""Fixed ids of the ``new-sdo`` extension-definitions under which fimigraph exports OpenCTI's channel, narrative, event."""
PRODUCER_ID = stix_id("identity", str(STIX) + "fimigraph")
"""The ``identity`` of fimigraph as producer of exported bundles."""
EXTENSION_CREATED = "2025-01-01T00:00:00.000Z"
EXPORT_EPOCH = "1970-01-01T00:00:00.000Z"
"""Timestamp of exported objects when the store gives none (deterministic output)."""

DEFAULT_CONFIDENCE = 50
"""Confidence of a claim whose relationship and report give none: the middle of STIX's "Med" band."""
WEAKEST_GRADE = "state-aligned"
"""Grade of an attribution whose grade the bundle leaves open: the weakest it supports (never over-grade)."""

TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_MARKINGS = {
    "TLP:CLEAR": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "TLP:GREEN": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "TLP:AMBER": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "TLP:AMBER+STRICT": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "TLP:RED": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
"""TLP 2.0 marking-definition ids (OASIS TLP 2.0 extension), used on export."""
KNOWN_MARKINGS = {
    **{v: k for k, v in TLP2_MARKINGS.items()},
    # STIX 2.1 §7.2.1.4 predefined TLP 1.0 markings (WHITE reads as CLEAR) …
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "TLP:CLEAR",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "TLP:GREEN",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "TLP:AMBER",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "TLP:RED",
    # … and OpenCTI's fixed id for TLP:AMBER+STRICT.
    "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37": "TLP:AMBER+STRICT",
}
OPENCTI_EXTENSION_ID = "extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba"
"""OpenCTI's own extension on every object it exports (``type``: its entity type, e.g. ``Threat-Actor-Individual``)."""

_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?$")


def stix_timestamp(value: str) -> str:
    """A date or date-time as a STIX timestamp in UTC with milliseconds, ``2023-07-26T00:00:00.000Z``."""
    m = _TIMESTAMP.match(value) if isinstance(value, str) else None
    if m is None:
        raise ValueError(f"{value!r} is not a date or date-time")
    if not m.group(2):
        return f"{m.group(1)}T00:00:00.000Z"
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def kebab(name: str) -> str:
    """``rulingPartyOf`` → ``ruling-party-of``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).lower()


def local_name(term: URIRef | str) -> str:
    """The part of a ``fimi:`` IRI after the namespace."""
    return str(term)[len(str(FIMI)):]


@cache
def concepts(cls: URIRef) -> dict[str, URIRef]:
    """skos:notation → member of ``cls`` (grades, directness, markings, roles, evidence types)."""
    g = ontology_graph()
    return {str(g.value(s, SKOS.notation)): s for s in g.subjects(RDF.type, cls) if g.value(s, SKOS.notation) is not None}


@cache
def link_kinds() -> dict[str, URIRef]:
    """Link-kind name as STIX carries it (kebab-case local name, ``ruling-party-of``) → fimi:LinkKind property."""
    g = ontology_graph()
    return {kebab(local_name(s)): s for s in g.subjects(RDF.type, FIMI.LinkKind) if str(s).startswith(str(FIMI))}


@cache
def entity_kinds() -> dict[str, URIRef]:
    """Entity kind as STIX carries it (kebab-case local name, ``political-party``) → class below fimi:Entity."""
    g = ontology_graph()
    return {kebab(local_name(c)): c for c in g.transitive_subjects(RDFS.subClassOf, FIMI.Entity)
            if isinstance(c, URIRef) and str(c).startswith(str(FIMI))}


@cache
def marking_rank() -> dict[str, int]:
    """TLP notation → rank, higher is more restrictive."""
    g = ontology_graph()
    return {n: int(g.value(m, FIMI.rank)) for n, m in concepts(FIMI.TLPMarking).items()}


@cache
def is_subclass(cls: URIRef, base: URIRef) -> bool:
    """Whether ``cls`` is ``base`` or below it in the ontology."""
    return base in set(ontology_graph().transitive_objects(cls, RDFS.subClassOf))


@cache
def extension_schema() -> dict[str, Any]:
    """The JSON schema of fimigraph's property extension (what ``extension-definition`` names as its schema)."""
    return json.loads(resources.files(__package__).joinpath("extension.schema.json").read_text(encoding="utf-8"))


@cache
def extension_validator() -> Draft202012Validator:
    """A validator of one object's fimigraph extension against :func:`extension_schema`."""
    return Draft202012Validator(extension_schema())
