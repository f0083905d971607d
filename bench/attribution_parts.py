"""Where ``/attribution`` spends its time: the answer for random subjects, and each of its queries.

    .venv/bin/python bench/attribution_parts.py bench/out/store-1M-s42 --subjects 30

Opens the store read-only, picks ``--subjects`` subjects of links at random (``--seed``), answers
each once to warm the store, then times ``fimigraph.attribution.attribution`` on each and, per
function of that module that queries the store, the time its queries took. Prints a table.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))  # run from a checkout without installing

from fimigraph import attribution as attribution_module  # noqa: E402
from fimigraph.store import GraphStore  # noqa: E402

SUBJECTS = """SELECT DISTINCT ?s WHERE { GRAPH <https://w3id.org/fimigraph/graph/inferred> { ?l fimi:linkSubject ?s } } LIMIT 1000"""


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--subjects", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    opts = parser.parse_args()
    store = GraphStore(opts.store, read_only=True)
    subjects = [r["s"] for r in store.select(SUBJECTS)]
    subjects = random.Random(opts.seed).sample(subjects, min(opts.subjects, len(subjects)))
    for subject in subjects:
        attribution_module.attribution(store, subject)

    spent: dict[str, float] = defaultdict(float)
    select = GraphStore.select

    def timed(self: GraphStore, *args: object, **kwargs: object) -> object:
        started = time.perf_counter()
        rows = select(self, *args, **kwargs)
        spent[sys._getframe(1).f_code.co_name] += time.perf_counter() - started
        return rows

    GraphStore.select = timed  # type: ignore[method-assign]
    started = time.perf_counter()
    for subject in subjects:
        attribution_module.attribution(store, subject)
    total = (time.perf_counter() - started) / len(subjects) * 1000
    print(f"| {opts.store.name}: {len(subjects)} subjects | ms a call |\n| --- | ---: |\n| attribution() | {total:.2f} |")
    for name, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {seconds / len(subjects) * 1000:.2f} |")


if __name__ == "__main__":
    main()
