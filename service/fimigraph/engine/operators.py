"""SPARQL's operators on engine terms: effective boolean value, arithmetic with type promotion,
comparison, string arguments, ROUND/CEIL/FLOOR and casts (SPARQL 1.1 §17).

A failing operation raises :class:`ExprError`, SPARQL's expression error.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from .terms import (
    INTEGER_TYPES, NUMERIC_TYPES, XSD_BOOLEAN, XSD_DATE, XSD_DATETIME, XSD_DECIMAL, XSD_DOUBLE, XSD_FLOAT,
    XSD_INTEGER, XSD_STRING, Blank, Lit, NotAValue, Term, boolean, decimal, integer, string, value,
)


class ExprError(Exception):
    """A SPARQL expression error (unbound variable, wrong type…)."""


class Unsupported(ValueError):
    """An expression or pattern the engine does not evaluate."""


def ebv(term: Term) -> bool:
    """The effective boolean value of a term (SPARQL 1.1 §17.2.2)."""
    if type(term) is not Lit:
        raise ExprError("no boolean value")
    if term[1] == XSD_BOOLEAN:
        return term[0] in ("true", "1")
    if term[1] in NUMERIC_TYPES:
        try:
            return value(term) != 0
        except NotAValue:
            return False
    if term[1] == XSD_STRING or term[2]:
        return term[0] != ""
    raise ExprError("no boolean value")


def _num(term: Term) -> Any:
    if type(term) is not Lit or term[1] not in NUMERIC_TYPES:
        raise ExprError("not a number")
    try:
        return value(term)
    except NotAValue as exc:
        raise ExprError(str(exc)) from exc


def _numeric_type(*terms: Lit) -> str:
    kinds = [t[1] for t in terms]
    if any(k in (XSD_DOUBLE, XSD_FLOAT) for k in kinds):
        return XSD_DOUBLE
    if any(k == XSD_DECIMAL for k in kinds):
        return XSD_DECIMAL
    return XSD_INTEGER


def _make_number(v: Any, kind: str) -> Lit:
    if kind == XSD_INTEGER:
        return integer(int(v))
    if kind == XSD_DECIMAL:
        return decimal(Decimal(v))
    return Lit(repr(float(v)), XSD_DOUBLE)


def _arith(op: str, a: Term, b: Term) -> Lit:
    x, y = _num(a), _num(b)
    kind = _numeric_type(a, b)  # type: ignore[arg-type]
    if kind == XSD_DECIMAL:
        x, y = Decimal(x), Decimal(y)
    elif kind == XSD_DOUBLE:
        x, y = float(x), float(y)
    if op == "+":
        return _make_number(x + y, kind)
    if op == "-":
        return _make_number(x - y, kind)
    if op == "*":
        return _make_number(x * y, kind)
    if y == 0 and kind != XSD_DOUBLE:
        raise ExprError("division by zero")
    if kind == XSD_INTEGER:  # integer / integer is a decimal (SPARQL 1.1 §17.4.1.4 via XPath op:numeric-divide)
        return decimal(Decimal(x) / Decimal(y))
    return _make_number(x / y, kind)


def _comparable(term: Term) -> tuple[int, Any]:
    """A key that orders comparable values of one kind; raises for terms SPARQL does not compare with ``<``."""
    if type(term) is not Lit:
        raise ExprError("only literals compare with < and >")
    kind = term[1]
    try:
        if kind in NUMERIC_TYPES:
            return 0, value(term)
        if kind == XSD_STRING or term[2]:
            return 1, term[0]
        if kind == XSD_DATE:
            return 2, value(term)
        if kind == XSD_DATETIME:
            return 3, value(term)
        if kind == XSD_BOOLEAN:
            return 4, value(term)
    except NotAValue as exc:
        raise ExprError(str(exc)) from exc
    raise ExprError(f"values of {kind} do not compare")


def equal(a: Term, b: Term) -> bool:
    """SPARQL ``=``: value equality for comparable literals, term equality otherwise."""
    if a == b:
        return True
    if type(a) is Lit and type(b) is Lit:
        try:
            ka, kb = _comparable(a), _comparable(b)
        except ExprError:
            if a[1] == b[1] and not a[2] and not b[2]:
                raise  # same unknown datatype, different lexical forms: cannot tell
            return False
        if ka[0] != kb[0]:
            if ka[0] in (2, 3) or kb[0] in (2, 3) or {ka[0], kb[0]} <= {0, 1, 4}:
                return False
            raise ExprError("incomparable")
        return ka[1] == kb[1]
    return False


def compare(op: str, a: Term, b: Term) -> bool:
    """SPARQL ``<``, ``<=``, ``>``, ``>=``, ``=``, ``!=``."""
    if op == "=":
        return equal(a, b)
    if op == "!=":
        return not equal(a, b)
    ka, kb = _comparable(a), _comparable(b)
    if ka[0] != kb[0]:
        raise ExprError("incomparable")
    x, y = ka[1], kb[1]
    try:
        if op == "<":
            return x < y
        if op == "<=":
            return x <= y
        if op == ">":
            return x > y
        return x >= y
    except TypeError as exc:  # e.g. naive and aware datetimes
        raise ExprError(str(exc)) from exc


def _str(term: Term) -> str:
    if type(term) is Lit:
        return term[0]
    if isinstance(term, Blank):
        raise ExprError("STR of a blank node")
    return term


def _string_arg(term: Term) -> Lit:
    if type(term) is not Lit or not (term[1] == XSD_STRING or term[2]):
        raise ExprError("not a string")
    return term


def _like(model: Lit, text: str) -> Lit:
    """A string result carrying the language tag of ``model`` (SPARQL string functions)."""
    return Lit(text, XSD_STRING, model[2])


def _compatible(a: Lit, b: Lit) -> None:
    if b[2] and a[2] != b[2]:
        raise ExprError("incompatible string arguments")


def _round(term: Term, mode: str) -> Lit:
    v = _num(term)
    if term[1] in INTEGER_TYPES:  # type: ignore[index]
        return term  # type: ignore[return-value]
    if isinstance(v, float):
        d = Decimal(repr(v))
    else:
        d = v
    if mode == "round":  # fn:round: halves towards positive infinity
        r = (d + Decimal("0.5")).to_integral_value(rounding=ROUND_FLOOR)
    else:
        r = d.to_integral_value(rounding=ROUND_CEILING if mode == "ceil" else ROUND_FLOOR)
    return _make_number(r, term[1] if term[1] != XSD_FLOAT else XSD_DOUBLE)  # type: ignore[index]


def _cast(iri: str, term: Term) -> Term:
    if iri == XSD_STRING:
        return string(_str(term))
    if type(term) is not Lit:
        raise ExprError("only literals are cast to a datatype")
    try:
        v = value(term)
    except NotAValue as exc:
        raise ExprError(str(exc)) from exc
    lexical = term[0].strip()
    try:
        if iri in INTEGER_TYPES:
            if isinstance(v, bool):
                return integer(int(v))
            if isinstance(v, (int, Decimal)) or (isinstance(v, float) and v == v and abs(v) != float("inf")):
                return Lit(str(int(v)), iri)
            if isinstance(v, str):
                return Lit(str(int(lexical)), iri)
        elif iri == XSD_DECIMAL:
            if isinstance(v, bool):
                return decimal(Decimal(int(v)))
            if isinstance(v, (int, Decimal, float)) and not isinstance(v, str):
                return decimal(Decimal(repr(v)) if isinstance(v, float) else Decimal(v))
            if isinstance(v, str):
                return decimal(Decimal(lexical))
        elif iri in (XSD_DOUBLE, XSD_FLOAT):
            if isinstance(v, (int, float, Decimal)) or isinstance(v, str):
                return Lit(repr(float(v)), iri)
        elif iri == XSD_BOOLEAN:
            if isinstance(v, str):
                return boolean(lexical in ("true", "1")) if lexical in ("true", "false", "1", "0") else _fail()
            return boolean(bool(v))
        elif iri == XSD_DATE:
            if isinstance(v, datetime):
                return Lit(v.date().isoformat(), XSD_DATE)
            if isinstance(v, (date, str)):
                return Lit(date.fromisoformat(lexical).isoformat(), XSD_DATE)
        elif iri == XSD_DATETIME:
            if isinstance(v, (datetime, str)):
                return Lit(datetime.fromisoformat(lexical.replace("Z", "+00:00")).isoformat(), XSD_DATETIME)
    except (ValueError, ArithmeticError) as exc:
        raise ExprError(str(exc)) from exc
    raise ExprError(f"cannot cast to {iri}")


def _fail() -> Term:
    raise ExprError("invalid value")
