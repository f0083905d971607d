"""Explanations: the proof tree of an inference, down to the claims, sources and quotes.

An auditor reads, for every inferred node, the rule that made it and its premises; for
every claim, the source, its verbatim quote, confidence and evidence type. For an
attribution link, ``if_retracted`` says what the strongest remaining grade between the
same subject and state would be if each claim it rests on were retracted.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .attribution import check_iri, confidence_label, labels
from .errors import NotFound
from .ontology import grade_ranks, label as term_label, notations
from .ruleset import rule_by_iri
from .store import GraphStore
from .vocab import DCTERMS, FIMI, RDF, RDFS, SOURCES_GRAPH

_INFERENCE_TYPES = {str(FIMI.AttributionLink): "attribution-link", str(FIMI.NegativeFinding): "negative-finding", str(FIMI.Conflict): "conflict"}


def _closure(store: GraphStore, node: str) -> tuple[dict[str, dict[str, list[Any]]], set[str]]:
    rows = store.select(f"SELECT ?n ?p ?o ?isIri WHERE {{ <{node}> fimi:premise* ?n . ?n ?p ?o BIND(isIRI(?o) AS ?isIri) }}")
    described: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    iris: set[str] = set()
    for r in rows:
        values = described[r["n"]][r["p"]]
        if r["o"] not in values:
            values.append(r["o"])
        if r["isIri"] == "true":
            iris.add(r["o"])
    return described, iris


def _sources(store: GraphStore, iris: set[str]) -> dict[str, dict[str, Any]]:
    if not iris:
        return {}
    values = " ".join(f"<{i}>" for i in sorted(iris))
    rows = store.select(
        f"""SELECT ?s ?p ?o WHERE {{ VALUES ?s {{ {values} }} GRAPH <{SOURCES_GRAPH}> {{ ?s ?p ?o }} }}"""
    )
    found: dict[str, dict[str, Any]] = {i: {"iri": i} for i in iris}
    keys = {str(DCTERMS.title): "title", str(DCTERMS.publisher): "publisher", str(DCTERMS.issued): "issued",
            str(FIMI.reliability): "reliability", str(DCTERMS.identifier): "id"}
    for r in rows:
        if r["p"] in keys:
            found[r["s"]][keys[r["p"]]] = r["o"]
    return found


def _one(props: dict[str, list[Any]], term: Any) -> Any:
    values = props.get(str(term)) or [None]
    return sorted(values, key=str)[0]


def _notation(value: Any) -> Any:
    return notations().get(value, value) if value is not None else None


def explain(store: GraphStore, node: str) -> dict[str, Any]:
    """The proof tree of a link, negative finding, conflict or claim."""
    check_iri(node)
    described, iris = _closure(store, node)
    kinds = {str(t) for t in described.get(node, {}).get(str(RDF.type), [])}
    if not kinds & (set(_INFERENCE_TYPES) | {str(FIMI.Claim)}):
        raise NotFound(f"{node} is no attribution link, negative finding, conflict or claim in this store")
    names = labels(store, iris | set(described))
    sources = _sources(store, {str(s) for p in described.values() for s in p.get(str(FIMI.statedIn), [])})
    for info in sources.values():
        info["publisher_label"] = names.get(info.get("publisher", ""))
    tree = _node(node, described, names, sources)
    if str(FIMI.AttributionLink) in kinds:
        tree["if_retracted"] = _if_retracted(store, tree, names)
    return tree


def _node(node: str, described: dict, names: dict[str, str], sources: dict) -> dict[str, Any]:
    props = described.get(node, {})
    kinds = {str(t) for t in props.get(str(RDF.type), [])}
    if str(FIMI.Claim) in kinds:
        return _claim(node, props, names, sources)
    kind = next(v for k, v in _INFERENCE_TYPES.items() if k in kinds)
    rule = rule_by_iri().get(str(_one(props, FIMI.rule)))
    via = (_one(props, FIMI.viaPath) or "").split()
    confidence = _one(props, FIMI.confidence)
    subject, target = _one(props, FIMI.linkSubject), _one(props, FIMI.linkTarget)
    premises = sorted(props.get(str(FIMI.premise), []), key=lambda p: (str(FIMI.Claim) not in {str(t) for t in described.get(p, {}).get(str(RDF.type), [])}, p))
    return {
        "node": node,
        "type": kind,
        "rule": str(rule.iri) if rule else _one(props, FIMI.rule),
        "rule_label": rule.label if rule else None,
        "rule_comment": rule.comment if rule else None,
        "subject": subject,
        "subject_label": names.get(subject),
        "target": target,
        "target_label": names.get(target) if target else None,
        "grade": _notation(_one(props, FIMI.grade)),
        "directness": _notation(_one(props, FIMI.directness)),
        "conflict_kind": _notation(_one(props, FIMI.conflictKind)),
        "confidence": confidence,
        "confidence_label": confidence_label(confidence),
        "via": via,
        "via_labels": [names.get(v) for v in via],
        "valid_from": _one(props, FIMI.validFrom),
        "valid_until": _one(props, FIMI.validUntil),
        "marking": _notation(_one(props, FIMI.marking)),
        "premises": [_node(p, described, names, sources) for p in premises],
    }


def _claim(node: str, props: dict, names: dict[str, str], sources: dict) -> dict[str, Any]:
    subject, predicate, obj = _one(props, FIMI.claimSubject), _one(props, FIMI.claimPredicate), _one(props, FIMI.claimObject)
    confidence = _one(props, FIMI.confidence)
    source = _one(props, FIMI.statedIn)
    predicate_label = term_label(predicate) if predicate else None
    return {
        "node": node,
        "type": "claim",
        "subject": subject,
        "subject_label": names.get(subject),
        "predicate": predicate,
        "predicate_label": predicate_label,
        "object": obj,
        "object_label": names.get(obj),
        "statement": f"{names.get(subject) or subject} {predicate_label or predicate} {names.get(obj) or obj}",
        "source": sources.get(str(source), {"iri": source}),
        "quote": _one(props, FIMI.quote),
        "confidence": confidence,
        "confidence_label": confidence_label(confidence),
        "evidence_type": _notation(_one(props, FIMI.evidenceType)),
        "valid_from": _one(props, FIMI.validFrom),
        "valid_until": _one(props, FIMI.validUntil),
        "marking": _notation(_one(props, FIMI.marking)) or "TLP:CLEAR",
        "role": _notation(_one(props, FIMI.role)),
        "claimed_grade": _notation(_one(props, FIMI.claimedGrade)),
        "comment": _one(props, RDFS.comment),
    }


def _leaf_claims(tree: dict[str, Any]) -> list[dict[str, Any]]:
    if tree["type"] == "claim":
        return [tree]
    found: dict[str, dict[str, Any]] = {}
    for premise in tree["premises"]:
        for leaf in _leaf_claims(premise):
            found.setdefault(leaf["node"], leaf)
    return list(found.values())


def _if_retracted(store: GraphStore, tree: dict[str, Any], names: dict[str, str]) -> list[dict[str, Any]]:
    rows = store.select(
        f"""SELECT ?link ?grade ?claim WHERE {{
              ?link a fimi:AttributionLink ; fimi:linkSubject <{tree['subject']}> ;
                    fimi:linkTarget <{tree['target']}> ; fimi:grade ?grade ; fimi:premise+ ?claim .
              ?claim a fimi:Claim . }}"""
    )
    support: dict[str, set[str]] = defaultdict(set)
    grade_of: dict[str, str] = {}
    for r in rows:
        support[r["link"]].add(r["claim"])
        grade_of[r["link"]] = r["grade"]
    ranks = grade_ranks()
    answer = []
    for leaf in _leaf_claims(tree):
        remaining = [link for link, claims in support.items() if leaf["node"] not in claims]
        best = min(remaining, key=lambda link: (ranks[grade_of[link]], link), default=None)
        answer.append(
            {
                "claim": leaf["node"],
                "statement": leaf["statement"],
                "source": leaf["source"].get("iri"),
                "strongest_remaining_grade": _notation(grade_of[best]) if best else None,
                "strongest_remaining_link": best,
            }
        )
    return answer


def render_text(tree: dict[str, Any]) -> str:
    """The proof tree as indented plain text, for terminals and ``Accept: text/plain``."""
    lines: list[str] = []
    _render(tree, lines, "", "")
    if tree.get("if_retracted"):
        lines.append("")
        lines.append("If one claim were retracted, the strongest remaining link would be:")
        for item in tree["if_retracted"]:
            grade = item["strongest_remaining_grade"] or "none (no link left)"
            lines.append(f"  - without “{item['statement']}”: {grade}")
    return "\n".join(lines) + "\n"


def _render(node: dict[str, Any], lines: list[str], first: str, rest: str) -> None:
    if node["type"] == "claim":
        source = node["source"]
        where = source.get("title") or source.get("iri")
        lines.append(f"{first}claim: {node['statement']}  [confidence {node['confidence']} ({node['confidence_label']}), "
                     f"{node['evidence_type'] or 'evidence type not given'}, {node['marking']}]")
        lines.append(f"{rest}    source: {where}" + (f" — {source['publisher_label']}" if source.get("publisher_label") else ""))
        lines.append(f"{rest}    quote: “{node['quote']}”")
        return
    subject = node["subject_label"] or node["subject"]
    target = node["target_label"] or node["target"] or ""
    if node["type"] == "attribution-link":
        head = f"{subject} → {target}: {node['grade']}, {node['directness']}"
    elif node["type"] == "negative-finding":
        head = f"{subject} not directly linked to {target} ({node['directness']})"
    else:
        head = f"conflict ({node['conflict_kind']}) about {subject}" + (f" and {target}" if target else "")
    if node["confidence"] is not None:
        head += f", confidence {node['confidence']} ({node['confidence_label']})"
    head += f", {node['marking']}"
    lines.append(f"{first}{head}")
    if node["via"]:
        lines.append(f"{rest}    via: {' → '.join(l or v for l, v in zip(node['via_labels'], node['via']))}")
    if node["valid_from"] or node["valid_until"]:
        lines.append(f"{rest}    valid: {node['valid_from'] or '…'} to {node['valid_until'] or '…'}")
    lines.append(f"{rest}    rule: {node['rule_label'] or node['rule']}")
    for i, premise in enumerate(node["premises"]):
        last = i == len(node["premises"]) - 1
        _render(premise, lines, rest + ("└─ " if last else "├─ "), rest + ("   " if last else "│  "))
