"""SHACL-AF rules of a shapes graph, as the SPARQL CONSTRUCT queries they amount to.

pyshacl runs a rule once per focus node of its shape, with ``$this`` bound to it. The same
rule as one query: the shape's targets become patterns binding ``?this`` (a
``sh:targetNode`` a VALUES block, ``sh:targetClass`` ``?this rdf:type/rdfs:subClassOf*``…),
its ``sh:condition`` shapes filters on ``?this``. A ``sh:TripleRule``'s node expressions
become patterns and BINDs; a ``sh:SPARQLFunction`` it calls is evaluated by the engine
(:func:`functions`). Rules are picked by their ``rdf:type`` and ordered by stratum, then
``sh:order``; deactivated ones are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH
from rdflib.term import Node

from ..ruleset import stratum_of
from .expressions import Unsupported


@dataclass(frozen=True)
class RuleText:
    """One rule as a CONSTRUCT query: its name, stratum, order, prefixes and text."""

    name: str
    stratum: int
    order: tuple[float, float, str, str]
    prefixes: dict[str, str]
    text: str


def prefixes_of(g: Graph, node: Node) -> dict[str, str]:
    """The prefixes a rule or function declares through ``sh:prefixes``."""
    out: dict[str, str] = {}
    for pnode in g.objects(node, SH.prefixes):
        for decl in g.objects(pnode, SH.declare):
            prefix, ns = g.value(decl, SH.prefix), g.value(decl, SH.namespace)
            if prefix is not None and ns is not None:
                out[str(prefix)] = str(ns)
    return out


def n3(term: Node) -> str:
    """A constant in SPARQL syntax."""
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, Literal):
        return term.n3()
    raise Unsupported(f"a blank node {term} cannot be used as a constant in a rule")


def sparql_path(g: Graph, path: Node) -> str:
    """A SHACL property path as a SPARQL property path."""
    if isinstance(path, URIRef):
        return f"<{path}>"
    if g.value(path, RDF.first) is not None:
        return "(" + "/".join(sparql_path(g, p) for p in Collection(g, path)) + ")"
    for prop, fmt in ((SH.inversePath, "^{}"), (SH.zeroOrMorePath, "{}*"), (SH.oneOrMorePath, "{}+"), (SH.zeroOrOnePath, "{}?")):
        inner = g.value(path, prop)
        if inner is not None:
            return "(" + fmt.format(sparql_path(g, inner)) + ")"
    alt = g.value(path, SH.alternativePath)
    if alt is not None:
        return "(" + "|".join(sparql_path(g, p) for p in Collection(g, alt)) + ")"
    raise Unsupported(f"unsupported property path {path}")


_IGNORED_SHAPE_PROPS = {
    RDF.type, RDFS.label, RDFS.comment, SH.rule, SH.targetClass, SH.targetNode, SH.targetSubjectsOf,
    SH.targetObjectsOf, SH.name, SH.description, SH.order, SH.group, SH.defaultValue, SH.severity, SH.message,
    SH.path, SH.prefixes, SH.declare, SH.sparql, RDFS.subClassOf,
}


class _Conditions:
    """SHACL constraints as SPARQL boolean expressions (for ``sh:condition``)."""

    def __init__(self, g: Graph) -> None:
        self.g = g
        self.n = 0

    def var(self) -> str:
        self.n += 1
        return f"?_c{self.n}"

    def shape(self, shape: Node, v: str) -> str:
        """An expression true when the node in ``v`` conforms to ``shape``."""
        g = self.g
        if (shape, SH.deactivated, Literal(True)) in g:
            return "true"
        parts: list[str] = []
        for prop, obj in g.predicate_objects(shape):
            if prop in _IGNORED_SHAPE_PROPS:
                continue
            if prop == SH.property:
                parts.append(self.property(obj, v))
            elif prop in (SH.minCount, SH.maxCount, SH.equals, SH.disjoint, SH.lessThan, SH.lessThanOrEquals, SH.uniqueLang,
                          SH.qualifiedValueShape, SH.qualifiedMinCount, SH.qualifiedMaxCount):
                raise Unsupported(f"{prop} on a node shape in a condition")
            else:
                parts.append(self.value(prop, obj, v, shape))
        return "(" + " && ".join(parts) + ")" if parts else "true"

    def value(self, prop: Node, obj: Node, v: str, owner: Node) -> str:
        """A value-node constraint on ``v`` (``owner``: the shape that states it)."""
        g = self.g
        if prop == SH["class"]:
            return f"EXISTS {{ {v} <{RDF.type}>/<{RDFS.subClassOf}>* <{obj}> }}"
        if prop == SH.datatype:
            return f"COALESCE(isLiteral({v}) && DATATYPE({v}) = <{obj}>, false)"
        if prop == SH.nodeKind:
            kinds = {SH.IRI: f"isIRI({v})", SH.BlankNode: f"isBlank({v})", SH.Literal: f"isLiteral({v})",
                     SH.BlankNodeOrIRI: f"(isIRI({v}) || isBlank({v}))", SH.BlankNodeOrLiteral: f"(isBlank({v}) || isLiteral({v}))",
                     SH.IRIOrLiteral: f"(isIRI({v}) || isLiteral({v}))"}
            return kinds[obj]
        if prop == SH.hasValue:
            return f"sameTerm({v}, {n3(obj)})"
        if prop == SH["in"]:
            return "(" + " || ".join(f"sameTerm({v}, {n3(x)})" for x in Collection(g, obj)) + ")" if g.value(obj, RDF.first) else "false"
        ops = {SH.minInclusive: ">=", SH.maxInclusive: "<=", SH.minExclusive: ">", SH.maxExclusive: "<"}
        if prop in ops:
            return f"COALESCE({v} {ops[prop]} {n3(obj)}, false)"
        if prop == SH.minLength:
            return f"COALESCE(!isBlank({v}) && STRLEN(STR({v})) >= {int(obj)}, false)"
        if prop == SH.maxLength:
            return f"COALESCE(!isBlank({v}) && STRLEN(STR({v})) <= {int(obj)}, false)"
        if prop == SH.pattern:
            flags = g.value(owner, SH.flags)
            return f"COALESCE(!isBlank({v}) && REGEX(STR({v}), {n3(obj)}{', ' + n3(flags) if flags else ''}), false)"
        if prop == SH.flags:
            return "true"
        if prop == SH.node:
            return self.shape(obj, v)
        if prop == SH["not"]:
            return f"!({self.shape(obj, v)})"
        if prop == SH["and"]:
            return "(" + " && ".join(self.shape(x, v) for x in Collection(g, obj)) + ")"
        if prop == SH["or"]:
            return "(" + " || ".join(self.shape(x, v) for x in Collection(g, obj)) + ")"
        raise Unsupported(f"constraint {prop} in a condition is not supported")

    def property(self, ps: Node, v: str) -> str:
        """A property shape on ``v``."""
        g = self.g
        if (ps, SH.deactivated, Literal(True)) in g:
            return "true"
        path = sparql_path(g, g.value(ps, SH.path))
        parts: list[str] = []
        per_value: list[tuple[Node, Node]] = []
        for prop, obj in g.predicate_objects(ps):
            if prop in _IGNORED_SHAPE_PROPS:
                continue
            if prop in (SH.minCount, SH.maxCount):
                n = int(obj) + (1 if prop == SH.maxCount else 0)
                if n == 0:
                    continue
                xs = [self.var() for _ in range(n)]
                pats = " ".join(f"{v} {path} {x} ." for x in xs)
                distinct = " && ".join(f"!sameTerm({a}, {b})" for k, a in enumerate(xs) for b in xs[k + 1:])
                block = f"{{ {pats}{f' FILTER({distinct})' if distinct else ''} }}"
                parts.append(("EXISTS " if prop == SH.minCount else "NOT EXISTS ") + block)
            elif prop == SH.equals:
                x = self.var()
                parts.append(f"NOT EXISTS {{ {v} {path} {x} FILTER NOT EXISTS {{ {v} <{obj}> {x} }} }}")
                parts.append(f"NOT EXISTS {{ {v} <{obj}> {x} FILTER NOT EXISTS {{ {v} {path} {x} }} }}")
            elif prop == SH.disjoint:
                x = self.var()
                parts.append(f"NOT EXISTS {{ {v} {path} {x} . {v} <{obj}> {x} }}")
            elif prop in (SH.lessThan, SH.lessThanOrEquals):
                x, y = self.var(), self.var()
                op = "<" if prop == SH.lessThan else "<="
                parts.append(f"NOT EXISTS {{ {v} {path} {x} . {v} <{obj}> {y} FILTER(!COALESCE({x} {op} {y}, false)) }}")
            elif prop == SH.hasValue:
                parts.append(f"EXISTS {{ {v} {path} {n3(obj)} }}")
            elif prop in (SH.uniqueLang, SH.qualifiedValueShape, SH.qualifiedMinCount, SH.qualifiedMaxCount, SH.closed):
                raise Unsupported(f"{prop} in a condition is not supported")
            else:
                per_value.append((prop, obj))
        for prop, obj in per_value:
            x = self.var()
            parts.append(f"NOT EXISTS {{ {v} {path} {x} FILTER(!({self.value(prop, obj, x, ps)})) }}")
        return "(" + " && ".join(parts) + ")" if parts else "true"


class _NodeExpressions:
    """SHACL-AF node expressions of a TripleRule, as patterns and BINDs around ``?this``."""

    def __init__(self, g: Graph) -> None:
        self.g = g
        self.n = 0
        self.lines: list[str] = []

    def var(self, stem: str = "n") -> str:
        self.n += 1
        return f"?_{stem}{self.n}"

    def expr(self, node: Node) -> str:
        g = self.g
        if node == SH.this:
            return "?this"
        if isinstance(node, (URIRef, Literal)):
            return n3(node)
        path = g.value(node, SH.path)
        if path is not None:
            if g.value(node, SH.nodes) is not None:
                raise Unsupported("sh:nodes in a path expression is not supported")
            out = self.var()
            self.lines.append(f"?this {sparql_path(g, path)} {out} .")
            return out
        calls = [(p, o) for p, o in g.predicate_objects(node) if g.value(o, RDF.first) is not None or o == RDF.nil]
        if len(calls) == 1 and g.value(calls[0][0], SH.select) is not None:
            fn, args = calls[0]
            out = self.var("r")
            self.lines.append(f"BIND(<{fn}>({', '.join(self.expr(a) for a in Collection(g, args))}) AS {out})")
            return out
        raise Unsupported(f"unsupported node expression {node}")


def _targets(g: Graph, shape: Node) -> list[str]:
    """Group patterns that bind ?this to each focus node of ``shape``."""
    out = []
    nodes = list(g.objects(shape, SH.targetNode))
    if nodes:
        out.append("VALUES ?this { " + " ".join(n3(n) for n in nodes) + " }")
    classes = list(g.objects(shape, SH.targetClass))
    if (shape, RDF.type, RDFS.Class) in g or (shape, RDF.type, OWL.Class) in g:
        classes.append(shape)
    for c in classes:
        out.append(f"?this <{RDF.type}>/<{RDFS.subClassOf}>* {n3(c)} .")
    for p in g.objects(shape, SH.targetSubjectsOf):
        out.append(f"?this {n3(p)} ?_ts .")
    for p in g.objects(shape, SH.targetObjectsOf):
        out.append(f"?_to {n3(p)} ?this .")
    if list(g.objects(shape, SH.target)):
        raise Unsupported("SPARQL-based targets (sh:target) are not supported")
    return out


def _braces(text: str, start: int) -> int:
    """The index just past the ``}`` closing the ``{`` at ``start`` (strings, IRIs and comments skipped)."""
    depth, i = 0, start
    quote = None
    while i < len(text):
        c = text[i]
        if quote:
            if text.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
            if c == "\\":
                i += 2
                continue
        elif text.startswith(('"""', "'''"), i):
            quote = text[i:i + 3]
            i += 3
            continue
        elif c in "\"'":
            quote = c
        elif c == "<" and (m := _IRI_END(text, i)):
            i = m
            continue
        elif c == "#":
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
            continue
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise Unsupported("unbalanced braces in a rule")


def _IRI_END(text: str, i: int) -> int:
    j = i + 1
    while j < len(text) and text[j] not in '<>"{}|^`\\ \t\n':
        j += 1
    return j + 1 if j < len(text) and text[j] == ">" else 0


def _combine(construct: str, extra: list[str]) -> str:
    """A CONSTRUCT query with ``extra`` group elements added inside its WHERE clause."""
    if not extra:
        return construct
    template = construct.index("{", construct.upper().index("CONSTRUCT"))
    where = construct.index("{", _braces(construct, template))
    end = _braces(construct, where)
    return construct[:where + 1] + "\n" + "\n".join(extra) + "\n" + construct[where + 1:end - 1] + "\n}" + construct[end:]


def rule_texts(g: Graph) -> list[RuleText]:
    """Every active SPARQL and triple rule of a shapes graph as a CONSTRUCT query, in the order they run."""
    rules: list[RuleText] = []
    for shape, node in sorted(set(g.subject_objects(SH.rule)), key=lambda x: (str(x[0]), str(x[1]))):
        kinds = set(g.objects(node, RDF.type))
        if SH.SPARQLRule not in kinds and SH.TripleRule not in kinds:
            continue
        if (node, SH.deactivated, Literal(True)) in g or (shape, SH.deactivated, Literal(True)) in g:
            continue
        targets = _targets(g, shape)
        if not targets:
            continue  # no focus node: pyshacl never runs the rule
        conds = _Conditions(g)
        filters = [f"FILTER({conds.shape(c, '?this')})" for c in g.objects(node, SH.condition)]
        only_nodes = targets == [t for t in targets if t.startswith("VALUES")]
        target = targets[0] if len(targets) == 1 else " UNION ".join("{ " + t + " }" for t in targets)
        if SH.SPARQLRule in kinds:
            prefixes = prefixes_of(g, node)
            construct = str(g.value(node, SH.construct))
            uses_this = "$this" in construct or "?this" in construct or bool(filters)
            extra = ([target] if uses_this or not only_nodes else []) + filters
            text = _combine(construct, extra)
        else:
            prefixes = {}
            ne = _NodeExpressions(g)
            s, p, o = (ne.expr(g.value(node, prop)) for prop in (SH.subject, SH.predicate, SH.object))
            text = "CONSTRUCT { " + f"{s} {p} {o} ." + " } WHERE {\n" + "\n".join([target, *ne.lines, *filters]) + "\n}"
        order = g.value(node, SH.order)
        shape_order = g.value(shape, SH.order)
        rules.append(RuleText(
            name=str(node) if isinstance(node, URIRef) else f"{shape} rule {node}",
            stratum=stratum_of(g, node),
            order=(float(order) if order is not None else 0.0, float(shape_order) if shape_order is not None else 0.0,
                   str(shape), str(node)),
            prefixes=prefixes,
            text=text,
        ))
    rules.sort(key=lambda r: (r.stratum, r.order))
    return rules


@dataclass(frozen=True)
class FunctionText:
    """A ``sh:SPARQLFunction``: its parameters in call order, prefixes and SELECT text."""

    iri: str
    parameters: tuple[str, ...]
    prefixes: dict[str, str]
    text: str


def functions(g: Graph) -> dict[str, FunctionText]:
    """The SPARQL-based functions a shapes graph declares, by IRI."""
    found = {}
    for fn in g.subjects(RDF.type, SH.SPARQLFunction):
        select = g.value(fn, SH.select)
        if select is None or not isinstance(fn, URIRef):
            continue
        params = []
        for p in g.objects(fn, SH.parameter):
            path = g.value(p, SH.path)
            order = g.value(p, SH.order)
            local = str(path).replace("#", "/").rsplit("/", 1)[-1]
            params.append((float(order) if order is not None else 0.0, local))
        params.sort()
        found[str(fn)] = FunctionText(str(fn), tuple(name for _o, name in params), prefixes_of(g, fn), str(select))
    return found
