"""Country names and ISO 3166-1 alpha-2 codes: one table for STIX import and export and the DISARM incidents.

Names resolve through ``pycountry`` (ISO 3166 names, official and common names, codes), after the
aliases below, which cover the spellings the data in hand uses and ISO does not (``docs/disarm.md``
shows the table). What is not a state (``World``, ``EU``, ``Unknown``) resolves to nothing.
"""

from __future__ import annotations

import re
from functools import cache

import pycountry

ALIASES: dict[str, str] = {
    "russia": "RU", "uk": "GB", "great britain": "GB", "britain": "GB", "england": "GB",
    "usa": "US", "us": "US", "america": "US", "saudiarabia": "SA", "turkey": "TR",
    "macedonia": "MK", "south korea": "KR", "north korea": "KP", "vietnam": "VN", "laos": "LA",
    "syria": "SY", "iran": "IR", "moldova": "MD", "bolivia": "BO", "venezuela": "VE", "tanzania": "TZ",
    "czech republic": "CZ", "ivory coast": "CI", "kosovo": "XK",
}
"""Lower-case spelling → code, where ``pycountry`` does not know the spelling (or, like "UK", reads it otherwise)."""

NOT_STATES = frozenset({"world", "eu", "european union", "unknown", "global", "international", "n/a", "none"})
"""Values of a country column that name no state: kept out of the graph, never guessed."""

_NAMES = {"RU": "Russia", "XK": "Kosovo"}  # ISO's name is formal ("Russian Federation"), or it has none (XK)


@cache
def country_code(name: str) -> str | None:
    """The ISO 3166-1 alpha-2 code of a country name or code; None for what is no state or unknown."""
    key = re.sub(r"\s+", " ", name.replace("\xa0", " ")).strip().lower()
    if not key or key in NOT_STATES:
        return None
    if key in ALIASES:
        return ALIASES[key]
    try:
        return pycountry.countries.lookup(key).alpha_2
    except LookupError:
        return None


@cache
def country_name(code: str) -> str:
    """The short English name of a country code (the common name where ISO's is formal)."""
    if code in _NAMES:
        return _NAMES[code]
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 code")
    return getattr(country, "common_name", None) or country.name


def split_countries(cell: str) -> list[str]:
    """The country names of one messy cell: ``"Russia,UK"``, ``"Lithuania, Latvia, Poland"``."""
    return [part.strip() for part in re.split(r"[,;/]", cell.replace("\xa0", " ")) if part.strip()]
