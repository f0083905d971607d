"""What DESIGN §4's link identity costs a reasoned store, against one link per (subject, state, grade).

    .venv/bin/python bench/link_identity.py bench/out/store-1M-s42 [--write]

A link is identified by its rule and premises (DESIGN §4), so each restating claim and each path
is its own link node. This prints, for a reasoned store (opened read-only):

- its link nodes, and its distinct (subject, state) and (subject, state, grade);
- the chain rule's closure computed over (subject, state, grade) facts instead, in Python from the
  store's step claims and its other rules' links: how many facts, in how many rounds, how long.
  A prototype of the alternative design, not its semantics: it ignores intervals, confidence and
  markings, and a subject is kept out of its own chain only at its first step;
- with ``--write``, how long pyoxigraph's bulk loader takes to write the inferred graph alone into
  an empty store: a bound on any engine that keeps these link nodes.

Results: bench/RESULTS.md, "What bounds a 1M rebuild" (measured 2026-12-01 at 5a8064f).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))  # run from a checkout without installing
from fimigraph.errors import StoreError  # noqa: E402
from fimigraph.store import GraphStore  # noqa: E402
from fimigraph.vocab import FIMIR, INFERRED_GRAPH  # noqa: E402

LINKS = f"GRAPH <{INFERRED_GRAPH}> {{ ?l a fimi:AttributionLink ; fimi:linkSubject ?s ; fimi:linkTarget ?t ; fimi:grade ?g ; fimi:rule ?r }}"


def timed(store: GraphStore, query: str) -> tuple[list[tuple[Any, ...]], float]:
    """The rows of a SELECT (as tuples of Python values), and its seconds."""
    started = time.perf_counter()
    rows = [tuple(row.values()) for row in store.select(query)]
    return rows, time.perf_counter() - started


def count(store: GraphStore, select: str) -> tuple[int, float]:
    """How many distinct rows ``SELECT DISTINCT {select}`` over the links has, and its seconds."""
    rows, secs = timed(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ SELECT DISTINCT {select} WHERE {{ {LINKS} }} }}")
    return rows[0][0], secs


def closure(store: GraphStore) -> list[tuple[str, str]]:
    """The chain rule over (subject, state, grade) facts: what it reads, derives and costs."""
    rank = dict(timed(store, "SELECT ?g ?r WHERE { ?g fimi:rank ?r }")[0])
    steps, read_steps = timed(store, """SELECT ?s ?y ?cap WHERE {
      { ?claim fimi:claimPredicate ?p ; fimi:claimSubject ?s ; fimi:claimObject ?y . ?p fimi:stepDirection fimi:Forward }
      UNION { ?claim fimi:claimPredicate ?p ; fimi:claimSubject ?y ; fimi:claimObject ?s . ?p fimi:stepDirection fimi:Backward }
      ?p fimi:stepCap ?cap }""")
    states = {row[0] for row in timed(store, "SELECT DISTINCT ?x WHERE { ?x a fimi:State }")[0]}
    base, read_base = timed(store, f"SELECT DISTINCT ?s ?t ?g WHERE {{ {LINKS} FILTER(?r != <{FIMIR['chain']}>) }}")
    base = [row for row in base if row[1] in states]
    started = time.perf_counter()
    by_object: dict[str, list[tuple[str, str]]] = {}
    for subject, obj, cap in steps:
        by_object.setdefault(obj, []).append((subject, cap))
    facts = {(s, t, g) for s, t, g in base}
    delta, rounds = set(facts), 0
    while delta:  # semi-naive: only the last round's facts are extended
        rounds += 1
        new = set()
        for y, state, grade in delta:
            for subject, cap in by_object.get(y, ()):
                if subject not in (y, state):
                    fact = (subject, state, grade if rank[grade] >= rank[cap] else cap)  # the weaker grade
                    if fact not in facts:
                        new.add(fact)
        facts |= new
        delta = new
    return [
        ("step claims read", f"{len(steps):,} in {read_steps:.1f} s"),
        ("other rules' (subject, state, grade) read", f"{len(base):,} in {read_base:.1f} s (scans every link node)"),
        ("closure over (subject, state, grade)", f"{len(facts):,} facts, {rounds} rounds, {time.perf_counter() - started:.2f} s"),
    ]


def write_bound(store: GraphStore) -> list[tuple[str, str]]:
    """How long dumping the inferred graph, and bulk-loading it into an empty store, take."""
    graph = ox.NamedNode(str(INFERRED_GRAPH))
    with tempfile.TemporaryDirectory() as scratch:
        dump = Path(scratch) / "inferred.nt"
        started = time.perf_counter()
        store.ox.dump(str(dump), format=ox.RdfFormat.N_TRIPLES, from_graph=graph)
        dumped = time.perf_counter() - started
        target = ox.Store(str(Path(scratch) / "store"))
        started = time.perf_counter()
        target.bulk_load(path=str(dump), format=ox.RdfFormat.N_TRIPLES, to_graph=graph)
        loaded = time.perf_counter() - started
        size = len(target)
        del target  # closed before its folder goes
    return [("inferred graph dumped", f"{dumped:.1f} s"), ("bulk-loaded into an empty store", f"{size:,} triples in {loaded:.1f} s")]


def main(argv: list[str] | None = None) -> int:
    """Print the table for the reasoned store given."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("store", help="a reasoned store's folder (e.g. bench/out/store-1M-s42)")
    parser.add_argument("--write", action="store_true", help="also time writing the inferred graph alone (dumps it to a temporary file)")
    opts = parser.parse_args(argv)
    try:
        store = GraphStore(opts.store, read_only=True)
    except StoreError as exc:
        parser.error(f"{exc} (bench/run.py keeps its reasoned stores in bench/out/)")
    links, secs = timed(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{INFERRED_GRAPH}> {{ ?l a fimi:AttributionLink }} }}")
    rows = [("link nodes", f"{links[0][0]:,} ({secs:.1f} s)")]
    for label, select in (("distinct (subject, state)", "?s ?t"), ("distinct (subject, state, grade)", "?s ?t ?g")):
        n, secs = count(store, select)
        rows.append((label, f"{n:,} ({secs:.1f} s)"))
    rows += closure(store)
    if opts.write:
        rows += write_bound(store)
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
