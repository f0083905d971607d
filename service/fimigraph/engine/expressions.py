"""SPARQL expressions (rdflib's algebra) compiled into Python closures over engine rows.

A compiled expression takes a row (a list of terms, ``None`` where unbound) and returns a
term, or raises :class:`ExprError` — SPARQL's expression error, which makes a ``BIND``
leave its variable unbound and a ``FILTER`` reject the row. Semantics follow SPARQL 1.1 §17
(numeric type promotion, ``/`` of integers gives a decimal, ``ROUND`` halves away from
zero towards positive infinity, three-valued ``&&`` and ``||``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from rdflib import Literal, URIRef, Variable
from rdflib.plugins.sparql.parserutils import CompValue

from .operators import (
    ExprError, Unsupported, _arith, _cast, _compatible, _like, _make_number, _num, _numeric_type, _round, _str,
    _string_arg, compare, ebv, equal,
)
from .terms import FALSE, NUMERIC_TYPES, TRUE, XSD, XSD_STRING, Blank, Lit, NotAValue, Term, boolean, from_rdflib, integer, string, value

Row = list
Expr = Callable[[Row], Term]

_HASHES = {"Builtin_MD5": "md5", "Builtin_SHA1": "sha1", "Builtin_SHA256": "sha256", "Builtin_SHA384": "sha384",
           "Builtin_SHA512": "sha512"}


class Compiler:
    """Compiles expressions for one scope: ``slot`` gives each variable's row position."""

    def __init__(self, slot: Callable[[Variable], int], *, exists: Callable[[CompValue, bool], Expr] | None = None,
                 functions: Callable[[str, list[Expr]], Expr | None] | None = None) -> None:
        self.slot = slot
        self.exists = exists
        self.functions = functions

    def __call__(self, e: Any) -> Expr:
        """Compile one expression."""
        if isinstance(e, Variable):
            i = self.slot(e)

            def var(row: Row) -> Term:
                v = row[i]
                if v is None:
                    raise ExprError(f"?{e} is unbound")
                return v
            return var
        if isinstance(e, (URIRef, Literal)):
            const = from_rdflib(e)
            return lambda row: const
        if not isinstance(e, CompValue):
            raise Unsupported(f"unsupported expression {e!r}")
        method = getattr(self, "_" + e.name, None)
        if method is None:
            raise Unsupported(f"the native engine does not evaluate {e.name}")
        return method(e)

    # -- logic and comparison -------------------------------------------------------------

    def _ConditionalOrExpression(self, e: CompValue) -> Expr:
        parts = [self(x) for x in [e.expr, *(e.other or [])]]

        def either(row: Row) -> Term:
            error = False
            for p in parts:
                try:
                    if ebv(p(row)):
                        return TRUE
                except ExprError:
                    error = True
            if error:
                raise ExprError("|| over an error")
            return FALSE
        return either

    def _ConditionalAndExpression(self, e: CompValue) -> Expr:
        parts = [self(x) for x in [e.expr, *(e.other or [])]]

        def both(row: Row) -> Term:
            error = False
            for p in parts:
                try:
                    if not ebv(p(row)):
                        return FALSE
                except ExprError:
                    error = True
            if error:
                raise ExprError("&& over an error")
            return TRUE
        return both

    def _RelationalExpression(self, e: CompValue) -> Expr:
        left, op = self(e.expr), e.op
        if op in ("IN", "NOT IN"):
            options = [self(x) for x in e.other]
            negate = op == "NOT IN"

            def member(row: Row) -> Term:
                x = left(row)
                error = False
                for o in options:
                    try:
                        if equal(x, o(row)):
                            return boolean(not negate)
                    except ExprError:
                        error = True
                if error:
                    raise ExprError("IN over an error")
                return boolean(negate)
            return member
        right = self(e.other)
        return lambda row: boolean(compare(op, left(row), right(row)))

    def _UnaryNot(self, e: CompValue) -> Expr:
        inner = self(e.expr)
        return lambda row: boolean(not ebv(inner(row)))

    def _UnaryMinus(self, e: CompValue) -> Expr:
        inner = self(e.expr)
        return lambda row: _arith("-", integer(0), inner(row))

    def _UnaryPlus(self, e: CompValue) -> Expr:
        inner = self(e.expr)

        def plus(row: Row) -> Term:
            v = inner(row)
            _num(v)
            return v
        return plus

    def _AdditiveExpression(self, e: CompValue) -> Expr:
        return self._fold(e)

    def _MultiplicativeExpression(self, e: CompValue) -> Expr:
        return self._fold(e)

    def _fold(self, e: CompValue) -> Expr:
        first = self(e.expr)
        steps = list(zip(e.op, [self(x) for x in e.other]))

        def fold(row: Row) -> Term:
            acc = first(row)
            for op, f in steps:
                acc = _arith(op, acc, f(row))
            return acc
        return fold

    # -- functional forms -----------------------------------------------------------------

    def _Builtin_BOUND(self, e: CompValue) -> Expr:
        i = self.slot(e.arg)
        return lambda row: TRUE if row[i] is not None else FALSE

    def _Builtin_IF(self, e: CompValue) -> Expr:
        cond, then, other = self(e.arg1), self(e.arg2), self(e.arg3)
        return lambda row: then(row) if ebv(cond(row)) else other(row)

    def _Builtin_COALESCE(self, e: CompValue) -> Expr:
        parts = [self(x) for x in e.arg]

        def coalesce(row: Row) -> Term:
            for p in parts:
                try:
                    return p(row)
                except ExprError:
                    pass
            raise ExprError("COALESCE of errors only")
        return coalesce

    def _Builtin_sameTerm(self, e: CompValue) -> Expr:
        a, b = self(e.arg1), self(e.arg2)
        return lambda row: boolean(a(row) == b(row))

    def _Builtin_EXISTS(self, e: CompValue) -> Expr:
        return self._exists(e, True)

    def _Builtin_NOTEXISTS(self, e: CompValue) -> Expr:
        return self._exists(e, False)

    def _exists(self, e: CompValue, positive: bool) -> Expr:
        if self.exists is None:
            raise Unsupported("EXISTS is not available here")
        return self.exists(e.graph, positive)

    # -- terms ------------------------------------------------------------------------------

    def _Builtin_isIRI(self, e: CompValue) -> Expr:
        a = self(e.arg)
        return lambda row: boolean(type(a(row)) is str)

    _Builtin_isURI = _Builtin_isIRI

    def _Builtin_isBLANK(self, e: CompValue) -> Expr:
        a = self(e.arg)
        return lambda row: boolean(isinstance(a(row), Blank))

    def _Builtin_isLITERAL(self, e: CompValue) -> Expr:
        a = self(e.arg)
        return lambda row: boolean(type(a(row)) is Lit)

    def _Builtin_isNUMERIC(self, e: CompValue) -> Expr:
        a = self(e.arg)

        def numeric(row: Row) -> Term:
            t = a(row)
            if type(t) is not Lit or t[1] not in NUMERIC_TYPES:
                return FALSE
            try:
                value(t)
            except NotAValue:
                return FALSE
            return TRUE
        return numeric

    def _Builtin_STR(self, e: CompValue) -> Expr:
        a = self(e.arg)
        return lambda row: string(_str(a(row)))

    def _Builtin_LANG(self, e: CompValue) -> Expr:
        a = self(e.arg)

        def lang(row: Row) -> Term:
            t = a(row)
            if type(t) is not Lit:
                raise ExprError("LANG of a non-literal")
            return string(t[2])
        return lang

    def _Builtin_DATATYPE(self, e: CompValue) -> Expr:
        a = self(e.arg)

        def datatype(row: Row) -> Term:
            t = a(row)
            if type(t) is not Lit:
                raise ExprError("DATATYPE of a non-literal")
            return t[1]
        return datatype

    def _Builtin_IRI(self, e: CompValue) -> Expr:
        a = self(e.arg)

        def iri(row: Row) -> Term:
            t = a(row)
            if type(t) is str:
                return t
            if type(t) is Lit and t[1] == XSD_STRING and not t[2] and ":" in t[0] and not re.search(r'[<>"{}|^`\\\s]', t[0]):
                return t[0]
            raise ExprError("not an absolute IRI")
        return iri

    _Builtin_URI = _Builtin_IRI

    def _Builtin_STRDT(self, e: CompValue) -> Expr:
        a, dt = self(e.arg1), self(e.arg2)

        def strdt(row: Row) -> Term:
            lexical, kind = a(row), dt(row)
            if type(kind) is not str:
                raise ExprError("STRDT needs a datatype IRI")
            return Lit(_string_arg(lexical)[0], kind)
        return strdt

    def _Builtin_STRLANG(self, e: CompValue) -> Expr:
        a, tag = self(e.arg1), self(e.arg2)
        return lambda row: Lit(_string_arg(a(row))[0], XSD_STRING, _str(tag(row)))

    # -- strings ---------------------------------------------------------------------------

    def _Builtin_CONCAT(self, e: CompValue) -> Expr:
        parts = [self(x) for x in e.arg]

        def concat(row: Row) -> Term:
            terms = [_string_arg(p(row)) for p in parts]
            langs = {t[2] for t in terms}
            return Lit("".join(t[0] for t in terms), XSD_STRING, langs.pop() if len(langs) == 1 else "")
        return concat

    def _Builtin_STRLEN(self, e: CompValue) -> Expr:
        a = self(e.arg)
        return lambda row: integer(len(_string_arg(a(row))[0]))

    def _Builtin_UCASE(self, e: CompValue) -> Expr:
        a = self(e.arg)
        return lambda row: _like(t := _string_arg(a(row)), t[0].upper())

    def _Builtin_LCASE(self, e: CompValue) -> Expr:
        a = self(e.arg)
        return lambda row: _like(t := _string_arg(a(row)), t[0].lower())

    def _two_strings(self, e: CompValue, test: Callable[[str, str], bool]) -> Expr:
        a, b = self(e.arg1), self(e.arg2)

        def check(row: Row) -> Term:
            x, y = _string_arg(a(row)), _string_arg(b(row))
            _compatible(x, y)
            return boolean(test(x[0], y[0]))
        return check

    def _Builtin_CONTAINS(self, e: CompValue) -> Expr:
        return self._two_strings(e, lambda x, y: y in x)

    def _Builtin_STRSTARTS(self, e: CompValue) -> Expr:
        return self._two_strings(e, str.startswith)

    def _Builtin_STRENDS(self, e: CompValue) -> Expr:
        return self._two_strings(e, str.endswith)

    def _Builtin_STRAFTER(self, e: CompValue) -> Expr:
        a, b = self(e.arg1), self(e.arg2)

        def after(row: Row) -> Term:
            x, y = _string_arg(a(row)), _string_arg(b(row))
            _compatible(x, y)
            i = x[0].find(y[0])
            return _like(x, x[0][i + len(y[0]):]) if i >= 0 else string("")
        return after

    def _Builtin_STRBEFORE(self, e: CompValue) -> Expr:
        a, b = self(e.arg1), self(e.arg2)

        def before(row: Row) -> Term:
            x, y = _string_arg(a(row)), _string_arg(b(row))
            _compatible(x, y)
            i = x[0].find(y[0])
            return _like(x, x[0][:i]) if i >= 0 else string("")
        return before

    def _Builtin_SUBSTR(self, e: CompValue) -> Expr:
        a, start = self(e.arg), self(e.start)
        length = self(e.length) if e.length is not None else None

        def substr(row: Row) -> Term:
            x = _string_arg(a(row))
            s = int(round(float(_num(start(row)))))
            end = None if length is None else s + int(round(float(_num(length(row)))))
            begin = max(s, 1)
            text = x[0][begin - 1:(None if end is None else max(end - 1, 0))]
            return _like(x, text)
        return substr

    def _Builtin_REGEX(self, e: CompValue) -> Expr:
        text, pattern = self(e.text), self(e.pattern)
        flags = self(e.flags) if e.flags is not None else None

        def regex(row: Row) -> Term:
            f = 0
            for c in (_str(flags(row)) if flags else ""):
                f |= {"i": re.I, "m": re.M, "s": re.S, "x": re.X}.get(c, 0)
            return boolean(re.search(_str(pattern(row)), _string_arg(text(row))[0], f) is not None)
        return regex

    def _Builtin_REPLACE(self, e: CompValue) -> Expr:
        text, pattern, repl = self(e.arg), self(e.pattern), self(e.replacement)
        flags = self(e.flags) if e.flags is not None else None

        def replace(row: Row) -> Term:
            f = 0
            for c in (_str(flags(row)) if flags else ""):
                f |= {"i": re.I, "m": re.M, "s": re.S, "x": re.X}.get(c, 0)
            x = _string_arg(text(row))
            target = re.sub(r"\$(\d)", r"\\\1", _str(repl(row)))
            return _like(x, re.sub(_str(pattern(row)), target, x[0], flags=f))
        return replace

    def _hash(self, e: CompValue) -> Expr:
        a, algorithm = self(e.arg), _HASHES[e.name]
        return lambda row: string(hashlib.new(algorithm, _string_arg(a(row))[0].encode()).hexdigest())

    _Builtin_MD5 = _Builtin_SHA1 = _Builtin_SHA256 = _Builtin_SHA384 = _Builtin_SHA512 = _hash

    # -- numbers ---------------------------------------------------------------------------

    def _Builtin_ROUND(self, e: CompValue) -> Expr:
        a = self(e.arg)
        return lambda row: _round(a(row), "round")

    def _Builtin_CEIL(self, e: CompValue) -> Expr:
        a = self(e.arg)
        return lambda row: _round(a(row), "ceil")

    def _Builtin_FLOOR(self, e: CompValue) -> Expr:
        a = self(e.arg)
        return lambda row: _round(a(row), "floor")

    def _Builtin_ABS(self, e: CompValue) -> Expr:
        a = self(e.arg)

        def absolute(row: Row) -> Term:
            t = a(row)
            return _make_number(abs(_num(t)), _numeric_type(t))  # type: ignore[arg-type]
        return absolute

    # -- casts and functions ---------------------------------------------------------------

    def _Function(self, e: CompValue) -> Expr:
        iri = str(e.iri)
        args = [self(x) for x in e.expr or []]
        if iri.startswith(XSD) and len(args) == 1:
            arg = args[0]
            return lambda row: _cast(iri, arg(row))
        if self.functions is not None:
            found = self.functions(iri, args)
            if found is not None:
                return found
        raise Unsupported(f"unknown function <{iri}>")


def compile_expression(e: Any, slot: Callable[[Variable], int], **kwargs: Any) -> Expr:
    """Compile one expression with a slot lookup (see :class:`Compiler`)."""
    return Compiler(slot, **kwargs)(e)


def holds(expr: Expr, row: Row) -> bool:
    """Whether a filter expression accepts a row (errors reject it)."""
    try:
        return ebv(expr(row))
    except ExprError:
        return False


__all__ = ["Compiler", "Expr", "ExprError", "Unsupported", "compare", "compile_expression", "ebv", "equal", "holds"]
