"""RDF terms as the engine holds them: plain, hashable Python values that join fast.

An IRI is a ``str``; a blank node a :class:`Blank`; a literal a :class:`Lit` (lexical form,
datatype IRI, language tag). Joins compare terms by identity of these values, as SPARQL
joins compare RDF terms. Expressions need the literal's value (an ``int``, ``Decimal``,
``date``…): :func:`value` computes it once per literal.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Union

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
XSD_STRING = XSD + "string"
XSD_INTEGER = XSD + "integer"
XSD_DECIMAL = XSD + "decimal"
XSD_DOUBLE = XSD + "double"
XSD_FLOAT = XSD + "float"
XSD_BOOLEAN = XSD + "boolean"
XSD_DATE = XSD + "date"
XSD_DATETIME = XSD + "dateTime"

# Datatypes whose values are integers (XSD derived types).
INTEGER_TYPES = frozenset(XSD + t for t in (
    "integer", "int", "long", "short", "byte", "nonNegativeInteger", "nonPositiveInteger", "positiveInteger",
    "negativeInteger", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte",
))
NUMERIC_TYPES = INTEGER_TYPES | {XSD_DECIMAL, XSD_DOUBLE, XSD_FLOAT}


class Blank(str):
    """A blank node (its label); a subclass of ``str`` only to be told apart from IRIs."""

    __slots__ = ()


class Lit(tuple):
    """A literal: ``(lexical, datatype, language)``; ``language`` is ``""`` unless a language-tagged string."""

    __slots__ = ()

    def __new__(cls, lexical: str, datatype: str = XSD_STRING, language: str = "") -> Lit:
        return tuple.__new__(cls, (lexical, RDF_LANG_STRING if language else datatype, language.lower()))

    @property
    def lexical(self) -> str:
        """The lexical form."""
        return self[0]

    @property
    def datatype(self) -> str:
        """The datatype IRI."""
        return self[1]

    @property
    def language(self) -> str:
        """The language tag, lower-cased, or ``""``."""
        return self[2]

    def __repr__(self) -> str:
        return f"Lit({self[0]!r}, {self[1].removeprefix(XSD)!r}{', ' + repr(self[2]) if self[2] else ''})"


Term = Union[str, Blank, Lit]
"""A term of the engine."""


def is_iri(term: object) -> bool:
    """Whether a term is an IRI."""
    return type(term) is str


class NotAValue(ValueError):
    """A literal whose lexical form is not valid for its datatype."""


@lru_cache(maxsize=1 << 18)
def value(term: Lit) -> Any:
    """The value of a literal: int, Decimal, float, bool, date, datetime or str."""
    lexical, datatype = term[0], term[1]
    try:
        if datatype in INTEGER_TYPES:
            return int(lexical)
        if datatype == XSD_DECIMAL:
            return Decimal(lexical)
        if datatype in (XSD_DOUBLE, XSD_FLOAT):
            return float(lexical)
        if datatype == XSD_BOOLEAN:
            if lexical in ("true", "1"):
                return True
            if lexical in ("false", "0"):
                return False
            raise NotAValue(lexical)
        if datatype == XSD_DATE:
            return date.fromisoformat(lexical)
        if datatype == XSD_DATETIME:
            return datetime.fromisoformat(lexical.replace("Z", "+00:00"))
    except (ValueError, InvalidOperation) as exc:
        raise NotAValue(f"{lexical!r} is not a valid {datatype}") from exc
    return lexical


def integer(n: int) -> Lit:
    """An xsd:integer literal."""
    return Lit(str(n), XSD_INTEGER)


def decimal(d: Decimal) -> Lit:
    """An xsd:decimal literal in canonical form (as rdflib writes it)."""
    text = format(d, "f")
    if "." not in text:
        text += ".0"
    elif text.endswith("0") and not text.endswith(".0"):
        text = text.rstrip("0")
    return Lit(text, XSD_DECIMAL)


def string(text: str) -> Lit:
    """A simple literal."""
    return Lit(text)


TRUE, FALSE = Lit("true", XSD_BOOLEAN), Lit("false", XSD_BOOLEAN)


def boolean(b: bool) -> Lit:
    """An xsd:boolean literal."""
    return TRUE if b else FALSE


# -- conversions ------------------------------------------------------------------------


def from_rdflib(node: Node) -> Term:
    """An rdflib term (a rule's constant) as an engine term."""
    if isinstance(node, URIRef):
        return str(node)
    if isinstance(node, Literal):
        return Lit(str(node), str(node.datatype) if node.datatype else XSD_STRING, node.language or "")
    if isinstance(node, BNode):
        return Blank(str(node))
    raise TypeError(f"not an RDF term: {node!r}")


def to_rdflib(term: Term) -> Node:
    """An engine term as an rdflib term."""
    if type(term) is str:
        return URIRef(term)
    if isinstance(term, Blank):
        return BNode(str(term))
    if term[2]:
        return Literal(term[0], lang=term[2])
    return Literal(term[0], datatype=None if term[1] == XSD_STRING else URIRef(term[1]))


_INTERN: dict[Any, Term] = {}


def from_ox(term: Any) -> Term:
    """A pyoxigraph term as an engine term (equal literals share one object)."""
    if isinstance(term, ox.NamedNode):
        return term.value
    if isinstance(term, ox.Literal):
        lit = Lit(term.value, term.datatype.value, term.language or "")
        return _INTERN.setdefault(lit, lit)
    if isinstance(term, ox.BlankNode):
        return Blank(term.value)
    raise TypeError(f"unsupported term {term!r} (RDF 1.2 triple terms are not reasoned over)")


def to_ox(term: Term) -> Any:
    """An engine term as a pyoxigraph term."""
    if type(term) is str:
        return ox.NamedNode(term)
    if isinstance(term, Blank):
        return ox.BlankNode(str(term))
    if term[2]:
        return ox.Literal(term[0], language=term[2])
    return ox.Literal(term[0], datatype=ox.NamedNode(term[1]))
