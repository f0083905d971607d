"""Explanations: the proof of a conclusion, down to the claims, sources and quotes.

A conclusion (attribution link, negative finding, conflict) has one or more derivations,
each a rule applied to premises: claims, and other conclusions with proofs of their own. An
explanation gives a paragraph an analyst can paste into a report; the best derivation's tree
(each premise conclusion expanded through its own best derivation, a shared one once); the
other derivations, ranked (the first five, or all); and, for an attribution link, the
strongest grade that would remain between the same subject and state if each claim it rests
on were retracted. A claim that another source disputes is flagged wherever it appears.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .attribution import check_iri, confidence_label, labels
from .errors import NotFound
from .ontology import grade_ranks, label as term_label, notations
from .ruleset import rule_by_iri
from .store import GraphStore, iri_batches
from .vocab import DCTERMS, FIMI, INFERRED_GRAPH, RDF, RDFS, SOURCES_GRAPH

OTHERS_SHOWN = 5
"""How many other derivations an explanation lists unless asked for all."""

_KINDS = {str(FIMI.AttributionLink): "attribution-link", str(FIMI.NegativeFinding): "negative-finding", str(FIMI.Conflict): "conflict"}
_CLAIM = str(FIMI.Claim)


class _Proof:
    """Everything under one node: descriptions of the conclusions, derivations and claims of its proof."""

    def __init__(self, store: GraphStore, node: str) -> None:
        self.store = store
        rows = store.select(
            "SELECT ?root ?n WHERE { ?root (^fimi:derivationOf/fimi:premise)* ?n }", bind={"root": node})
        self.nodes = {r["n"] for r in rows} | {node}
        self.props: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
        for batch in iri_batches(sorted(self.nodes)):
            for r in store.select(f"SELECT ?s ?p ?o WHERE {{ VALUES ?s {{ {batch} }} ?s ?p ?o }}"):
                values = self.props[r["s"]][r["p"]]
                if r["o"] not in values:
                    values.append(r["o"])
        self.derivations: dict[str, list[str]] = defaultdict(list)
        inferred = sorted(n for n in self.nodes if self.kind(n) in _KINDS.values())
        for batch in iri_batches(inferred):
            for r in store.select(
                f"SELECT ?n ?d ?p ?o WHERE {{ VALUES ?n {{ {batch} }} GRAPH <{INFERRED_GRAPH}> {{ ?d fimi:derivationOf ?n ; ?p ?o }} }}"
            ):
                if r["d"] not in self.derivations[r["n"]]:
                    self.derivations[r["n"]].append(r["d"])
                values = self.props[r["d"]][r["p"]]
                if r["o"] not in values:
                    values.append(r["o"])
        claims = sorted(n for n in self.nodes if self.kind(n) == "claim")
        self.disputed: dict[str, list[str]] = defaultdict(list)
        for batch in iri_batches(claims):
            for r in store.select(
                f"SELECT ?claim ?dispute WHERE {{ VALUES ?claim {{ {batch} }} ?dispute fimi:claimObject ?claim ; "
                f"fimi:claimPredicate fimi:disputes }}"
            ):
                self.disputed[r["claim"]].append(r["dispute"])
                self.nodes.add(r["dispute"])
        for batch in iri_batches(sorted({d for ds in self.disputed.values() for d in ds})):
            for r in store.select(f"SELECT ?s ?p ?o WHERE {{ VALUES ?s {{ {batch} }} ?s ?p ?o }}"):
                self.props[r["s"]][r["p"]].append(r["o"])
        mentioned = {v for n in self.nodes for vs in self.props[n].values() for v in vs if _iri_like(v)}
        mentioned |= {v for n in self.nodes for v in (self.one(n, FIMI.viaPath) or "").split()}
        self.names = labels(store, mentioned | self.nodes)
        self.sources = _sources(store, {str(s) for n in self.nodes for s in self.props[n].get(str(FIMI.statedIn), [])})
        for info in self.sources.values():
            info["publisher_label"] = self.names.get(info.get("publisher", ""))
            info["label"] = self.names.get(info["iri"]) or info.get("title")

    def one(self, node: str, term: Any) -> Any:
        values = self.props.get(node, {}).get(str(term)) or [None]
        return sorted(values, key=str)[0]

    def kind(self, node: str) -> str | None:
        types = {str(t) for t in self.props.get(node, {}).get(str(RDF.type), [])}
        if _CLAIM in types:
            return "claim"
        return next((v for k, v in _KINDS.items() if k in types), None)

    def name(self, iri: str | None) -> str | None:
        return None if iri is None else self.names.get(iri) or iri


def _iri_like(value: Any) -> bool:
    """Whether a value read back from the store can be an IRI (rows give IRIs and strings alike as str)."""
    return isinstance(value, str) and ":" in value and not any(c in value for c in ' <>"{}|^`\\\n\t')


def _sources(store: GraphStore, iris: set[str]) -> dict[str, dict[str, Any]]:
    if not iris:
        return {}
    values = " ".join(f"<{i}>" for i in sorted(iris))
    rows = store.select(f"SELECT ?s ?p ?o WHERE {{ VALUES ?s {{ {values} }} GRAPH <{SOURCES_GRAPH}> {{ ?s ?p ?o }} }}")
    found: dict[str, dict[str, Any]] = {i: {"iri": i} for i in iris}
    keys = {str(DCTERMS.title): "title", str(DCTERMS.publisher): "publisher", str(DCTERMS.issued): "issued",
            str(FIMI.reliability): "reliability", str(DCTERMS.identifier): "id"}
    for r in rows:
        if r["p"] in keys:
            found[r["s"]][keys[r["p"]]] = r["o"]
    return found


def _notation(value: Any) -> Any:
    return notations().get(value, value) if value is not None else None


def explain(store: GraphStore, node: str, *, all_derivations: bool = False) -> dict[str, Any]:
    """The proof of a link, negative finding, conflict or claim: summary, best derivation's tree, other derivations."""
    check_iri(node)
    proof = _Proof(store, node)
    kind = proof.kind(node)
    if kind is None:
        raise NotFound(f"{node} is no attribution link, negative finding, conflict or claim in this store")
    if kind == "claim":
        return _claim(proof, node)
    answer = _conclusion(proof, node, expanded=set())
    ranked = _ranked(proof, node)
    best = proof.one(node, FIMI.bestDerivation)
    others = [d for d in ranked if d != best]
    answer["other_derivations"] = [_derivation(proof, d, expand=False) for d in (others if all_derivations else others[:OTHERS_SHOWN])]
    answer["other_derivations_not_shown"] = 0 if all_derivations else max(len(others) - OTHERS_SHOWN, 0)
    if kind == "attribution-link":
        answer["not_directly_linked"] = _findings(store, proof, answer["subject"], answer["target"])
        answer["if_retracted"] = _if_retracted(store, proof, answer)
    answer["summary"] = _summary(proof, answer)
    return answer


def _ranked(proof: _Proof, node: str) -> list[str]:
    """A conclusion's derivations, the most confident first, then by IRI."""
    return sorted(proof.derivations.get(node, []), key=lambda d: (-(proof.one(d, FIMI.confidence) or 0), d))


def _conclusion(proof: _Proof, node: str, *, expanded: set[str]) -> dict[str, Any]:
    """A conclusion with its best derivation expanded (a conclusion already expanded above is only referred to)."""
    kind = proof.kind(node)
    subject, target = proof.one(node, FIMI.linkSubject), proof.one(node, FIMI.linkTarget)
    via = (proof.one(node, FIMI.viaPath) or "").split()
    confidence = proof.one(node, FIMI.confidence)
    out = {
        "node": node,
        "type": kind,
        "subject": subject,
        "subject_label": proof.names.get(subject),
        "target": target,
        "target_label": proof.names.get(target) if target else None,
        "grade": _notation(proof.one(node, FIMI.grade)),
        "directness": _notation(proof.one(node, FIMI.directness)),
        "conflict_kind": _notation(proof.one(node, FIMI.conflictKind)),
        "confidence": confidence,
        "confidence_label": confidence_label(confidence),
        "via": via,
        "via_labels": [proof.names.get(v) for v in via],
        "valid_from": proof.one(node, FIMI.validFrom),
        "valid_until": proof.one(node, FIMI.validUntil),
        "marking": _notation(proof.one(node, FIMI.marking)),
        "derivations": len(proof.derivations.get(node, [])),
        "sources": [{"source": s, "label": proof.names.get(s)} for s in sorted(proof.props[node].get(str(FIMI.proofSource), []))],
    }
    if node in expanded:
        return {**out, "expanded_above": True}
    expanded.add(node)
    best = proof.one(node, FIMI.bestDerivation) or next(iter(_ranked(proof, node)), None)
    out["best_derivation"] = _derivation(proof, best, expand=True, expanded=expanded) if best else None
    return out


def _derivation(proof: _Proof, d: str, *, expand: bool, expanded: set[str] | None = None) -> dict[str, Any]:
    rule = rule_by_iri().get(str(proof.one(d, FIMI.rule)))
    confidence = proof.one(d, FIMI.confidence)
    premises = sorted(proof.props[d].get(str(FIMI.premise), []), key=lambda p: (proof.kind(p) != "claim", p))
    return {
        "derivation": d,
        "rule": str(rule.iri) if rule else proof.one(d, FIMI.rule),
        "rule_label": rule.label if rule else None,
        "rule_comment": rule.comment if rule else None,
        "confidence": confidence,
        "confidence_label": confidence_label(confidence),
        "premises": [
            _claim(proof, p) if proof.kind(p) == "claim"
            else _conclusion(proof, p, expanded=expanded if expanded is not None else set()) if expand
            else _reference(proof, p)
            for p in premises
        ],
    }


def _reference(proof: _Proof, node: str) -> dict[str, Any]:
    """A premise conclusion named, not expanded (its own explanation has its proof)."""
    subject, target = proof.one(node, FIMI.linkSubject), proof.one(node, FIMI.linkTarget)
    return {"node": node, "type": proof.kind(node), "subject": subject, "subject_label": proof.names.get(subject),
            "target": target, "target_label": proof.names.get(target) if target else None,
            "grade": _notation(proof.one(node, FIMI.grade)), "confidence": proof.one(node, FIMI.confidence)}


def _claim(proof: _Proof, node: str) -> dict[str, Any]:
    subject, predicate, obj = proof.one(node, FIMI.claimSubject), proof.one(node, FIMI.claimPredicate), proof.one(node, FIMI.claimObject)
    confidence = proof.one(node, FIMI.confidence)
    source = proof.one(node, FIMI.statedIn)
    predicate_label = term_label(predicate) if predicate else None
    return {
        "node": node,
        "type": "claim",
        "subject": subject,
        "subject_label": proof.names.get(subject),
        "predicate": predicate,
        "predicate_label": predicate_label,
        "object": obj,
        "object_label": proof.names.get(obj),
        "statement": f"{proof.name(subject)} {predicate_label or predicate} {proof.name(obj)}",
        "source": proof.sources.get(str(source), {"iri": source}),
        "quote": proof.one(node, FIMI.quote),
        "confidence": confidence,
        "confidence_label": confidence_label(confidence),
        "evidence_type": _notation(proof.one(node, FIMI.evidenceType)),
        "valid_from": proof.one(node, FIMI.validFrom),
        "valid_until": proof.one(node, FIMI.validUntil),
        "marking": _notation(proof.one(node, FIMI.marking)) or "TLP:CLEAR",
        "role": _notation(proof.one(node, FIMI.role)),
        "claimed_grade": _notation(proof.one(node, FIMI.claimedGrade)),
        "comment": proof.one(node, RDFS.comment),
        "disputed_by": [
            {"claim": d, "source": proof.one(d, FIMI.statedIn), "source_label": proof.name(proof.one(d, FIMI.statedIn)),
             "quote": proof.one(d, FIMI.quote)}
            for d in sorted(proof.disputed.get(node, []))
        ],
    }


def _findings(store: GraphStore, proof: _Proof, subject: str, state: str) -> list[dict[str, Any]]:
    """What sources say they could not link directly, for the same subject and state."""
    rows = store.select(
        f"""SELECT DISTINCT ?subject ?state ?claim ?source ?quote WHERE {{
              GRAPH <{INFERRED_GRAPH}> {{ ?f a fimi:NegativeFinding ; fimi:linkSubject ?subject ; fimi:linkTarget ?state ;
                                            fimi:premise+ ?claim }}
              ?claim fimi:claimPredicate fimi:notDirectlyLinkedTo ; fimi:statedIn ?source ; fimi:quote ?quote .
            }} ORDER BY ?source ?claim""",
        bind={"subject": subject, "state": state},
    )
    names = labels(store, {r["source"] for r in rows})
    return [{"claim": r["claim"], "source": r["source"], "source_label": names.get(r["source"]), "quote": r["quote"]} for r in rows]


def _leaf_claims(tree: dict[str, Any]) -> list[dict[str, Any]]:
    """The claims of a tree, in order, each once."""
    found: dict[str, dict[str, Any]] = {}

    def walk(node: dict[str, Any]) -> None:
        if node.get("type") == "claim":
            found.setdefault(node["node"], node)
        for key in ("best_derivation",):
            if node.get(key):
                walk(node[key])
        for premise in node.get("premises", []):
            walk(premise)
    walk(tree)
    return list(found.values())


def _if_retracted(store: GraphStore, proof: _Proof, answer: dict[str, Any]) -> list[dict[str, Any]]:
    """For each claim of the link's proof: the strongest grade left between its subject and state without it.

    A conclusion stands without a claim if one of its derivations keeps all its premises: the
    claim is not one of them, and each premise conclusion stands (a least fixpoint, from the claims up).
    """
    rows = store.select(
        f"""SELECT ?subject ?state ?link ?grade WHERE {{ GRAPH <{INFERRED_GRAPH}> {{
              ?link a fimi:AttributionLink ; fimi:linkSubject ?subject ; fimi:linkTarget ?state ; fimi:grade ?grade }} }}""",
        bind={"subject": answer["subject"], "state": answer["target"]},
    )
    rivals = {r["link"]: r["grade"] for r in rows}
    whole = _union_proof(store, proof, set(rivals))
    ranks = grade_ranks()
    out = []
    for leaf in _leaf_claims(answer):
        standing = _standing(whole, leaf["node"])
        left = [link for link in rivals if link in standing]
        best = min(left, key=lambda link: (ranks[rivals[link]], link), default=None)
        out.append({"claim": leaf["node"], "statement": leaf["statement"], "source": leaf["source"].get("iri"),
                    "strongest_remaining_grade": _notation(rivals[best]) if best else None, "strongest_remaining_link": best})
    return out


def _union_proof(store: GraphStore, proof: _Proof, roots: set[str]) -> _Proof:
    """One proof holding the proofs of several conclusions."""
    for root in sorted(roots - proof.nodes):
        other = _Proof(store, root)
        proof.nodes |= other.nodes
        for n, props in other.props.items():
            for p, values in props.items():
                for v in values:
                    if v not in proof.props[n][p]:
                        proof.props[n][p].append(v)
        for n, ds in other.derivations.items():
            proof.derivations[n] = list(dict.fromkeys([*proof.derivations.get(n, []), *ds]))
    return proof


def _standing(proof: _Proof, gone: str) -> set[str]:
    """The conclusions of a proof that still have a derivation once claim ``gone`` is retracted."""
    standing: set[str] = set()
    changed = True
    while changed:
        changed = False
        for node, ds in proof.derivations.items():
            if node in standing:
                continue
            for d in ds:
                premises = proof.props[d].get(str(FIMI.premise), [])
                if all(p != gone and (proof.kind(p) == "claim" or p in standing) for p in premises):
                    standing.add(node)
                    changed = True
                    break
    return standing


def _summary(proof: _Proof, answer: dict[str, Any]) -> str:
    """One paragraph an analyst can paste into a report."""
    subject = answer["subject_label"] or answer["subject"]
    target = answer["target_label"] or answer["target"] or ""
    figures = f"confidence {answer['confidence']} ({answer['confidence_label']}), {answer['marking']}" if answer["confidence"] is not None \
        else answer["marking"]
    via = " → ".join(label or iri for label, iri in zip(answer["via_labels"], answer["via"]))
    if answer["type"] == "attribution-link":
        head = f"{subject} is {answer['grade']} to {target}, {answer['directness']}" + (f" via {via}" if via else "")
    elif answer["type"] == "negative-finding":
        head = f"{subject} could not be linked directly to {target} ({answer['directness']}" + (f", via {via}" if via else "") + ")"
    else:
        head = f"There is a conflict ({answer['conflict_kind']}) about {subject}" + (f" and {target}" if target else "")
    if answer["valid_from"] or answer["valid_until"]:
        figures += f", valid {answer['valid_from'] or '…'} to {answer['valid_until'] or '…'}"
    by_source: dict[str, list[str]] = {}
    for claim in _leaf_claims(answer.get("best_derivation") or {}):
        source = claim["source"].get("label") or claim["source"].get("iri")
        said = f"“{claim['quote']}”" if claim.get("quote") else claim["statement"]
        if claim["disputed_by"]:
            said += " (disputed by " + ", ".join(d["source_label"] or d["source"] for d in claim["disputed_by"]) + ")"
        by_source.setdefault(source, []).append(said)
    reasons = [f"{source} says {_and(said)}" for source, said in by_source.items()]
    text = f"{head}, {figures}"
    if reasons:
        text += ", because " + "; and ".join(reasons)
    text = _end(text)
    for finding in answer.get("not_directly_linked", []):
        text += f" {finding['source_label'] or finding['source']} could not link it directly: “{finding['quote']}”"
        text = _end(text)
    others = answer["derivations"] - 1
    if others > 0:
        text += f" {others} other derivation{'s' if others > 1 else ''} support{'s' if others == 1 else ''} it."
    return text


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _end(text: str) -> str:
    """A sentence ended once (a quote may end with its own full stop)."""
    return text if text.rstrip("”").endswith((".", "!", "?")) else text + "."


def render_text(tree: dict[str, Any]) -> str:
    """An explanation as plain text, for terminals and ``Accept: text/plain``."""
    lines: list[str] = []
    if tree.get("summary"):
        lines += [tree["summary"], ""]
    _render(tree, lines, "", "")
    if tree.get("other_derivations"):
        lines += ["", "Other derivations, most confident first:"]
        for d in tree["other_derivations"]:
            premises = "; ".join(
                p["statement"] if p["type"] == "claim" else f"{p['subject_label'] or p['subject']} → {p['target_label'] or p['target']}"
                + (f" ({p['grade']}, {p['confidence']})" if p.get("grade") else "")
                for p in d["premises"])
            lines.append(f"  - {d['rule_label'] or d['rule']}, confidence {d['confidence']}: {premises}")
        if tree.get("other_derivations_not_shown"):
            lines.append(f"  … and {tree['other_derivations_not_shown']} more (--all, ?all=true)")
    if tree.get("if_retracted"):
        lines += ["", "If one claim were retracted, the strongest remaining link would be:"]
        for item in tree["if_retracted"]:
            grade = item["strongest_remaining_grade"] or "none (no link left)"
            lines.append(f"  - without “{item['statement']}”: {grade}")
    return "\n".join(lines) + "\n"


def _render(node: dict[str, Any], lines: list[str], first: str, rest: str) -> None:
    if node["type"] == "claim":
        source = node["source"]
        where = source.get("label") or source.get("title") or source.get("iri")
        lines.append(f"{first}claim: {node['statement']}  [confidence {node['confidence']} ({node['confidence_label']}), "
                     f"{node['evidence_type'] or 'evidence type not given'}, {node['marking']}]")
        lines.append(f"{rest}    source: {where}" + (f" — {source['publisher_label']}" if source.get("publisher_label") else ""))
        lines.append(f"{rest}    quote: “{node['quote']}”")
        for d in node.get("disputed_by", []):
            lines.append(f"{rest}    DISPUTED by {d['source_label'] or d['source']}: “{d['quote']}”")
        return
    subject = node["subject_label"] or node["subject"]
    target = node["target_label"] or node["target"] or ""
    if node["type"] == "attribution-link":
        head = f"{subject} → {target}: {node['grade']}, {node['directness']}"
    elif node["type"] == "negative-finding":
        head = f"{subject} not directly linked to {target} ({node['directness']})"
    else:
        head = f"conflict ({node['conflict_kind']}) about {subject}" + (f" and {target}" if target else "")
    if node.get("confidence") is not None:
        head += f", confidence {node['confidence']} ({node['confidence_label']})"
    head += f", {node['marking']}"
    if node.get("expanded_above"):
        lines.append(f"{first}{head} (its proof is shown above)")
        return
    lines.append(f"{first}{head}")
    if node["via"]:
        lines.append(f"{rest}    via: {' → '.join(l or v for l, v in zip(node['via_labels'], node['via']))}")
    if node["valid_from"] or node["valid_until"]:
        lines.append(f"{rest}    valid: {node['valid_from'] or '…'} to {node['valid_until'] or '…'}")
    best = node.get("best_derivation")
    if best is None:
        return
    count = node.get("derivations", 1)
    lines.append(f"{rest}    rule: {best['rule_label'] or best['rule']}" + (f" (best of {count} derivations)" if count > 1 else ""))
    for i, premise in enumerate(best["premises"]):
        last = i == len(best["premises"]) - 1
        _render(premise, lines, rest + ("└─ " if last else "├─ "), rest + ("   " if last else "│  "))
