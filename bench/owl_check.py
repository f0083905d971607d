"""What the OWL check (HermiT, ``fimigraph check``, ``FIMIGRAPH_OWL_CHECK``) costs: per source, and on ingest.

Run: ``.venv/bin/python bench/owl_check.py [OUT_DIR]``. Prints one JSON object: for each document
its triples, the triples HermiT reads, individuals and seconds (median of 3 runs), and the seed
case's ingest with and without the check.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rdflib import Dataset, Graph

from fimigraph.consistency import check, owl_statements
from fimigraph.disarm import default_paths, incidents_document
from fimigraph.generate import generate
from fimigraph.ingest import ingest, parse_document
from fimigraph.resources import data_dir
from fimigraph.store import GraphStore


def _timed(graph: Graph) -> dict[str, float | int]:
    runs = [check(graph) for _ in range(3)]
    assert all(r.consistent for r in runs), runs[0]
    return {"triples": len(graph), "owl_triples": len(owl_statements(graph)), "individuals": runs[0].individuals,
            "seconds": round(statistics.median(r.seconds for r in runs), 2)}


def main(out: Path) -> dict[str, object]:
    """Measure and return the figures."""
    seed = sorted((data_dir() / "cases" / "boycottparis2024").glob("*.ttl"))
    docs = {p.name: Graph().parse(p) for p in seed}
    docs["opencti sample (STIX)"] = parse_document((data_dir() / "samples" / "stix" / "boycottparis2024-opencti.json").read_bytes(),
                                                   media_type="application/stix+json")[0]
    docs["DISARM incidents"] = incidents_document(*default_paths())[0]
    for size in (10_000, 100_000):  # a whole generated world as if it were one source
        path = out / f"gen-{size}.nq"
        generate(path, triples=size, seed=42)
        world = Graph()
        for s, p, o, _ in Dataset().parse(path, format="nquads").quads():
            world.add((s, p, o))
        docs[f"generated world, {size // 1000}k triples"] = world
    figures: dict[str, object] = {name: _timed(g) for name, g in docs.items()}
    ingests = {}
    for owl in (False, True):
        times = []
        for _ in range(3):
            store = GraphStore(Path(tempfile.mkdtemp(dir=out)) / "store")
            started = time.perf_counter()
            for p in seed:
                ingest(store, p.read_bytes(), media_type="text/turtle", owl_check=owl)
            times.append(time.perf_counter() - started)
        ingests["with check" if owl else "without"] = round(statistics.median(times), 2)
    figures["seed case ingest (2 sources)"] = ingests
    return figures


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())), indent=1))
