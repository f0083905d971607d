"""Content negotiation on the Accept header (RFC 9110 §12.5.1), q-values included."""

from __future__ import annotations

from ..errors import NotAcceptable


def choose(accept: str | None, offered: list[str], *, aliases: dict[str, str] | None = None) -> str:
    """The offered media type the client prefers; the first offered one when it does not care."""
    if not accept or not accept.strip():
        return offered[0]
    aliases = aliases or {}
    ranges: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        media = aliases.get(pieces[0].lower(), pieces[0].lower())
        q = 1.0
        for param in pieces[1:]:
            if param.lower().startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if media:
            ranges.append((q, position, media))
    best: tuple[float, int, int, str] | None = None
    for q, position, media in ranges:
        if q <= 0:
            continue
        for index, candidate in enumerate(offered):
            specificity = _match(media, candidate)
            if specificity < 0:
                continue
            key = (q, specificity, -position * 100 - index, candidate)
            if best is None or key[:3] > best[:3]:
                best = key
    if best is None:
        raise NotAcceptable(f"cannot answer in {accept!r}; available: {', '.join(offered)}")
    return best[3]


def _match(media_range: str, candidate: str) -> int:
    if media_range == candidate:
        return 2
    if media_range == "*/*":
        return 0
    if media_range.endswith("/*") and candidate.startswith(media_range[:-1]):
        return 1
    return -1
