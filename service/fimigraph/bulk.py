"""Bulk loading: many sources at once, from a dataset already laid out the way the store keeps it.

``fimigraph load --bulk FILE…`` reads N-Quads or TriG (optionally gzipped): a generated graph
(``fimigraph generate``) or an export of a store's asserted graphs. Every quad must sit in the
metadata graph (``graph/sources``: each source's description, with its ``dcterms:identifier``)
or in the graph of a source that the metadata graph describes (``graph/source/<id>``); the
ontology, inferred and default graphs are refused. Each source's document (its description and
its claims) passes the same checks and SHACL shapes as ``fimigraph load`` one document at a
time (:func:`fimigraph.ingest.read_document`); then everything is written and the inferred graph
is rebuilt once (:func:`fimigraph.reason.infer`), not source by source.

All or nothing, and fast. pyoxigraph's bulk loader (``Store.bulk_extend``/``bulk_load``)
writes sorted files straight into RocksDB and is not atomic ("if the operation fails in the
middle, only a part of the data may be written", oxigraph ``BulkLoader`` docs); a transaction
(``Store.extend``, ``Store.update``) is. Measured on 1M generated quads into an on-disk store:
bulk 24 s, one ``extend`` transaction 65 s and 2.9 GB of memory. So:

1. everything that can fail because of the input fails before the first write: the whole
   dataset is parsed, checked against the layout and the store, and validated in memory first;
2. sources the store does not hold yet go in through the bulk loader, into graphs and metadata
   subjects that did not exist: if it fails (I/O), one transaction removes exactly those, and
   nothing that was stored before has been touched;
3. sources that replace stored ones (``--replace``) go in one transaction with the removal of
   their old versions, so an old version is never lost, not even on a crash;
4. if reasoning fails, steps 2 and 3 are undone (one transaction) and the inferences rebuilt.

Only a crash (kill -9, power loss) during step 2 can leave part of the new sources behind;
stored data is never at risk.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from multiprocessing import get_context
from pathlib import Path
from typing import Any, BinaryIO

import pyoxigraph as ox
from rdflib import Graph

from . import reason
from .errors import AlreadyExists, InputError, ParseError, StoreError, UnsupportedFormat, ValidationError
from .ingest import check_reserved, parse_document, read_document, split_document
from .ontology import source_classes
from .reason import DEFAULT_ENGINE
from .store import GraphStore, iri_batches, source_id
from .validate import quiet_literal_warnings, validate_graph
from .views import rank_of
from .vocab import DCTERMS, FIMI, INFERRED_GRAPH, ONTOLOGY_GRAPH, RDF, SOURCE_GRAPH_PREFIX, SOURCES_GRAPH, XSD

BULK_FORMATS: dict[str, ox.RdfFormat] = {".nq": ox.RdfFormat.N_QUADS, ".trig": ox.RdfFormat.TRIG}
"""What ``load --bulk`` reads, by file extension (each may also end in ``.gz``)."""

CHUNK_TRIPLES = 20_000
"""About how many triples one pyshacl run validates (see :func:`validate_dataset`)."""

_SOURCES = ox.NamedNode(str(SOURCES_GRAPH))
_ONTOLOGY = ox.NamedNode(str(ONTOLOGY_GRAPH))
_INFERRED = ox.NamedNode(str(INFERRED_GRAPH))
_IDENTIFIER = ox.NamedNode(str(DCTERMS.identifier))
_SUBMITTED = ox.NamedNode(str(DCTERMS.dateSubmitted))
_TYPE = ox.NamedNode(str(RDF.type))
_CLAIM = ox.NamedNode(str(FIMI.Claim))
_MARKING = ox.NamedNode(str(FIMI.marking))
_DATETIME = ox.NamedNode(str(XSD.dateTime))
# Added to a source's description by the store, not part of the document the shapes validate.
_STORE_ADDED = (_IDENTIFIER, _SUBMITTED)


@dataclass
class BulkSource:
    """One source of the dataset: its description (metadata graph) and its claims (its own graph)."""

    iri: str
    id: str
    file: str
    metadata: dict[ox.Quad, None] = field(default_factory=dict)  # dicts: ordered sets of quads
    claims: dict[ox.Quad, None] = field(default_factory=dict)

    @property
    def graph(self) -> str:
        """The named graph of the source's claims."""
        return SOURCE_GRAPH_PREFIX + self.id

    def document(self) -> list[ox.Triple]:
        """The source document the shapes see: what ``fimigraph load`` would have been given."""
        triples = [ox.Triple(q.subject, q.predicate, q.object) for q in self.metadata if q.predicate not in _STORE_ADDED]
        triples += [ox.Triple(q.subject, q.predicate, q.object) for q in self.claims]
        return triples

    def quads(self) -> Iterator[ox.Quad]:
        """Every quad the store receives for this source."""
        yield from self.metadata
        yield from self.claims


@dataclass
class Dataset:
    """The parsed files: sources by IRI, in the order they first appear."""

    files: list[str]
    sources: dict[str, BulkSource]

    @property
    def triples(self) -> int:
        """Distinct quads to write."""
        return sum(len(s.metadata) + len(s.claims) for s in self.sources.values())

    def claims(self) -> int:
        """Claims in all sources (nodes typed fimi:Claim)."""
        return sum(len({q.subject for q in s.claims if q.predicate == _TYPE and q.object == _CLAIM}) for s in self.sources.values())


@dataclass(frozen=True)
class BulkReport:
    """What one bulk load did; ``phases``: seconds per phase."""

    files: tuple[str, ...]
    sources: int
    replaced: int
    claims: int
    triples: int
    inferred: int
    engine: str
    seconds: float
    phases: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {**self.__dict__, "files": list(self.files)}


OnProgress = Callable[[str], None]
"""Told what is happening now, in a few words (the CLI shows it beside a spinner)."""


def _no_progress(_: str) -> None:
    return None


# -- parse ---------------------------------------------------------------------------------


def bulk_format(path: Path) -> ox.RdfFormat:
    """The format of a bulk file from its name; UnsupportedFormat if ``--bulk`` does not read it."""
    name = path.name.lower()
    stem = name[:-3] if name.endswith(".gz") else name
    for suffix, fmt in BULK_FORMATS.items():
        if stem.endswith(suffix):
            return fmt
    raise UnsupportedFormat(
        f"{path}: --bulk reads datasets as N-Quads (.nq) or TriG (.trig), optionally gzipped (.gz); "
        "to load single source documents, drop --bulk"
    )


def _open(path: Path) -> BinaryIO:
    try:
        return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _line_of(path: Path, fmt: ox.RdfFormat, index: int, graph: str | None) -> int | None:
    """The line of the ``index``-th quad of a file, to name it in an error (None if unknown).

    N-Quads is one statement a line (comments and blank lines aside), so the index gives the
    line. In TriG, the first line naming the graph IRI in full, if any.
    """
    with _open(path) as stream:
        if fmt == ox.RdfFormat.N_QUADS:
            seen = -1
            for number, raw in enumerate(stream, start=1):
                text = raw.strip()
                if text and not text.startswith(b"#"):
                    seen += 1
                    if seen == index:
                        return number
            return None
        if graph is None:
            return None
        needle = f"<{graph}>".encode()
        for number, raw in enumerate(stream, start=1):
            if needle in raw:
                return number
    return None


def _where(path: Path, fmt: ox.RdfFormat, index: int, graph: str | None) -> str:
    line = _line_of(path, fmt, index, graph)
    return f"{path} line {line}" if line is not None else str(path)


def _misplaced(path: Path, fmt: ox.RdfFormat, index: int, quad: ox.Quad) -> InputError:
    g = quad.graph_name
    name = g.value if isinstance(g, ox.NamedNode) else None
    where = _where(path, fmt, index, name)
    layout = f"each source's claims in <{SOURCE_GRAPH_PREFIX}<id>>, source descriptions in <{SOURCES_GRAPH}>"
    if name == str(INFERRED_GRAPH):
        why = f"a quad in the inferred graph <{name}>: inferences are rebuilt by the rules after loading, never loaded"
    elif name == str(ONTOLOGY_GRAPH):
        why = f"a quad in the ontology graph <{name}>: the store keeps its own ontology; load only source graphs and <{SOURCES_GRAPH}>"
    elif isinstance(g, ox.DefaultGraph):
        why = f"a triple in the default graph (subject {quad.subject}): --bulk reads datasets laid out per source ({layout}); to load one source document, drop --bulk"
    else:
        why = f"a quad in graph {g}, which is neither a source graph nor the metadata graph ({layout})"
    return InputError(f"{where}: {why}")


def read_dataset(paths: Iterable[Path], *, progress: OnProgress = _no_progress) -> Dataset:
    """Parse bulk files and check their layout; raise ParseError or InputError naming file, graph and line."""
    metadata: dict[str, dict[ox.Quad, None]] = {}
    claims: dict[str, dict[ox.Quad, None]] = {}
    first_seen: dict[str, tuple[Path, ox.RdfFormat, int]] = {}
    files = []
    for path in paths:
        fmt = bulk_format(path)
        files.append(str(path))
        progress(f"parsing {path.name}")
        with _open(path) as stream:
            index = -1
            try:
                for index, quad in enumerate(ox.parse(stream, format=fmt)):
                    g = quad.graph_name
                    name = g.value if isinstance(g, ox.NamedNode) else ""
                    if name.startswith(SOURCE_GRAPH_PREFIX):
                        bucket = claims.get(name)
                        if bucket is None:
                            bucket = claims[name] = {}
                            first_seen[name] = (path, fmt, index)
                        bucket[quad] = None
                    elif g == _SOURCES:
                        subject = quad.subject
                        if subject in (_ONTOLOGY, _INFERRED, _SOURCES):
                            # The store's own notes (its ontology's fingerprint, its inferred graph's size,
                            # its count of changes), found in exports: not data.
                            continue
                        if not isinstance(subject, ox.NamedNode):
                            raise InputError(
                                f"{_where(path, fmt, index, None)}: the metadata graph describes a blank node; "
                                "a source must be an IRI"
                            )
                        key = subject.value
                        bucket = metadata.get(key)
                        if bucket is None:
                            bucket = metadata[key] = {}
                            first_seen[key] = (path, fmt, index)
                        bucket[quad] = None
                    else:
                        raise _misplaced(path, fmt, index, quad)
            except SyntaxError as exc:
                raise ParseError(f"{path}: malformed {fmt.name} data: {exc}") from exc
            except (OSError, EOFError) as exc:  # a truncated or corrupt .gz
                raise InputError(f"cannot read {path} after quad {index + 1}: {exc}") from exc
    return _assemble(files, metadata, claims, first_seen)


def _assemble(
    files: list[str],
    metadata: dict[str, dict[ox.Quad, None]],
    claims: dict[str, dict[ox.Quad, None]],
    first_seen: dict[str, tuple[Path, ox.RdfFormat, int]],
) -> Dataset:
    """Pair each source graph with its description; check identifiers and what only the store adds."""
    sources: dict[str, BulkSource] = {}
    by_id: dict[str, BulkSource] = {}
    for iri, quads in metadata.items():
        path, fmt, index = first_seen[iri]
        ids = [q.object for q in quads if q.predicate == _IDENTIFIER]
        if len(ids) != 1 or not isinstance(ids[0], ox.Literal):
            found = ", ".join(str(i) for i in ids) or "none"
            raise InputError(
                f"{_where(path, fmt, index, str(SOURCES_GRAPH))}: the metadata graph describes <{iri}>, which needs exactly one "
                f"dcterms:identifier (the id of its source graph); found {found}"
            )
        sid = ids[0].value
        if sid != source_id(iri):
            raise InputError(
                f"{_where(path, fmt, index, str(SOURCES_GRAPH))}: source <{iri}> has dcterms:identifier \"{sid}\"; "
                f"the store identifies it as \"{source_id(iri)}\" (its graph <{SOURCE_GRAPH_PREFIX}{source_id(iri)}>)"
            )
        submitted = [q.object for q in quads if q.predicate == _SUBMITTED]
        if len(submitted) > 1 or any(not isinstance(o, ox.Literal) or o.datatype != _DATETIME for o in submitted):
            raise InputError(f"{_where(path, fmt, index, str(SOURCES_GRAPH))}: source <{iri}> needs at most one dcterms:dateSubmitted, an xsd:dateTime")
        if not submitted:  # what GraphStore.put_source records: when the source entered the store
            now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
            quads[ox.Quad(ox.NamedNode(iri), _SUBMITTED, ox.Literal(now, datatype=_DATETIME), _SOURCES)] = None
        source = BulkSource(iri, sid, str(path), metadata=quads)
        sources[iri] = by_id[sid] = source
    for graph, quads in claims.items():
        path, fmt, index = first_seen[graph]
        sid = graph[len(SOURCE_GRAPH_PREFIX):]
        owner = by_id.get(sid)
        if owner is None:
            raise InputError(
                f"{_where(path, fmt, index, graph)}: graph <{graph}> belongs to no source: the metadata graph "
                f"<{SOURCES_GRAPH}> describes no source with dcterms:identifier \"{sid}\""
            )
        own = ox.NamedNode(owner.iri)
        if any(q.subject == own for q in quads):
            raise InputError(
                f"{_where(path, fmt, index, graph)}: graph <{graph}> holds statements about its own source <{owner.iri}>; "
                f"they belong in the metadata graph <{SOURCES_GRAPH}>"
            )
        owner.claims = with_source_marking(owner.metadata, quads)
    return Dataset(files, sources)


def with_source_marking(metadata: dict[ox.Quad, None], claims: dict[ox.Quad, None]) -> dict[ox.Quad, None]:
    """A source's claims, each marked at least as restrictively as the source (as :func:`fimigraph.ingest.with_source_marking`)."""
    source = next((q.object for q in metadata if q.predicate == _MARKING), None)
    if source is None or rank_of(source.value) == 0:
        return claims
    rank = rank_of(source.value)
    claim_nodes = {q.subject for q in claims if q.predicate == _TYPE and q.object == _CLAIM}
    stricter = {q.subject for q in claims if q.predicate == _MARKING and q.subject in claim_nodes and rank_of(q.object.value) >= rank}
    out = {q: None for q in claims if not (q.predicate == _MARKING and q.subject in claim_nodes and q.subject not in stricter)}
    graph = next(iter(claims)).graph_name
    for claim in claim_nodes - stricter:
        out[ox.Quad(claim, _MARKING, source, graph)] = None
    return out


# -- check ---------------------------------------------------------------------------------


def check_one_source_each(dataset: Dataset) -> None:
    """Each document describes exactly one fimi:Source, its own (as ``split_document`` demands)."""
    classes = {ox.NamedNode(str(c)) for c in source_classes()}
    for source in dataset.sources.values():
        typed = {q.subject for part in (source.metadata, source.claims) for q in part if q.predicate == _TYPE and q.object in classes}
        if typed == {ox.NamedNode(source.iri)}:
            continue
        document, _ = parse_document(ox.serialize(source.document(), format=ox.RdfFormat.N_TRIPLES), media_type="application/n-triples")
        try:  # the one-document path's own check and message
            found, _, _ = split_document(document)
        except ValidationError as exc:
            raise ValidationError(f"source {source.id} ({source.file}): {exc.detail}", extra=exc.extra) from exc
        if found == source.iri:  # the others are sources it relays
            continue
        raise ValidationError(
            f"source {source.id} ({source.file}): its document describes <{found}> as its fimi:Source, not <{source.iri}> "
            "(the source the metadata graph gives this graph)"
        )


def stored_sources(store: GraphStore, dataset: Dataset) -> set[str]:
    """IRIs of the dataset's sources that the store holds already (described, or with a graph)."""
    held: set[str] = set()
    for values in iri_batches(dataset.sources):
        rows = store.query(f"SELECT DISTINCT ?s WHERE {{ VALUES ?s {{ {values} }} GRAPH <{SOURCES_GRAPH}> {{ ?s ?p ?o }} }}")
        held |= {row["s"].value for row in rows}
    graphs = set(store.named_graphs())
    held |= {s.iri for s in dataset.sources.values() if s.graph in graphs}
    return held


# -- validate ------------------------------------------------------------------------------

_EMPTY: frozenset[tuple[Any, Any]] = frozenset()


def _descriptions(triples: list[ox.Triple]) -> dict[Any, frozenset[tuple[Any, Any]]]:
    """What a document says about each node it names (its outgoing (predicate, object) pairs)."""
    out: dict[Any, set[tuple[Any, Any]]] = {}
    for t in triples:
        obj = t.object
        out.setdefault(t.subject, set()).add((t.predicate, obj))
        if not isinstance(obj, ox.Literal):
            out.setdefault(obj, set())
    return {node: frozenset(pairs) if pairs else _EMPTY for node, pairs in out.items()}


class _Chunk:
    """Documents validated together, all agreeing on every node they share."""

    def __init__(self) -> None:
        self.docs: list[tuple[BulkSource, list[ox.Triple]]] = []
        self.size = 0
        self.known: dict[Any, frozenset[tuple[Any, Any]]] = {}

    def agrees(self, desc: dict[Any, frozenset[tuple[Any, Any]]]) -> bool:
        known = self.known
        return all(known.get(node, pairs) == pairs for node, pairs in desc.items())

    def add(self, source: BulkSource, triples: list[ox.Triple], desc: dict[Any, frozenset[tuple[Any, Any]]]) -> None:
        self.docs.append((source, triples))
        self.size += len(triples)
        self.known.update(desc)


def _chunks(sources: Iterable[BulkSource], limit: int, open_max: int = 4) -> Iterator[_Chunk]:
    """Pack documents into chunks of about ``limit`` triples in which no two documents disagree on a node.

    Why agreement makes one pyshacl run over a chunk equal to one run per document: the shapes
    (``rules/shapes``) reach from a focus node along forward paths only, i.e. through what
    documents say about nodes (as subjects). If every two documents of a chunk that name a node
    say the same about it (or both nothing), every node a document names has in the chunk
    exactly the description it has in the document alone, so each of the document's focus nodes
    meets the same constraints with the same values. Extra focus nodes from other documents only
    add results, and a chunk that fails is re-validated document by document
    (:func:`_first_failing`), so a violation is always the document's own. Documents that
    disagree (an article naming the report it relays, which that report describes) go to
    another open chunk.
    """
    open_chunks: list[_Chunk] = []
    for source in sources:
        triples = source.document()
        desc = _descriptions(triples)
        target = next((c for c in open_chunks if c.agrees(desc)), None)
        if target is None:
            if len(open_chunks) >= open_max:
                yield open_chunks.pop(0)
            target = _Chunk()
            open_chunks.append(target)
        target.add(source, triples, desc)
        if target.size >= limit:
            open_chunks.remove(target)
            yield target
    yield from open_chunks


def _worker_init() -> None:
    quiet_literal_warnings()


def chunk_conforms(ntriples: bytes) -> bool:
    """Whether a chunk of documents (N-Triples) passes the reserved-node check and the shapes."""
    graph = Graph().parse(data=ntriples.decode(), format="nt")
    try:
        check_reserved(graph)
    except ValidationError:
        return False
    return validate_graph(graph).conforms


def _first_failing(chunk: _Chunk) -> None:
    """Validate a failed chunk one document at a time, exactly as ``fimigraph load`` would; raise for the first failure."""
    for source, triples in chunk.docs:
        try:
            read_document(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), media_type="application/n-triples")
        except ValidationError as exc:
            raise ValidationError(f"source {source.id} ({source.file}): {exc.detail}", extra=exc.extra) from exc


def validate_dataset(dataset: Dataset, *, jobs: int = 1, chunk_triples: int = CHUNK_TRIPLES, progress: OnProgress = _no_progress) -> int:
    """Validate every source's document with the SHACL shapes; raise ValidationError for the first that fails.

    One pyshacl run per document costs ~40 ms before it looks at any triple (8,700 documents at
    1M triples: ~6 min of overhead); documents are therefore validated in chunks (see
    :func:`_chunks` for why that gives the same verdict), with ``jobs`` processes. Returns the
    number of pyshacl runs over chunks.
    """
    total = len(dataset.sources)
    done = 0
    runs = 0

    def finished(chunk: _Chunk, ok: bool) -> None:
        nonlocal done, runs
        runs += 1
        if not ok:
            _first_failing(chunk)
        done += len(chunk.docs)
        progress(f"validating: {done}/{total} sources")

    chunks = _chunks(dataset.sources.values(), chunk_triples)
    progress(f"validating: 0/{total} sources")
    if jobs <= 1:
        for chunk in chunks:
            finished(chunk, chunk_conforms(ox.serialize(_chunk_triples(chunk), format=ox.RdfFormat.N_TRIPLES)))
        return runs
    # Separate processes (pyshacl is pure Python, one core per process); "spawn", not fork:
    # the parent holds the open RocksDB store.
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"), initializer=_worker_init) as pool:
        pending: list[tuple[_Chunk, Future[bool]]] = []
        try:
            for chunk in chunks:
                pending.append((chunk, pool.submit(chunk_conforms, ox.serialize(_chunk_triples(chunk), format=ox.RdfFormat.N_TRIPLES))))
                while len(pending) > 2 * jobs:  # bound the memory held by queued chunks
                    done_chunk, future = pending.pop(0)
                    finished(done_chunk, future.result())
            for done_chunk, future in pending:
                finished(done_chunk, future.result())
        finally:
            for _, future in pending:
                future.cancel()
    return runs


def _chunk_triples(chunk: _Chunk) -> Iterator[ox.Triple]:
    for _, triples in chunk.docs:
        yield from triples


# -- write ---------------------------------------------------------------------------------


def _ntriples(quads: Iterable[ox.Quad]) -> str:
    return ox.serialize((ox.Triple(q.subject, q.predicate, q.object) for q in quads), format=ox.RdfFormat.N_TRIPLES).decode()


def _swap_update(drop: Iterable[tuple[str, str]], insert: dict[str, list[ox.Quad]]) -> str:
    """One SPARQL Update (one transaction): remove sources (IRI, graph) whole, then insert quads by graph."""
    parts = [
        f"DROP SILENT GRAPH <{graph}> ;\nDELETE WHERE {{ GRAPH <{SOURCES_GRAPH}> {{ <{iri}> ?p ?o }} }}" for iri, graph in drop
    ]
    blocks = [f" GRAPH <{graph}> {{\n{_ntriples(quads)}}}" for graph, quads in insert.items() if quads]
    if blocks:
        parts.append("INSERT DATA {\n" + "\n".join(blocks) + "\n}")
    return " ;\n".join(parts)


def _by_graph(quads: Iterable[ox.Quad]) -> dict[str, list[ox.Quad]]:
    out: dict[str, list[ox.Quad]] = {}
    for q in quads:
        out.setdefault(q.graph_name.value, []).append(q)
    return out


def _bulk_write(store: GraphStore, quads: Iterable[ox.Quad]) -> None:
    """pyoxigraph's bulk loader (not atomic: see the module docstring for how it is made so)."""
    store.ox.bulk_extend(quads)


def _update(store: GraphStore, sparql: str) -> None:
    if sparql:
        store.update(sparql)


def write_dataset(store: GraphStore, dataset: Dataset, held: set[str]) -> Callable[[], None]:
    """Write every source (``held``: IRIs to replace); return a function that undoes the write.

    On an error during the write, what it wrote is undone before the error surfaces.
    """
    new = [s for s in dataset.sources.values() if s.iri not in held]
    replacing = [s for s in dataset.sources.values() if s.iri in held]
    # The stored versions, to put back if reasoning fails later.
    old: list[ox.Quad] = []
    for s in replacing:
        old += store.ox.quads_for_pattern(ox.NamedNode(s.iri), None, None, _SOURCES)
        old += store.ox.quads_for_pattern(None, None, None, ox.NamedNode(s.graph))

    def undo_new() -> None:
        _update(store, _swap_update(((s.iri, s.graph) for s in new), {}))

    def undo_all() -> None:
        _update(store, _swap_update(((s.iri, s.graph) for s in [*new, *replacing]), _by_graph(old)))

    written = False
    try:
        if new:
            try:
                _bulk_write(store, (q for s in new for q in s.quads()))
            except OSError as exc:
                raise StoreError(f"the store could not write: {exc}") from exc
        if replacing:
            _update(store, _swap_update(((s.iri, s.graph) for s in replacing), _by_graph(q for s in replacing for q in s.quads())))
        written = True
    finally:
        if not written:
            undo_new()
    return undo_all


# -- all of it -----------------------------------------------------------------------------


def bulk_load(
    store: GraphStore,
    paths: list[Path],
    *,
    replace: bool = False,
    engine: str = DEFAULT_ENGINE,
    jobs: int = 1,
    progress: OnProgress = _no_progress,
) -> BulkReport:
    """Parse, check, validate and write datasets laid out per source, then rebuild the inferences once."""
    started = time.perf_counter()
    phases: dict[str, float] = {}
    mark = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        phases[name] = round(now - mark, 3)
        mark = now

    dataset = read_dataset(paths, progress=progress)
    lap("parse")
    if not dataset.sources:
        inferred = reason.inferred_size(store)
        return BulkReport(tuple(dataset.files), 0, 0, 0, 0, inferred, engine, round(time.perf_counter() - started, 3), phases)
    with store.write_lock:
        progress("checking against the store")
        held = stored_sources(store, dataset)
        if held and not replace:
            first = dataset.sources[sorted(held)[0]]
            others = f" (and {len(held) - 1} more)" if len(held) > 1 else ""
            raise AlreadyExists(
                f"source {first.iri} is loaded already (id {first.id}){others}; retract it first, or pass --replace"
            )
        check_one_source_each(dataset)
        lap("check")
        validate_dataset(dataset, jobs=jobs, progress=progress)
        lap("validate")
        progress(f"writing {dataset.triples} quads")
        undo = write_dataset(store, dataset, held)
        lap("write")
        reasoned = False
        try:
            progress(f"reasoning ({engine})")
            report = reason.infer(store, engine=engine, on_pass=lambda n, t: progress(f"reasoning ({engine}): pass {n}, {t} triples"))
            reasoned = True
        finally:
            if not reasoned:
                # Put the sources back as they were, then the inferences that follow from them.
                undo()
                reason.infer(store, engine=engine)
        lap("reasoning")
    return BulkReport(
        files=tuple(dataset.files),
        sources=len(dataset.sources),
        replaced=len(held),
        claims=dataset.claims(),
        triples=dataset.triples,
        inferred=report.triples,
        engine=engine,
        seconds=round(time.perf_counter() - started, 3),
        phases=phases,
    )


__all__ = [
    "BULK_FORMATS", "BulkReport", "BulkSource", "CHUNK_TRIPLES", "Dataset", "bulk_format", "bulk_load", "check_one_source_each",
    "chunk_conforms", "read_dataset", "stored_sources", "validate_dataset", "write_dataset",
]
