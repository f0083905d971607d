"""Reading a SPARQL query before pyoxigraph does: how deep it nests, whether it reaches out, which dataset it names.

pyoxigraph's query parser recurses: 2,500 nested ``{`` (a 5 kB query) or 10,000 nested ``(``
overflow its stack and the process dies (SIGSEGV); nested ``[`` or ``(`` in triple patterns take
polynomial time to parse (0.17 s at depth 64, 1 s at 100). Its evaluator follows ``SERVICE`` to
any address: a caller could make the server send requests anywhere, or probe ports with
``SERVICE SILENT``. So :func:`check_query` reads a caller's query first, as the parser tokenizes
it (strings, IRIs, comments, escapes), and refuses it before pyoxigraph sees it.
(pyoxigraph 0.5 does not apply SPARQL's ``\\uXXXX`` escapes outside strings: ``\\u0053ERVICE``
is a syntax error to it, so the text is read as it comes.)

Light on purpose (no rdflib): the query workers of :mod:`fimigraph.querypool` import it.
"""

from __future__ import annotations

import re
from itertools import accumulate
from typing import Any

import pyoxigraph as ox

from .errors import QueryError
from .limits import check_depth

# What hides brackets and keywords from a reader of SPARQL: strings (with their escapes), comments,
# and the escapes of prefixed names (`ex:a\#b` starts no comment, `ex:a\'b` no string). Unterminated,
# a string runs to the end of its line or of the query, so no quote is read twice (linear time);
# the parser stops there anyway.
_OPAQUE = (r'"""(?:[^"\\]|\\.|"(?!""))*+(?:"""|\Z)|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*+(?:\'\'\'|\Z)'
           r'|"(?:[^"\\\n]|\\.)*+(?:"|$)|\'(?:[^\'\\\n]|\\.)*+(?:\'|$)|#[^\n]*|\\.')
_IRI = r'<[^<>"{}|^`\\\x00-\x20]*>'
_TOKENS = re.compile(rf"(?P<opaque>{_OPAQUE})|(?P<iri>{_IRI})|(?P<open>[{{(\[])|(?P<close>[}})\]])", re.MULTILINE)
_HIDDEN = re.compile(rf"{_OPAQUE}|{_IRI}", re.MULTILINE)
_BRACKETS = {"(": 1, "[": 1, ")": -1, "]": -1}
_FROM = re.compile(r"(?<![\w:?$.-])FROM(?![\w:.-])", re.IGNORECASE)
# A dot before SERVICE may end a triple (`?o .SERVICE <…>`), so it does not hide the keyword; a local
# name such as `ex:a.service` is refused with it (the safe side).
_SERVICE = re.compile(r"(?<![\w:?$-])SERVICE(?![\w:.-])", re.IGNORECASE)


def _code(sparql: str) -> str:
    """The query with its strings, IRIs and comments blanked out: what is left is keywords, names and punctuation."""
    return _HIDDEN.sub(" ", sparql)


def declares_dataset(sparql: str) -> bool:
    """Whether a query names its own dataset with FROM or FROM NAMED."""
    return _FROM.search(_code(sparql)) is not None


def depth(sparql: str) -> int:
    """How deep a query nests ``{``, ``(`` and ``[`` (outside strings and comments)."""
    level = deepest = 0
    for m in _TOKENS.finditer(sparql):
        if m.lastgroup == "open":
            level += 1
            deepest = max(deepest, level)
        elif m.lastgroup == "close":
            level = max(0, level - 1)
        elif m.lastgroup == "iri" and (walk := list(accumulate(_BRACKETS[c] for c in m.group() if c in _BRACKETS))):
            # `<` is also less-than: `?a<((…))>?b` is an IRI to this reader, but nested parentheses to
            # the parser where it reads an operator (10,000 of them crash it). So an IRI's brackets
            # count while it lasts; what it leaves open counts on, what it closes is not taken off.
            deepest = max(deepest, level + max(walk))
            level += max(0, walk[-1])
    return deepest


def check_query(sparql: str, *, max_depth: int) -> None:
    """Refuse a query nested deeper than ``max_depth`` (LimitExceeded) or one that uses SERVICE (QueryError)."""
    check_depth(depth(sparql), max_depth, "the query")
    if _SERVICE.search(_code(sparql)):
        raise QueryError("SERVICE is refused: this server sends no request to other services")


def dataset(sparql: str, default_graph: list[str] | None, named_graphs: list[str] | None) -> dict[str, Any]:
    """pyoxigraph's keyword arguments for a query's dataset.

    The graphs given (an empty list is an empty default graph, or no named graphs: SPARQL 1.1
    Protocol §2.1.4); else the query's own FROM / FROM NAMED; else the union of all graphs.
    Raises ValueError on a graph name that is not an IRI.
    """
    if default_graph is not None or named_graphs is not None:
        return {"default_graph": [ox.NamedNode(g) for g in default_graph or []],
                "named_graphs": [ox.NamedNode(g) for g in named_graphs or []]}
    return {} if declares_dataset(sparql) else {"use_default_graph_as_union": True}
