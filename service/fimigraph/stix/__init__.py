"""STIX 2.1 in and out: a bundle becomes one source document; an attribution answer becomes a bundle.

``docs/stix-mapping.md`` has the tables: which STIX and OpenCTI objects and relationships become
which classes and link kinds, fimigraph's extension, and the decisions behind them.
"""

from __future__ import annotations

from .common import (
    DEFAULT_CONFIDENCE,
    EXPORT_EPOCH,
    EXTENSION_ID,
    EXTENSION_SCHEMA,
    PRODUCER_ID,
    TLP2_MARKINGS,
    WEAKEST_GRADE,
    entity_kinds,
    extension_schema,
    link_kinds,
)
from .export import attribution_to_stix, export_attribution
from .imports import StixImport, bundle_to_graph, import_bundle

__all__ = [
    "DEFAULT_CONFIDENCE", "EXPORT_EPOCH", "EXTENSION_ID", "EXTENSION_SCHEMA", "PRODUCER_ID", "StixImport",
    "TLP2_MARKINGS", "WEAKEST_GRADE", "attribution_to_stix", "bundle_to_graph", "entity_kinds", "export_attribution",
    "extension_schema", "import_bundle", "link_kinds",
]
