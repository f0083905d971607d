"""Validation of incoming documents against the SHACL shapes in ``rules/shapes``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pyshacl
from rdflib import Graph, URIRef
from rdflib.namespace import SH

from .ontology import ontology_graph
from .ruleset import shapes_graph


@dataclass(frozen=True)
class ValidationOutcome:
    """Whether a document conforms, and why not."""

    conforms: bool
    results: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""

    def summary(self) -> str:
        """One line naming the first problems."""
        if self.conforms:
            return "conforms to the SHACL shapes"
        first = "; ".join(f"{r['focus_node']}: {r['message']}" for r in self.results[:3])
        more = f" (and {len(self.results) - 3} more)" if len(self.results) > 3 else ""
        return f"{len(self.results)} SHACL violation(s): {first}{more}"


def quiet_literal_warnings() -> None:
    """Silence rdflib's traceback for each ill-typed literal (e.g. "2024-13-45"^^xsd:date).

    The SHACL report already names such literals as violations; entry points call this once.
    """
    logging.getLogger("rdflib.term").setLevel(logging.ERROR)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def validate_graph(document: Graph) -> ValidationOutcome:
    """Validate one document (with the ontology in view, for class hierarchies)."""
    # The whole ontology goes in: pyshacl's ont_graph only copies class axioms, and the
    # shapes also need the typed vocabularies (link kinds, grades, markings).
    data = Graph()
    for graph in (document, ontology_graph()):
        for triple in graph:
            data.add(triple)
    conforms, report, text = pyshacl.validate(
        data,
        shacl_graph=shapes_graph(),
        advanced=True,
        allow_warnings=True,
    )
    results = []
    for result in report.subjects(SH.resultSeverity, None):
        severity = report.value(result, SH.resultSeverity)
        results.append(
            {
                "focus_node": _str(report.value(result, SH.focusNode)),
                "path": _str(report.value(result, SH.resultPath)),
                "value": _str(report.value(result, SH.value)),
                "message": _str(report.value(result, SH.resultMessage)) or "constraint violated",
                "severity": str(severity).rsplit("#", 1)[-1] if isinstance(severity, URIRef) else None,
                "shape": _str(report.value(result, SH.sourceShape)),
            }
        )
    results.sort(key=lambda r: (r["focus_node"] or "", r["path"] or "", r["message"]))
    return ValidationOutcome(bool(conforms), results, str(text))
