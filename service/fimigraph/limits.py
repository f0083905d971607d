"""Limits on source documents, checked before and while a parser reads them.

pyoxigraph's parsers recurse: a JSON-LD document nested 5,000 deep overflows the stack (the
process dies with SIGSEGV), and RDF/XML nested 10,000 deep parses in 0.7 s, 100,000 deep in
more than a minute. Its RDF/XML parser also expands internal entities, so a 900-byte "billion
laughs" grows without bound. So a document's nesting is measured first, by scanners that
read strings as the parsers do, an XML DTD is refused outright (fimigraph documents need none,
and it is where entities are declared), and parsing stops at the first triple over the limits.
SPARQL's own checks are in :mod:`fimigraph.sparql`.

Light on purpose (no rdflib): the query workers of :mod:`fimigraph.querypool` import it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate
from xml.parsers import expat

import pyoxigraph as ox

from .errors import LimitExceeded, ParseError, PayloadTooLarge


@dataclass(frozen=True)
class Limits:
    """What one document or query may hold; the settings (``FIMIGRAPH_MAX_DEPTH``, …) take their defaults from here."""

    max_depth: int = 64
    """Deepest nesting: of {, ( and [ in SPARQL, of objects and arrays in JSON, of elements in RDF/XML.
    Real documents and the analyst queries stay under 10; a query's nested [ or ( take 0.17 s to parse at 64."""
    max_triples: int = 100_000
    """Most triples one source document may hold (the DISARM framework as one STIX bundle: about 10,000)."""
    max_literal_length: int = 1_000_000
    """Longest literal, in characters (a quote is a sentence; a report's description a few pages)."""


DEFAULTS = Limits()
"""The limits when none are given (the settings' defaults)."""


def check_depth(depth: int, limit: int, what: str) -> None:
    """Refuse ``what`` if it is nested deeper than ``limit``."""
    if depth > limit:
        raise LimitExceeded(f"{what} is nested {depth} deep; the limit is {limit} (FIMIGRAPH_MAX_DEPTH)",
                            limit="max_depth", value=limit)


# A JSON string, escapes included; an unterminated one runs to the end, so that no quote is read
# twice (possessive: a string of escaped quotes costs linear time, not quadratic).
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+(?:"|\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def check_json(data: bytes, limits: Limits) -> None:
    """Refuse JSON (JSON-LD, STIX) nested deeper than the limit, before a parser recurses into it."""
    brackets = _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    # A stray closing bracket never takes the depth below 0 (the parser stops there anyway).
    levels = accumulate((_STEP[b] for b in brackets), lambda level, step: max(0, level + step), initial=0)
    check_depth(max(levels), limits.max_depth, "the JSON document")


def check_xml(data: bytes, limits: Limits) -> None:
    """Refuse RDF/XML with a DTD (entities: no expansion, no external ones) or nested deeper than the limit.

    Read with the standard library's expat first: what expat cannot read is refused here, so
    pyoxigraph never parses a document this check did not see to its end.
    """
    parser = expat.ParserCreate()
    depth = 0

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        check_depth(depth, limits.max_depth, "the RDF/XML document")

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1

    def dtd(*args: object) -> None:
        raise LimitExceeded("RDF/XML documents may not declare a DTD (<!DOCTYPE …>): fimigraph expands no entities",
                            limit="xml_dtd")

    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.StartDoctypeDeclHandler = dtd
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise ParseError(f"malformed RDF/XML document: {expat.errors.messages[exc.code]} at line {exc.lineno}, "
                         f"column {exc.offset + 1}", extra={"line": exc.lineno, "column": exc.offset + 1}) from exc


def check_size(triples: int, limits: Limits) -> None:
    """Refuse a document holding more triples than the limit."""
    if triples > limits.max_triples:
        raise PayloadTooLarge(f"the document holds more than {limits.max_triples} triples (FIMIGRAPH_MAX_TRIPLES)",
                              limit="max_triples", value=limits.max_triples)


def check_literal(text: str, limits: Limits) -> None:
    """Refuse a literal longer than the limit."""
    if len(text) > limits.max_literal_length:
        raise PayloadTooLarge(f"the document holds a literal of {len(text)} characters; the limit is "
                              f"{limits.max_literal_length} (FIMIGRAPH_MAX_LITERAL_LENGTH)",
                              limit="max_literal_length", value=limits.max_literal_length)


def bounded(quads: Iterable[ox.Quad], limits: Limits) -> Iterator[ox.Quad]:
    """The quads a parser reads, stopping at the first over the triple or literal limits (the rest is never read)."""
    for n, quad in enumerate(quads, 1):
        check_size(n, limits)
        if isinstance(quad.object, ox.Literal):
            check_literal(quad.object.value, limits)
        yield quad
