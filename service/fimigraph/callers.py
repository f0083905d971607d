"""Callers of the HTTP API: tokens, each with a role and a TLP clearance, kept hashed beside the store.

A token is shown once, when it is made (``fimigraph tokens add``): ``fg_<id>_<secret>``. The
store's folder keeps, in ``tokens.json`` (readable by its owner only), the id, a name, the role,
the clearance and the SHA-256 of the whole token — never the token. Roles, each allowed what the
one before is: ``reader`` reads, ``editor`` also adds, replaces and retracts sources and checks
documents with the OWL reasoner, ``admin`` also everything an operator may add later. The
clearance (a TLP 2.0 marking) decides what the caller reads (:mod:`fimigraph.views`).

Without a token, a caller is the anonymous reader (clearance TLP:CLEAR) when reads are open
(``FIMIGRAPH_READS=open``, the default), and is refused when they are closed. The server reads
the file again when it changes: a token revoked from the command line stops working at once.
The tokens are not in the RDF store, so no query can read them.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from .errors import ConfigError, Forbidden, NotFound, StoreError, Unauthorized
from .views import notation, parse_clearance

ROLES = ("reader", "editor", "admin")
"""Roles, each allowed what the one before is and more."""
FILE = "tokens.json"
"""The file, in the store's folder, that keeps the tokens' hashes."""

_TOKEN = re.compile(r"fg_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class Caller:
    """Who is calling: a token's name, role and clearance (a TLP rank, 0 for TLP:CLEAR)."""

    name: str
    role: str
    clearance: int
    token: str | None = None  # the token's id; None for the anonymous reader

    def may(self, role: str) -> bool:
        """Whether this caller's role allows what ``role`` may do."""
        return ROLES.index(self.role) >= ROLES.index(role)

    def require(self, role: str) -> None:
        """Refuse (403) a caller whose role does not allow what ``role`` may do."""
        if not self.may(role):
            raise Forbidden(f"{self.name} is a {self.role}; this needs the {role} role")


ANONYMOUS = Caller("anonymous", "reader", 0)
"""A caller without a token, when reads are open."""


@dataclass(frozen=True)
class Token:
    """What the store keeps of a token."""

    id: str
    name: str
    role: str
    clearance: str
    sha256: str
    created: str
    revoked: str | None = None

    def caller(self) -> Caller:
        """The caller this token authenticates."""
        return Caller(self.name, self.role, parse_clearance(self.clearance), self.id)

    def public(self) -> dict[str, str | None]:
        """What may be shown of it (not its hash)."""
        return {k: v for k, v in asdict(self).items() if k != "sha256"}


class Tokens:
    """The tokens of one store: a file in its folder, or kept in memory for a store in memory."""

    def __init__(self, folder: Path | None) -> None:
        self.path = folder / FILE if folder is not None else None
        self._memory: dict[str, Token] = {}
        self._cache: tuple[float, dict[str, Token]] | None = None
        self._lock = threading.Lock()

    def add(self, name: str, *, role: str, clearance: str) -> tuple[Token, str]:
        """Make a token; return what is kept of it and the token itself (shown this once)."""
        if role not in ROLES:
            raise ConfigError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
        name = name.strip()
        if not name or len(name) > 200:
            raise ConfigError("a token needs a name of 1 to 200 characters (who or what uses it)")
        level = notation(parse_clearance(clearance))
        with self._editing() as tokens:
            tid = secrets.token_hex(6)
            secret = f"fg_{tid}_{secrets.token_urlsafe(32)}"
            token = Token(tid, name, role, level, _digest(secret), _now())
            tokens[tid] = token
        return token, secret

    def revoke(self, tid: str) -> Token:
        """Revoke a token by id; it stops working at once."""
        with self._editing() as tokens:
            token = tokens.get(tid)
            if token is None:
                raise NotFound(f"no token with id {tid!r} (see `fimigraph tokens list`)")
            if token.revoked is None:
                token = tokens[tid] = Token(**{**asdict(token), "revoked": _now()})
        return token

    def list(self) -> list[Token]:
        """Every token, revoked ones included, oldest first."""
        return sorted(self._read().values(), key=lambda t: (t.created, t.id))

    def authenticate(self, secret: str) -> Caller:
        """The caller a token names; :class:`Unauthorized` for a malformed, unknown or revoked one (the reason never echoes it)."""
        match = _TOKEN.fullmatch(secret)
        if match is None:
            raise Unauthorized("the bearer token is not a fimigraph token (fg_…)")
        token = self._read().get(match.group(1))
        # Compared in constant time, and compared even for an unknown id, so timing tells nothing.
        expected = token.sha256 if token is not None else _digest("")
        if not hmac.compare_digest(expected, _digest(secret)) or token is None:
            raise Unauthorized("unknown token")
        if token.revoked is not None:
            raise Unauthorized(f"token {token.id} was revoked")
        return token.caller()

    def _read(self) -> dict[str, Token]:
        if self.path is None:
            return self._memory
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return {}
        cached = self._cache
        if cached is not None and cached[0] == mtime:
            return cached[1]
        try:
            tokens = {t["id"]: Token(**t) for t in json.loads(self.path.read_text())["tokens"]}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"cannot read the tokens in {self.path}: {exc}") from exc
        self._cache = (mtime, tokens)
        return tokens

    @contextmanager
    def _editing(self) -> Iterator[dict[str, Token]]:
        """The tokens, to change; written back whole (a new file renamed over the old), one process at a time."""
        if self.path is None:
            with self._lock:
                yield self._memory
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._cache = None
            tokens = dict(self._read())
            yield tokens
            scratch = self.path.with_suffix(".tmp")
            fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump({"tokens": [asdict(t) for t in tokens.values()]}, out, indent=1)
                out.flush()
                os.fsync(out.fileno())
            os.replace(scratch, self.path)


def _digest(secret: str) -> str:
    # The secret is 256 random bits: a fast hash is enough, nothing to stretch.
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()
