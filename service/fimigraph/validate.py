"""Validation of incoming documents against the SHACL shapes in ``rules/shapes``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pyshacl
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, SH, XSD

from .ontology import ontology_graph
from .ruleset import shapes_graph
from .vocab import compact


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
        first = "; ".join(f"{r['focus_node']}: {r['message']}" + (f" (found {r['found']})" if r.get("found") else "")
                          for r in self.results[:3])
        more = f" (and {len(self.results) - 3} more)" if len(self.results) > 3 else ""
        return f"{len(self.results)} SHACL violation(s): {first}{more}"


def quiet_literal_warnings() -> None:
    """Silence rdflib's traceback for each ill-typed literal (e.g. "2024-13-45"^^xsd:date).

    The SHACL report already names such literals as violations; entry points call this once.
    """
    logging.getLogger("rdflib.term").setLevel(logging.ERROR)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def found(term: Any, document: Graph) -> str | None:
    """The value a constraint refused, as a reader should see it: a literal with its tag or datatype, a node with its types."""
    if term is None:
        return None
    if isinstance(term, Literal):
        text = str(term) if len(str(term)) <= 60 else str(term)[:59] + "…"
        if term.language:
            return f'"{text}"@{term.language}'
        return f'"{text}"' + (f"^^{compact(str(term.datatype))}" if term.datatype not in (None, XSD.string) else "")
    name = "a blank node" if isinstance(term, BNode) else compact(str(term))
    types = sorted(compact(str(t)) for t in document.objects(term, RDF.type))
    return f"{name}, typed {', '.join(types)}" if types else f"{name}, with no rdf:type in this document"


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
        value = report.value(result, SH.value)
        results.append(
            {
                "focus_node": _str(report.value(result, SH.focusNode)),
                "path": _str(report.value(result, SH.resultPath)),
                "value": _str(value),
                "found": found(value, document),
                "message": _str(report.value(result, SH.resultMessage)) or "constraint violated",
                "severity": str(severity).rsplit("#", 1)[-1] if isinstance(severity, URIRef) else None,
                "shape": _str(report.value(result, SH.sourceShape)),
            }
        )
    results.sort(key=lambda r: (r["focus_node"] or "", r["path"] or "", r["message"]))
    return ValidationOutcome(bool(conforms), results, str(text))
