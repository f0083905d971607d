"""The embedded, on-disk store: pyoxigraph (RocksDB) with fimigraph's named-graph layout.

Graphs (DESIGN §5): the ontology, source metadata, one graph per source, the inferences.
Every query sees their union as its default graph. Every write is one SPARQL Update
request, which pyoxigraph applies in one transaction: it lands whole or not at all.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef

from .errors import AlreadyExists, NotFound, QueryError, StoreError
from .ontology import ontology_hash, ontology_ntriples
from .sparql import dataset
from .callers import Tokens
from .views import FOLDER as VIEWS_FOLDER, Views, generation, generation_bump_sparql
from .vocab import (
    DCTERMS,
    FIMI,
    INFERRED_GRAPH,
    ONTOLOGY_GRAPH,
    SOURCES_GRAPH,
    XSD,
    PREFIXES,
    SKOLEM,
    source_graph,
)

log = logging.getLogger("fimigraph.store")


@dataclass(frozen=True)
class SourceChange:
    """A source written, replaced or retracted: the update that does it, and the quads it adds and removes."""

    sid: str
    iri: str
    update: str
    added: list[ox.Quad]
    removed: list[ox.Quad]


@dataclass(frozen=True)
class SourceInfo:
    """What the metadata graph says about one loaded source."""

    id: str
    iri: str
    title: str | None
    publisher: str | None
    issued: str | None
    types: tuple[str, ...]
    claims: int
    submitted: str | None

    @property
    def graph(self) -> URIRef:
        """The named graph holding the source's claims."""
        return source_graph(self.id)


def source_id(iri: str) -> str:
    """A readable, stable id for a source IRI: its last segment plus a short hash."""
    tail = re.split(r"[/#:]", iri.rstrip("/#"))[-1]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", tail).strip("-._")[:48] or "source"
    return f"{slug}-{hashlib.sha256(iri.encode()).hexdigest()[:8]}"


def ntriples(graph: Graph) -> str:
    """A graph as N-Triples text, the body of INSERT DATA."""
    return graph.serialize(format="nt")


def _quads(graph: Graph, name: str) -> list[ox.Quad]:
    """An rdflib graph's triples as pyoxigraph quads of one named graph."""
    g = ox.NamedNode(name)
    return [ox.Quad(q.subject, q.predicate, q.object, g)
            for q in ox.parse(ntriples(graph).encode(), format=ox.RdfFormat.N_TRIPLES)]


class GraphStore:
    """fimigraph's store: open it on a folder (or in memory with ``path=None``)."""

    def __init__(self, path: Path | str | None, *, read_only: bool = False) -> None:
        self.path = Path(path) if path is not None else None
        self.read_only = read_only
        try:
            if self.path is None:
                self.ox = ox.Store()
            elif read_only:
                self.ox = ox.Store.read_only(str(self.path))
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self.ox = ox.Store(str(self.path))
        except OSError as exc:
            raise StoreError(_store_open_reason(self.path, exc)) from exc
        # One writer at a time inside this process; RocksDB's lock keeps other processes out.
        self.write_lock = threading.RLock()
        if not read_only:
            self._ensure_ontology()
        self.views = Views(self.ox, self.path / VIEWS_FOLDER if self.path is not None else None, read_only=read_only)
        self._readers: dict[int, GraphStore] = {}
        self.tokens = Tokens(self.path)
        """The API tokens of this store's callers (a file in its folder; in memory for a store in memory)."""

    @classmethod
    def _reader(cls, store: ox.Store, path: Path | None) -> GraphStore:
        """A store opened elsewhere, to be read only (a need-to-know view)."""
        reader = cls.__new__(cls)
        reader.path, reader.read_only, reader.ox = path, True, store
        reader.write_lock = threading.RLock()
        reader.views = Views(store, None, read_only=True)
        reader._readers = {}
        return reader

    def for_clearance(self, clearance: int) -> GraphStore:
        """What a caller of this TLP clearance (a rank, 0 for TLP:CLEAR) may read: this store, or its view holding only what is marked within it."""
        view = self.views.store_for(clearance)
        if view is self.ox:
            return self
        reader = self._readers.get(id(view))
        if reader is None or reader.ox is not view:
            live = {id(copy) for copy in self.views.stores.values()}  # a copy built again replaces the old one
            self._readers = {key: r for key, r in self._readers.items() if key in live}
            reader = self._readers[id(view)] = self._reader(view, self.views.path_for(clearance, self.path) if self.path else None)
        return reader

    def generation(self) -> int:
        """How many writes the store has completed (see :mod:`fimigraph.views`)."""
        return generation(self.ox)

    # -- writes -------------------------------------------------------------------------

    def update(self, sparql: str) -> None:
        """Run one SPARQL Update request as one transaction."""
        try:
            self.ox.update(sparql)
        except (SyntaxError, ValueError) as exc:
            raise StoreError(f"update rejected by the store: {exc}") from exc
        except OSError as exc:
            raise StoreError(f"the store could not write: {exc}") from exc

    def _ensure_ontology(self) -> None:
        marker = self.ask(
            f"ASK {{ GRAPH <{SOURCES_GRAPH}> {{ <{ONTOLOGY_GRAPH}> <{DCTERMS.identifier}> \"{ontology_hash()}\" }} }}"
        )
        if marker:
            return
        with self.write_lock:
            self.update(
                f"DROP SILENT GRAPH <{ONTOLOGY_GRAPH}> ;\n"
                f"DELETE WHERE {{ GRAPH <{SOURCES_GRAPH}> {{ <{ONTOLOGY_GRAPH}> <{DCTERMS.identifier}> ?h }} }} ;\n"
                f"INSERT DATA {{ GRAPH <{ONTOLOGY_GRAPH}> {{\n{ontology_ntriples()}}}\n"
                f"  GRAPH <{SOURCES_GRAPH}> {{ <{ONTOLOGY_GRAPH}> <{DCTERMS.identifier}> \"{ontology_hash()}\" }} }}"
            )

    def prepare_put(self, source_iri: str, metadata: Graph, claims: Graph, *, replace: bool,
                    submitted: str | None = None) -> SourceChange:
        """What writing one source (metadata and claims) takes: the update and the quads it adds and removes.

        Without ``replace``, a source the store holds already is refused (:class:`AlreadyExists`):
        writing it again would duplicate its submission time and leave the inferred graph
        unchanged, as if the second write had never happened. ``submitted``: when the source
        entered the store (``xsd:dateTime``; now unless given: putting a version back keeps its own).
        """
        sid = source_id(source_iri)
        held = self.has_source(source_iri)
        if held and not replace:
            raise AlreadyExists(f"source {source_iri} is loaded already (id {sid}); retract it first, "
                                "or replace it (CLI --replace, HTTP ?replace=true)")
        graph = source_graph(sid)
        submitted = submitted or datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        # Blank nodes become skolem IRIs: INSERT DATA would mint new blank nodes, which no later
        # retraction could name, and reasoning tells nodes apart by name.
        claims = claims.skolemize(**SKOLEM)
        described = metadata.skolemize(**SKOLEM)
        described.add((URIRef(source_iri), DCTERMS.identifier, Literal(sid)))
        described.add((URIRef(source_iri), DCTERMS.dateSubmitted, Literal(submitted, datatype=XSD.dateTime)))
        parts = [self._drop_source_sparql(source_iri, sid)] if held else []
        parts.append(f"INSERT DATA {{\n GRAPH <{graph}> {{\n{ntriples(claims)}}}\n GRAPH <{SOURCES_GRAPH}> {{\n{ntriples(described)}}}\n}}")
        added = [*_quads(claims, str(graph)), *_quads(described, str(SOURCES_GRAPH))]
        removed = self._stored_quads(source_iri, sid) if held else []
        return SourceChange(sid, source_iri, " ;\n".join(parts), added, removed)

    def prepare_retract(self, sid: str) -> tuple[SourceInfo, SourceChange]:
        """What retracting a source (by id or IRI) takes: the update and the quads it removes."""
        info = self.source(sid)
        return info, SourceChange(info.id, info.iri, self._drop_source_sparql(info.iri, info.id), [],
                                  self._stored_quads(info.iri, info.id))

    def _stored_quads(self, source_iri: str, sid: str) -> list[ox.Quad]:
        meta = ox.NamedNode(str(SOURCES_GRAPH))
        return [*self.ox.quads_for_pattern(None, None, None, ox.NamedNode(str(source_graph(sid)))),
                *self.ox.quads_for_pattern(ox.NamedNode(source_iri), None, None, meta)]

    def put_source(self, source_iri: str, metadata: Graph, claims: Graph, *, replace: bool,
                   submitted: str | None = None) -> str:
        """Write one source (metadata and claims) in one transaction, without reasoning; return its id."""
        change = self.prepare_put(source_iri, metadata, claims, replace=replace, submitted=submitted)
        self.update(change.update)
        return change.sid

    def notes_sparql(self, *, inferred: int, changes: int = 0) -> str:
        """The update that records a completed reasoning run (the inferred graph's size and what it was derived with).

        ``changes``: sources added, replaced or retracted by this update, towards the next compaction.
        """
        record = " ".join(f"{q.subject} {q.predicate} {q.object} ." for q in self.note_quads(inferred=inferred))
        update = (f"{self.forget_notes_sparql()} ;\nINSERT DATA {{ GRAPH <{SOURCES_GRAPH}> {{ {record} }} }} ;\n"
                  f"{generation_bump_sparql()}")
        return update + (f" ;\n{self._add_to_changes(changes)}" if changes else "")

    @staticmethod
    def forget_notes_sparql() -> str:
        """The update that removes the notes of the last reasoning run."""
        notes = (FIMI.reasoningStartedAt, FIMI.inferredTriples, FIMI.derivedWith)
        return " ;\n".join(f"DELETE WHERE {{ GRAPH <{SOURCES_GRAPH}> {{ <{INFERRED_GRAPH}> <{p}> ?o }} }}" for p in notes)

    @staticmethod
    def note_quads(*, inferred: int) -> list[ox.Quad]:
        """The notes of a completed reasoning run: the inferred graph's size, and the fingerprint of what derived it."""
        from .reason import derivation  # the fingerprint of the rules: reason's to define

        graph, subject = ox.NamedNode(str(SOURCES_GRAPH)), ox.NamedNode(str(INFERRED_GRAPH))
        return [ox.Quad(subject, ox.NamedNode(str(FIMI.inferredTriples)), ox.Literal(str(int(inferred)), datatype=ox.NamedNode(str(XSD.integer))), graph),
                ox.Quad(subject, ox.NamedNode(str(FIMI.derivedWith)), ox.Literal(derivation()), graph)]

    def recorded_inferred_size(self) -> int | None:
        """The inferred graph's size as the last completed reasoning run recorded it (None: not recorded).

        Counting it costs 4-6 s at 1M triples (9.6M inferred), which every new process (a CLI
        ``load``, a server starting) paid before its first change. A run that starts deletes
        the record in the transaction that notes it, so an interrupted run leaves none.
        """
        n = self._note(INFERRED_GRAPH, FIMI.inferredTriples)
        return int(n) if n is not None else None

    def derived_with(self) -> str | None:
        """The fingerprint of the rules the last completed reasoning run derived the inferred graph with (None: not recorded)."""
        h = self._note(INFERRED_GRAPH, FIMI.derivedWith)
        return str(h) if h is not None else None

    def _note(self, subject: URIRef, prop: URIRef) -> Any:
        """The value of one of the store's notes, in the source-metadata graph (None: not there, or not one)."""
        rows = self.select(f"SELECT ?v WHERE {{ GRAPH <{SOURCES_GRAPH}> {{ <{subject}> <{prop}> ?v }} }}")
        return rows[0]["v"] if len(rows) == 1 else None

    def changes_since_compaction(self) -> int:
        """Sources added, replaced or retracted since the store was last compacted, by any process."""
        n = self._note(SOURCES_GRAPH, FIMI.changesSinceCompaction)
        return int(n) if n is not None else 0

    @staticmethod
    def _add_to_changes(n: int) -> str:
        """The update that adds ``n`` to :meth:`changes_since_compaction` (one transaction: read and write together)."""
        note = f"GRAPH <{SOURCES_GRAPH}> {{ <{SOURCES_GRAPH}> <{FIMI.changesSinceCompaction}>"
        return (f"DELETE {{ {note} ?n }} }} INSERT {{ {note} ?sum }} }} "
                f"WHERE {{ OPTIONAL {{ {note} ?n }} }} BIND(COALESCE(?n, 0) + {int(n)} AS ?sum) }}")

    def reasoning_interrupted(self) -> bool:
        """Whether a reasoning run started and did not complete (its inferred graph is incomplete)."""
        return self.ask(f"ASK {{ GRAPH <{SOURCES_GRAPH}> {{ <{INFERRED_GRAPH}> <{FIMI.reasoningStartedAt}> ?t }} }}")

    def _drop_source_sparql(self, source_iri: str, sid: str) -> str:
        return (
            f"DROP SILENT GRAPH <{source_graph(sid)}> ;\n"
            f"DELETE WHERE {{ GRAPH <{SOURCES_GRAPH}> {{ <{source_iri}> ?p ?o }} }}"
        )

    def delete_source(self, sid: str) -> SourceInfo:
        """Remove a source's claims and metadata in one transaction, without reasoning."""
        info, change = self.prepare_retract(sid)
        self.update(change.update)
        return info

    def source_graphs(self, sid: str) -> tuple[Graph, Graph]:
        """A source's metadata (without what the store adds) and claims as graphs."""
        info = self.source(sid)
        meta = self.construct(
            f"CONSTRUCT {{ <{info.iri}> ?p ?o }} WHERE {{ GRAPH <{SOURCES_GRAPH}> {{ <{info.iri}> ?p ?o }} "
            f"FILTER(?p NOT IN (<{DCTERMS.identifier}>, <{DCTERMS.dateSubmitted}>)) }}"
        )
        claims = self.construct(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{info.graph}> {{ ?s ?p ?o }} }}")
        return meta, claims

    def flush(self) -> None:
        """Make sure everything written is on disk."""
        if self.path is not None and not self.read_only:
            self.ox.flush()
            self.views.flush()

    def optimize(self) -> int:
        """Compact an on-disk store; return how many changes (see :meth:`note_change`) it compacted.

        The old inferred graph's quads stay on disk as deletion markers until compaction,
        and every later lookup steps over them. Measured at 1M triples: 32 s, the store
        3.1 -> 2.3 GB, then adding one source ≈ 25 % faster (bench/RESULTS.md, "What moves the numbers").
        """
        if self.read_only:
            return 0
        changes = self.changes_since_compaction()
        if self.path is not None:
            try:
                self.ox.optimize()
                self.views.optimize()
            except OSError as exc:  # a full disk: the store is as it was, only not compacted
                raise StoreError(f"the store could not be compacted: {exc}") from exc
        if changes:
            with self.write_lock:  # changes made while compacting count towards the next compaction
                self.update(self._add_to_changes(-changes))
        return changes

    # -- reads --------------------------------------------------------------------------

    def query(
        self,
        sparql: str,
        *,
        default_graph: list[str] | None = None,
        named_graphs: list[str] | None = None,
        base_iri: str | None = None,
        prefixes: dict[str, str] | None = None,
        bind: dict[str, str | ox.Literal] | None = None,
    ) -> Any:
        """Run a SPARQL query.

        With no dataset given (here or by the query's own FROM / FROM NAMED), the default
        graph is the union of all graphs. Given one, it is exactly what is named: an
        empty list is an empty default graph, or no named graphs (SPARQL 1.1 Protocol §2.1.4).
        ``bind``: IRIs (or literals) bound to variables of the query (a SELECT must project them):
        as ``substitutions=``, which bind them everywhere, filters of nested groups included; and
        as a ``VALUES`` row opening the ``WHERE`` group, because pyoxigraph plans the row into the
        pattern, while it joins substitutions only after evaluating it (one subject's links at
        100k: 9.1 → 0.8 ms; at 1M, /attribution in process 183.5 → 4.0 ms). The row is written by
        pyoxigraph from terms it has checked (``NamedNode`` refuses what is not an IRI), so each
        value is one term and nothing else: a caller's text never enters the query as text.
        """
        kwargs: dict[str, Any] = {"base_iri": base_iri, "prefixes": prefixes}
        if bind:
            try:
                terms = {ox.Variable(k): v if isinstance(v, ox.Literal) else ox.NamedNode(v) for k, v in bind.items()}
            except ValueError as exc:
                raise QueryError(f"not an IRI: {exc}") from exc
            kwargs["substitutions"] = terms  # bound everywhere, filters of nested groups included
            row = f"VALUES ({' '.join(str(v) for v in terms)}) {{ ({' '.join(str(t) for t in terms.values())}) }}"
            where = _WHERE.search(sparql)
            sparql = f"{sparql[:where.end()]} {row}\n{sparql[where.end():]}" if where else f"{sparql}\n{row}"
        try:
            return self.ox.query(sparql, **kwargs, **dataset(sparql, default_graph, named_graphs))
        except SyntaxError as exc:
            raise QueryError(f"malformed SPARQL: {exc}") from exc
        except (ValueError, TypeError) as exc:
            raise QueryError(f"cannot run this query: {exc}") from exc
        except OSError as exc:
            raise StoreError(f"the store could not be read: {exc}") from exc

    def ask(self, sparql: str, *, bind: dict[str, str | ox.Literal] | None = None) -> bool:
        """Run an ASK query (``bind`` as in :meth:`query`)."""
        return bool(self.query(sparql, bind=bind))

    def select(self, sparql: str, *, bind: dict[str, str | ox.Literal] | None = None) -> list[dict[str, Any]]:
        """Run a SELECT written in Python (prefixes added; ``bind``: IRIs for its variables) and return rows of Python values."""
        solutions = self.query(sparql, prefixes=PREFIXES, bind=bind)
        names = [v.value for v in solutions.variables]
        return [{name: _py(row[name]) for name in names} for row in solutions]

    def construct(self, sparql: str) -> Graph:
        """Run a CONSTRUCT and return an rdflib Graph."""
        triples = self.query(sparql, prefixes=PREFIXES)
        data = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
        return Graph().parse(data=data.decode(), format="nt")

    def dump_graph(self, graph: str) -> str:
        """One named graph as sorted N-Triples."""
        data = self.ox.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(graph))
        return "".join(sorted(data.decode().splitlines(keepends=True)))

    def reasoning_input(self) -> bytes:
        """Everything but the inferred graph, as N-Triples (the union the rules read)."""
        results = self.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g != <{INFERRED_GRAPH}>) }}")
        return ox.serialize(results, format=ox.RdfFormat.N_TRIPLES)

    def count(self, graph: str) -> int:
        """Number of quads in one graph."""
        return int(self.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")[0]["n"])

    def source_count(self) -> int:
        """Number of loaded sources."""
        return int(self.select(
            f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ GRAPH <{SOURCES_GRAPH}> {{ ?s dcterms:identifier ?id }} "
            f"FILTER(?s != <{ONTOLOGY_GRAPH}>) }}"
        )[0]["n"])

    def sources(self, *, only: str | None = None, limit: int | None = None, offset: int = 0) -> list[SourceInfo]:
        """Every loaded source, by id; ``only``: just the one with this id or IRI; ``limit``/``offset``: one page."""
        page = (f"LIMIT {int(limit)} " if limit is not None else "") + (f"OFFSET {int(offset)}" if offset else "")
        # The page of ids first, then their metadata and claims row by row: joined in one query,
        # pyoxigraph reads the whole metadata graph (and every label) first — 26 s for 8,691 sources.
        pick = (f"SELECT ?s ?id WHERE {{ GRAPH <{SOURCES_GRAPH}> {{ ?s dcterms:identifier ?id FILTER(?s != <{ONTOLOGY_GRAPH}>) }} }} "
                f"ORDER BY ?id {page}")
        if only is None:
            ids = self.select(pick)
        else:  # one source, by the index: through its id, else its IRI when it is one
            ids = self.select(pick, bind={"id": ox.Literal(only)})
            if not ids and _is_iri(only):
                ids = self.select(pick, bind={"s": only})
        if not ids:
            return []
        rows: dict[str, dict[str, Any]] = {}
        for values in iri_batches(str(r["s"]) for r in ids):
            for r in self.select(
                f"""
                SELECT ?s ?title ?publisher (isIRI(?publisher) AS ?publisherIri) ?issued ?submitted
                       (GROUP_CONCAT(DISTINCT STR(?type); separator=" ") AS ?types)
                WHERE {{
                  VALUES ?s {{ {values} }}
                  {"".join(lateral_optional(str(SOURCES_GRAPH), "s", p, v) for p, v in
                           (("a", "type"), ("dcterms:title", "title"), ("dcterms:publisher", "publisher"),
                            ("dcterms:issued", "issued"), ("dcterms:dateSubmitted", "submitted")))}
                }} GROUP BY ?s ?title ?publisher ?issued ?submitted
                """
            ):
                rows.setdefault(r["s"], r)
        publishers = " ".join(sorted({f"<{r['publisher']}>" for r in rows.values() if r["publisherIri"]}))
        names = {
            r["p"]: r["label"]
            for r in self.select(f"SELECT ?p (MIN(STR(?l)) AS ?label) WHERE {{ VALUES ?p {{ {publishers} }} ?p rdfs:label ?l }} GROUP BY ?p")
        } if publishers else {}
        if only is None and limit is None and not offset:  # all of them: one pass over the claims
            where = "GRAPH ?g { ?c a fimi:Claim }"
        else:
            graphs = " ".join(f"<{source_graph(str(r['id']))}>" for r in ids)
            where = f"VALUES ?g {{ {graphs} }} LATERAL {{ SELECT ?g ?c WHERE {{ GRAPH ?g {{ ?c a fimi:Claim }} }} }}"
        counts = {r["g"]: int(r["n"]) for r in self.select(f"SELECT ?g (COUNT(?c) AS ?n) WHERE {{ {where} }} GROUP BY ?g")}
        seen: dict[str, SourceInfo] = {}
        for i in ids:
            sid, r = str(i["id"]), rows[i["s"]]
            if sid in seen:
                continue
            seen[sid] = SourceInfo(
                id=sid,
                iri=str(i["s"]),
                title=_opt(r["title"]),
                publisher=names.get(r["publisher"]) or _opt(r["publisher"]),
                issued=_opt(r["issued"]),
                types=tuple(sorted(str(r["types"] or "").split())),
                claims=counts.get(str(source_graph(sid)), 0),
                submitted=_opt(r["submitted"]),
            )
        return list(seen.values())

    def source(self, sid: str) -> SourceInfo:
        """One source by id (or by IRI)."""
        for info in self.sources(only=sid):
            return info
        raise NotFound(f"no source with id {sid!r} is loaded (see `fimigraph sources` or GET /sources)")

    def has_source(self, source_iri: str) -> bool:
        """Whether a source with this IRI is loaded."""
        return _is_iri(source_iri) and self.ask(f"ASK {{ GRAPH <{SOURCES_GRAPH}> {{ ?s <{DCTERMS.identifier}> ?id }} }}",
                                                 bind={"s": source_iri})

    def named_graphs(self) -> Iterator[str]:
        """The IRIs of the store's named graphs."""
        for g in self.ox.named_graphs():
            yield g.value


_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)
"""The opening of a query's (outermost, since it comes first) ``WHERE`` group."""


def iri_batches(iris: Iterable[str], size: int = 2000) -> Iterator[str]:
    """IRIs as the bodies of ``VALUES`` blocks of at most ``size`` (one huge block makes a slow query)."""
    iris = list(iris)
    for i in range(0, len(iris), size):
        yield " ".join(f"<{x}>" for x in iris[i:i + size])


def lateral_optional(graph: str, node: str, prop: str, var: str) -> str:
    """``OPTIONAL { GRAPH <graph> { ?node prop ?var } }``, looked up row by row (``?node`` must be bound).

    A plain OPTIONAL makes pyoxigraph evaluate its pattern over the whole graph before the
    join (20 ms for one conflict at 100k triples, against 0.2 ms this way).
    """
    return f"LATERAL {{ OPTIONAL {{ SELECT ?{node} ?{var} WHERE {{ GRAPH <{graph}> {{ ?{node} {prop} ?{var} }} }} }} }}\n"


def _is_iri(text: str) -> bool:
    """Whether ``text`` is an IRI (as pyoxigraph checks it)."""
    try:
        ox.NamedNode(text)
    except ValueError:
        return False
    return True


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def _py(term: Any) -> Any:
    """A pyoxigraph term as a plain Python value (IRIs and literals as strings, numbers and booleans as such)."""
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        dt = term.datatype.value
        if dt.endswith(("#integer", "#int", "#long")):
            return int(term.value)
        if dt.endswith(("#decimal", "#double", "#float")):
            return float(term.value)
        if dt.endswith("#boolean"):
            return term.value in ("true", "1")
        return term.value
    return term.value


def _store_open_reason(path: Path | None, exc: OSError) -> str:
    text = str(exc)
    if "lock" in text.lower():
        return f"the store at {path} is in use by another process (is `fimigraph serve` running on it?)"
    return f"cannot open the store at {path}: {text}"

