"""Documents kept as received: their bytes in files named by their SHA-256, inside the store's folder.

Not literals in a graph: measured on the generated 100k world (882 documents, 13 MB), keeping
them as literals grew the store on disk by half (33 -> 50 MB), a whole-store dump by 47 % and
counting every triple of the union graph from 34 to 102 ms; and a literal must be text, where a
document may be any bytes (RDF/XML in Latin-1, a bundle in UTF-16). A file is written first
(to a temporary name, flushed, then renamed), before the transaction that refers to it: if that
transaction fails, the file is left unreferenced and harmless, and writing the same bytes again
finds it in place. Reading checks the bytes against their name.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from .errors import CorruptDocument, NotFound, StoreError
from .store import GraphStore, source_id
from .vocab import CHANGES_GRAPH, SOURCES_GRAPH

FOLDER = "originals"
"""The folder, inside the store's, that holds the documents."""

log = logging.getLogger("fimigraph.originals")

# The documents of stores kept in memory (no folder), for as long as the store lives.
_in_memory: weakref.WeakKeyDictionary[GraphStore, dict[str, bytes]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Received:
    """A document as it was submitted: its bytes and media type."""

    data: bytes
    media_type: str

    @property
    def sha256(self) -> str:
        """The checksum that names it."""
        return hashlib.sha256(self.data).hexdigest()


def _path(store: GraphStore, sha256: str) -> Path:
    assert store.path is not None
    return store.path / FOLDER / sha256[:2] / sha256


def keep(store: GraphStore, data: bytes) -> str:
    """Keep a document's bytes (idempotent: the same bytes are kept once); return their SHA-256."""
    sha256 = hashlib.sha256(data).hexdigest()
    if store.path is None:
        _in_memory.setdefault(store, {})[sha256] = data
        return sha256
    path = _path(store, sha256)
    if path.is_file() and path.stat().st_size == len(data):
        return sha256
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())  # on disk before the transaction that names it commits
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise StoreError(f"the document could not be kept: {exc}") from exc
    return sha256


def read(store: GraphStore, sha256: str) -> bytes:
    """The bytes named by ``sha256``, checked against it (CorruptDocument if they no longer match)."""
    if store.path is None:
        data = _in_memory.get(store, {}).get(sha256)
    else:
        try:
            data = _path(store, sha256).read_bytes()
        except FileNotFoundError:
            data = None
        except OSError as exc:
            raise StoreError(f"the document {sha256} could not be read: {exc}") from exc
    if data is None:
        raise NotFound(f"the document with SHA-256 {sha256} is not kept in this store")
    found = hashlib.sha256(data).hexdigest()
    if found != sha256:
        log.error("document %s is corrupt: its bytes have SHA-256 %s", sha256, found)
        raise CorruptDocument(f"the document kept as {sha256} is corrupt: its bytes no longer match their checksum")
    return data


def original(store: GraphStore, source: str, *, sha256: str | None = None, kept: GraphStore | None = None) -> Received:
    """A source's document as received: the version it is loaded from, or any version of it the change log holds (``sha256``).

    ``store`` is what the caller reads (a need-to-know view): a document is found only where its record
    in the change log is, within the caller's clearance of every marking it carries. ``kept``: the store
    whose folder keeps the bytes (default ``store``).
    """
    sid = source_id(source) if ":" in source else source
    if sha256 is None:
        try:
            info = store.source(sid)
        except NotFound as exc:
            raise NotFound(f"no source with id {sid!r} is loaded; the versions it had are in the change log "
                           f"(GET /changes?source={sid}, `fimigraph changes --source {sid}`)") from exc
        rows = store.select(
            f"""SELECT ?source ?sha ?media WHERE {{ GRAPH <{SOURCES_GRAPH}> {{ ?source fimi:receivedAs ?doc }}
                  GRAPH <{CHANGES_GRAPH}> {{ ?doc fimi:checksum ?sha ; dcterms:format ?media }} }}""",
            bind={"source": info.iri})
        if not rows:
            raise NotFound(f"no document of source {info.id} is kept as received that you may read (a bulk load, or an "
                           "earlier version, keeps none)")
    else:
        rows = store.select(
            f"""SELECT ?sid ?sha ?media WHERE {{ GRAPH <{CHANGES_GRAPH}> {{
                  ?change fimi:sourceId ?sid ; prov:used ?doc . ?doc fimi:checksum ?sha ; dcterms:format ?media }} }} LIMIT 1""",
            bind={"sid": ox.Literal(sid), "sha": ox.Literal(sha256.lower())})
        if not rows:
            raise NotFound(f"no version of source {sid} with SHA-256 {sha256} was received (see GET /changes?source={sid})")
    return Received(read(kept or store, rows[0]["sha"]), rows[0]["media"])


__all__ = ["FOLDER", "Received", "keep", "original", "read"]
