"""Need-to-know: what a caller of each TLP clearance may read, kept as a store of its own.

Every stored triple has a marking: a source's triples its source's, a claim's (or any node's)
the most restrictive of its own and its source's, a skolemized node's that of the node that
points to it, an inferred node's its own (a derivation's, its conclusion's). A caller of
clearance *c* reads a store that holds exactly the triples marked *c* or below, under the same
graph names as the whole store: every read path (``/sparql`` however written, attribution,
explanations, sources, STIX, the change log) runs unchanged on it, and what it does not hold
no query can reach.

Why copies rather than a restricted dataset (measured on a 100k world, 870 graphs, bench in
``docs/need-to-know.md``): a dataset naming the visible graphs one by one makes pyoxigraph
look each pattern up graph by graph — the shipped questions ran 2 to 143 times slower — and
cannot hide a restricted claim inside a visible source's graph, nor a restricted conclusion
inside the inferred graph, whose name the shipped questions use. A copy costs disk and writes,
not reads: a question on a copy runs as on the whole store, over less.

Copies are made per *band*: the markings present in the store, but the most restrictive, each
name a copy of everything at or below it; a caller reads the copy of the most restrictive
marking present within its clearance, or the whole store when its clearance covers every
marking present (an all-CLEAR store has no copies). Copies live in ``views/`` inside the
store's folder. Each records the *generation* of the store it shows (the count of completed
writes, noted in the store with each write); a copy behind its store is built again when the
store is next opened for writing. A change is written to the store first, then to each copy:
in between, a caller reads its copy as of the change before, never more than its clearance.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from .errors import ConfigError, StoreError
from .ontology import marking_ranks, notations
from .vocab import DCTERMS, FIMI, INFERRED_GRAPH, ONTOLOGY_GRAPH, SKOLEM, SOURCE_GRAPH_PREFIX, SOURCES_GRAPH

log = logging.getLogger("fimigraph.views")

FOLDER = "views"
"""The folder, inside the store's, that holds the copies."""

_MARKING = str(FIMI.marking)
_DERIVATION_OF = str(FIMI.derivationOf)
_IDENTIFIER = str(DCTERMS.identifier)
_SKOLEM = SKOLEM["authority"] + SKOLEM["basepath"]


@cache
def _ranks() -> dict[str, int]:
    return marking_ranks()


def most_restrictive() -> int:
    """The rank of TLP:RED: a caller cleared for it sees everything."""
    return max(_ranks().values())


def rank_of(marking: str | None) -> int:
    """A marking's rank (an IRI; None is TLP:CLEAR); an unknown one ranks as the most restrictive (fail closed)."""
    if marking is None:
        return 0
    return _ranks().get(marking, most_restrictive())


def notation(rank: int) -> str:
    """``TLP:AMBER`` for a rank."""
    return next(notations()[m] for m, r in _ranks().items() if r == rank)


def parse_clearance(text: str) -> int:
    """A clearance as written by a person (``TLP:AMBER+STRICT``, ``amber+strict``, ``amber-strict``, ``red``): its rank."""
    wanted = re.sub(r"^tlp[:_-]?", "", text.strip().lower()).replace("_", "+").replace("-", "+")
    for marking, rank in _ranks().items():
        if notations()[marking].lower().removeprefix("tlp:") == wanted:
            return rank
    raise ConfigError(f"unknown TLP clearance {text!r}: one of " + ", ".join(notation(r) for r in sorted(set(_ranks().values()))))


# -- the marking of each quad ---------------------------------------------------------------------


def source_ranks(quads: Iterable[ox.Quad]) -> list[tuple[ox.Quad, int]]:
    """The quads of one source (its metadata and its graph), each with its marking's rank."""
    quads = list(quads)
    source_rank = max((rank_of(q.object.value) for q in quads
                       if q.graph_name.value == str(SOURCES_GRAPH) and q.predicate.value == _MARKING), default=0)
    own: dict[ox.Term, int] = {}
    for q in quads:
        if q.predicate.value == _MARKING and q.graph_name.value != str(SOURCES_GRAPH):
            own[q.subject] = max(own.get(q.subject, 0), rank_of(q.object.value))
    return list(zip(quads, _node_ranks(quads, own, source_rank)))


def document_rank(graph: Graph) -> int:
    """The most restrictive marking a document carries (its source's or a claim's)."""
    return max((rank_of(str(m)) for m in graph.objects(None, FIMI.marking)), default=0)


def _node_ranks(quads: list[ox.Quad], own: dict[ox.Term, int], base: int) -> list[int]:
    """Each quad's rank: the most restrictive of ``base``, its subject's own marking and, for a skolemized subject, the nodes pointing to it."""
    rank = {node: max(base, r) for node, r in own.items()}
    # A skolemized node (a blank node as written) says nothing without the node that points to it:
    # it takes that node's marking, down any depth.
    changed = True
    while changed:
        changed = False
        for q in quads:
            o = q.object
            if isinstance(o, ox.NamedNode) and o.value.startswith(_SKOLEM):
                r = rank.get(q.subject, base)
                if r > rank.get(o, base):
                    rank[o] = r
                    changed = True
    return [rank.get(q.subject, base) for q in quads]


def inferred_rank(node: object, marking_of: Callable[[object], str | None], conclusion_of: Callable[[object], object]) -> int:
    """An inferred node's rank: its own marking, or its conclusion's for a derivation; unmarked, the most restrictive."""
    marking = marking_of(node)
    if marking is None:
        conclusion = conclusion_of(node)
        marking = marking_of(conclusion) if conclusion is not None else None
    return rank_of(marking) if marking is not None else most_restrictive()


def _visible(store: ox.Store, rank: int) -> Iterator[ox.Quad]:
    """Every quad of ``store`` marked ``rank`` or below: sources with their metadata, the inferred graph, the ontology."""
    meta: dict[ox.Term, list[ox.Quad]] = defaultdict(list)
    for q in store.quads_for_pattern(None, None, None, ox.NamedNode(str(SOURCES_GRAPH))):
        meta[q.subject].append(q)
    ontology = ox.NamedNode(str(ONTOLOGY_GRAPH))
    yield from meta.pop(ontology, [])  # the note of which ontology the store holds
    yield from store.quads_for_pattern(None, None, None, ontology)
    for source, described in meta.items():
        sid = next((q.object.value for q in described if q.predicate.value == _IDENTIFIER), None)
        if sid is None:  # the store's own notes: each copy keeps its own
            continue
        quads = [*described, *store.quads_for_pattern(None, None, None, ox.NamedNode(SOURCE_GRAPH_PREFIX + sid))]
        yield from (q for q, r in source_ranks(quads) if r <= rank)
    yield from _visible_inferred(store, ox.NamedNode(str(INFERRED_GRAPH)), rank)
    # Any other graph (of no source) is not shown.


def _visible_inferred(store: ox.Store, graph: ox.NamedNode, rank: int) -> Iterator[ox.Quad]:
    markings = {q.subject: q.object.value for q in store.quads_for_pattern(None, ox.NamedNode(_MARKING), None, graph)}
    conclusions = {q.subject: q.object for q in store.quads_for_pattern(None, ox.NamedNode(_DERIVATION_OF), None, graph)}
    ranks: dict[ox.Term, int] = {}
    for q in store.quads_for_pattern(None, None, None, graph):
        r = ranks.get(q.subject)
        if r is None:
            r = ranks[q.subject] = inferred_rank(q.subject, markings.get, conclusions.get)
        if r <= rank:
            yield q


# -- the copies -------------------------------------------------------------------------------------


def present_ranks(store: ox.Store) -> set[int]:
    """The ranks of the markings a store holds (TLP:CLEAR always: what carries no marking)."""
    found = store.query(f"SELECT DISTINCT ?m WHERE {{ GRAPH ?g {{ ?x <{_MARKING}> ?m }} }}")
    return {0} | {rank_of(row["m"].value) for row in found}


class Views:
    """The copies of one store, one per band below its most restrictive marking present."""

    def __init__(self, main: ox.Store, folder: Path | None, *, read_only: bool = False) -> None:
        self.main = main
        self.folder = folder
        self.read_only = read_only
        self.stores: dict[int, ox.Store] = {}
        self.present: set[int] = present_ranks(main)
        if folder is not None and folder.is_dir():
            for path in folder.iterdir():
                rank = _rank_of_folder(path.name)
                if rank is not None:
                    self.stores[rank] = self._open(path)

    # -- reading

    def store_for(self, clearance: int) -> ox.Store:
        """The store a caller of this clearance reads: the whole one, or the copy of its band."""
        if clearance >= max(self.present):
            return self.main
        band = max(r for r in self.present if r <= clearance)
        store = self.stores.get(band)
        if store is None:  # never expected: each band's copy is made before the marking above it is written
            raise StoreError(f"the {notation(band)} view of the store is missing; reopen the store to rebuild it")
        return store

    def path_for(self, clearance: int, main: Path) -> Path:
        """The folder of the store a caller of this clearance reads (for processes that open it themselves)."""
        if clearance >= max(self.present):
            return main
        band = max(r for r in self.present if r <= clearance)
        assert self.folder is not None
        return self.folder / _folder_name(band)

    # -- writing

    def expect(self, ranks: Iterable[int], *, generation: int) -> None:
        """Before a write that brings these markings: make the copies every band will then need, from the store as it is."""
        present = self.present | set(ranks)
        for band in sorted(r for r in present if r < max(present)):
            if band not in self.stores:
                self._build(band, generation=generation)
        self.present = present

    def apply(self, added: Iterable[tuple[ox.Quad, int]], removed: Iterable[ox.Quad], *, generation: int) -> None:
        """Write a change the store has taken to each copy: what is removed, and what is added within its band."""
        added, removed = list(added), list(removed)
        for band, store in sorted(self.stores.items()):
            visible = [q for q, r in added if r <= band]
            try:
                parts = [_data("DELETE", removed), _data("INSERT", visible), _generation_sparql(generation)]
                store.update(" ;\n".join(p for p in parts if p))
            except OSError as exc:
                # The copy is behind its store now: it is built again when the store is next opened.
                raise StoreError(f"the {notation(band)} view could not be written: {exc}") from exc

    def rebuild(self, *, generation: int) -> None:
        """Make every copy again from the store (after the inferred graph was derived again, or a bulk load)."""
        self.present = present_ranks(self.main)
        for band in sorted(r for r in self.present if r < max(self.present)):
            self._build(band, generation=generation)

    def sync(self, *, generation: int) -> list[int]:
        """Build again each copy that is missing or behind the store; the bands built."""
        self.present = present_ranks(self.main)
        stale = [band for band in sorted(r for r in self.present if r < max(self.present))
                 if band not in self.stores or _generation(self.stores[band]) != generation]
        for band in stale:
            self._build(band, generation=generation)
        return stale

    def flush(self) -> None:
        """Make sure each copy's writes are on disk."""
        if self.folder is not None and not self.read_only:
            for store in self.stores.values():
                store.flush()

    def optimize(self) -> None:
        """Compact each copy."""
        if self.folder is not None and not self.read_only:
            for store in self.stores.values():
                store.optimize()

    def _open(self, path: Path) -> ox.Store:
        try:
            return ox.Store.read_only(str(path)) if self.read_only else ox.Store(str(path))
        except OSError as exc:
            raise StoreError(f"cannot open the view at {path}: {exc}") from exc

    def _build(self, band: int, *, generation: int) -> None:
        """Make the copy of one band: everything the store holds at or below it."""
        if self.read_only:
            raise StoreError("the store's views are behind it; open it for writing once to bring them up to date")
        log.info("building the %s view of the store", notation(band))
        if self.folder is None:
            copy = ox.Store()
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            final, scratch = self.folder / _folder_name(band), self.folder / f".building-{_folder_name(band)}"
            shutil.rmtree(scratch, ignore_errors=True)
            copy = ox.Store(str(scratch))
        copy.bulk_extend(_visible(self.main, band))
        copy.update(_generation_sparql(generation))
        if self.folder is not None:
            copy.flush()
            del copy
            self.stores.pop(band, None)  # the old copy closes before its folder goes
            shutil.rmtree(final, ignore_errors=True)
            scratch.rename(final)
            copy = self._open(final)
        self.stores[band] = copy


def _folder_name(rank: int) -> str:
    return re.sub(r"[^a-z]+", "-", notation(rank).lower()).strip("-")


def _rank_of_folder(name: str) -> int | None:
    return next((r for r in set(_ranks().values()) if _folder_name(r) == name), None)


def _data(verb: str, quads: list[ox.Quad]) -> str:
    """``INSERT DATA`` or ``DELETE DATA`` of quads, a ``GRAPH`` block each graph."""
    graphs: dict[str, list[ox.Triple]] = defaultdict(list)
    for q in quads:
        graphs[q.graph_name.value].append(q.triple)
    blocks = "".join(f" GRAPH <{g}> {{\n{ox.serialize(ts, format=ox.RdfFormat.N_TRIPLES).decode()}}}\n"
                     for g, ts in graphs.items())
    return f"{verb} DATA {{\n{blocks}}}" if blocks else ""


_GENERATION = f"GRAPH <{SOURCES_GRAPH}> {{ <{SOURCES_GRAPH}> <{FIMI.generation}>"


def generation_bump_sparql() -> str:
    """The update that counts one more completed write of the store (its generation)."""
    return (f"DELETE {{ {_GENERATION} ?n }} }} INSERT {{ {_GENERATION} ?next }} }} "
            f"WHERE {{ OPTIONAL {{ {_GENERATION} ?n }} }} BIND(COALESCE(?n, 0) + 1 AS ?next) }}")


def _generation_sparql(generation: int) -> str:
    return f"DELETE WHERE {{ {_GENERATION} ?n }} }} ;\nINSERT DATA {{ {_GENERATION} {int(generation)} }} }}"


def _generation(store: ox.Store) -> int | None:
    rows = list(store.query(f"SELECT ?n WHERE {{ {_GENERATION} ?n }} }}"))
    return int(rows[0]["n"].value) if len(rows) == 1 else None


def generation(store: ox.Store) -> int:
    """How many completed writes the store has had (0: none noted)."""
    return _generation(store) or 0
