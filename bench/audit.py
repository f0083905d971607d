"""What the change log costs: a change with and without its record, and ``GET /changes`` for one day of changes.

    .venv/bin/python bench/audit.py --triples 1M [--seed 42] [--sources 8] [--rounds 3] [--day 100] [--history 10000] [--json]

On a generated world (``fimigraph generate``, bulk-loaded and reasoned as ``bench/run.py`` does, kept
under ``bench/out/store-audit-<size>-s<seed>``), further reports of the same world
(``generate.extra_source``) are added and retracted one by one, each once with the change log and
once without, in alternating order: without is the store's change as ``reason.apply`` makes it
(``prepare_put`` / ``prepare_retract``, then ``apply``); with is what the API and CLI do
(``ingest.write_document`` / ``ingest.retract``: the document kept as received, the effect on the
conclusions computed from the engine's delta and written in the same transaction). The log's own
work (keeping the document, computing the effects and the record) is timed apart too, since a
change's time varies far more from one run to the next than that work takes. Then ``--history``
older changes and ``--day`` changes of today are written to the log and its need-to-know views
(records as the changes above wrote them, with as many effects, most CLEAR, some GREEN and AMBER:
up to three records a change), and ``GET /changes?since=<today>`` is timed through FastAPI's
TestClient, for a TLP:RED reader (the whole store) and for the anonymous TLP:CLEAR one (its view). The machine's load average is printed with each phase: on a shared machine, compare
the two variants, not runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
sys.path.insert(0, str(BENCH.parent / "service"))  # run from a checkout without installing

def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} cores"


def _say(text: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {text} ({_load()})", file=sys.stderr, flush=True)


def _store(size: int, label: str, seed: int, fresh: bool) -> Any:
    """The reasoned store of the generated world, with its engine built in this process."""
    import shutil

    import pyoxigraph as ox

    from fimigraph import reason
    from fimigraph.generate import generate
    from fimigraph.store import GraphStore

    OUT.mkdir(exist_ok=True)
    nq = OUT / f"gen-{label}-s{seed}.nq"
    if not nq.exists():
        _say(f"generating {nq.name}")
        generate(nq, triples=size, seed=seed)
    path = OUT / f"store-audit-{label}-s{seed}"
    if fresh or not path.exists():
        shutil.rmtree(path, ignore_errors=True)
        _say("bulk-loading and reasoning")
        store = GraphStore(path)
        store.ox.bulk_load(path=str(nq), format=ox.RdfFormat.N_QUADS)
        store.flush()
        reason.infer(store)  # keeps its engine for the changes below
        return store
    store = GraphStore(path)
    _say("building the engine")
    reason.recover(store)
    reason.prepare(store)
    return store


def _timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - started, result


class _Stopwatch:
    """Time spent in the change log's own work (document kept, effects and record computed), by wrapping it."""

    def __init__(self) -> None:
        from fimigraph import changelog, ingest, originals

        self.seconds = 0.0
        recorder, keep = changelog.recorder, originals.keep

        def timed_recorder(store: Any, note: Any) -> Any:
            record = recorder(store, note)

            def timed(*args: Any) -> Any:
                took, made = _timed(record, *args)
                self.seconds += took
                return made

            return timed

        def timed_keep(store: Any, data: bytes) -> str:
            took, sha = _timed(keep, store, data)
            self.seconds += took
            return sha

        changelog.recorder, ingest.originals.keep = timed_recorder, timed_keep

    def lap(self) -> float:
        """Seconds since the last lap."""
        took, self.seconds = self.seconds, 0.0
        return took


def change_cost(store: Any, *, size: int, seed: int, sources: int, rounds: int) -> dict[str, Any]:
    """Each extra source added and retracted ``rounds`` times with the log and as many without, alternating."""
    from fimigraph import reason
    from fimigraph.generate import extra_source
    from fimigraph.ingest import read_document, retract, write_document

    watch = _Stopwatch()

    def plain(doc: Any) -> tuple[float, float, float]:
        add, _ = _timed(lambda: reason.apply(store, store.prepare_put(doc.source_iri, doc.metadata, doc.claims, replace=False)))
        gone, _ = _timed(lambda: reason.apply(store, store.prepare_retract(doc.id)[1]))
        return add, gone, 0.0

    def logged(doc: Any) -> tuple[float, float, float]:
        add, _ = _timed(write_document, store, doc, actor="bench")
        gone, _ = _timed(retract, store, doc.id, actor="bench")
        return add, gone, watch.lap()

    runs = []
    for n in range(sources):
        _, turtle = extra_source(triples=size, seed=seed, n=n)
        doc = read_document(turtle.encode(), media_type="text/turtle")
        times: dict[str, list[tuple[float, float, float]]] = {"plain": [], "logged": []}
        for r in range(rounds):
            order = ("plain", "logged") if r % 2 == 0 else ("logged", "plain")  # the store's drift falls on both
            for variant in order:
                times[variant].append((plain if variant == "plain" else logged)(doc))
                _say(f"source {n}, round {r}, {variant}: add {times[variant][-1][0]:.3f} s, retract {times[variant][-1][1]:.3f} s")
        run = {"source_triples": len(doc.metadata) + len(doc.claims)}
        for variant, triples in times.items():
            run[f"{variant}_add"] = statistics.median(a for a, _, _ in triples)
            run[f"{variant}_retract"] = statistics.median(g for _, g, _ in triples)
        run["log_work"] = statistics.median(w for _, _, w in times["logged"])  # for an add and a retract
        runs.append(run)

    def total(key: str) -> float:
        return sum(r[key] for r in runs)

    plain_total = total("plain_add") + total("plain_retract")
    return {
        "runs": runs,
        "add_plain_median": statistics.median(r["plain_add"] for r in runs),
        "add_logged_median": statistics.median(r["logged_add"] for r in runs),
        "retract_plain_median": statistics.median(r["plain_retract"] for r in runs),
        "retract_logged_median": statistics.median(r["logged_retract"] for r in runs),
        "overhead": (total("logged_add") + total("logged_retract")) / plain_total - 1,
        "log_work_share": total("log_work") / plain_total,
        "log_work_median_ms": statistics.median(r["log_work"] for r in runs) * 1000,
    }


RANKS = (0, 0, 0, 1, 2)
"""The markings' ranks of the effects of the records written, in turn: most CLEAR, some GREEN and AMBER (records at up to three markings)."""


def write_records(store: Any, count: int, *, start: datetime, effects: list[int]) -> float:
    """``count`` changes in the log, one a second from ``start``, with as many effects as ``effects`` gives in turn, in the store and its views."""
    from fimigraph.changelog import Note, new_change, record
    from fimigraph.effects import Effect
    from fimigraph.views import data_sparql
    from fimigraph.vocab import BASE, FIMI

    started = time.perf_counter()
    generation = store.generation()
    for k in range(count):
        note = Note("ingest", f"{BASE}bench/source/{k % 97}", f"bench-{k % 97}", "bench", new_change(),
                    started=start + timedelta(seconds=k), source_label=f"a report {k % 97}", triples_added=100, claims_added=8)
        found = [Effect("added", f"{BASE}inferred/bench-{k}-{e}", str(FIMI.AttributionLink), f"{BASE}bench/subject/{(k * 7 + e) % 1000}",
                        f"{BASE}bench/state/{e % 20}", grade_after=str(FIMI.PartyLinked), confidence_after=40,
                        subject_label=f"subject {(k * 7 + e) % 1000}", state_label=f"state {e % 20}", rank=RANKS[e % len(RANKS)])
                 for e in range(effects[k % len(effects)])]
        made = record(note, found)
        more, fewer = made.numbered(store.ox)
        store.update(" ;\n".join(p for p in (data_sparql("DELETE", fewer), data_sparql("INSERT", [q for q, _ in made.quads] + more)) if p))
        own = {band: made.numbered(view) for band, view in store.views.stores.items() if band >= made.rank}
        store.views.apply(made.quads, [], generation=generation, own=own)
    return time.perf_counter() - started


def changes_speed(store: Any, since: datetime, *, repeat: int = 30) -> dict[str, Any]:
    """``GET /changes?since=…`` (all of the day's changes, one page) through the API, after one warm-up."""
    from fastapi.testclient import TestClient

    from fimigraph.api.app import create_app
    from fimigraph.settings import Settings

    results = {}
    red = {"Authorization": f"Bearer {store.tokens.add('bench-red', role='reader', clearance='red')[1]}"}
    with TestClient(create_app(Settings(store=store.path), store=store)) as client:
        queries = {"day": {"since": since.isoformat()}}
        subject = client.get("/changes", params=queries["day"], headers=red).json()
        busiest = max((e["subject"] for c in subject for e in c["effects"]), key=lambda s: sum(
            e["subject"] == s for c in subject for e in c["effects"]), default=None)
        if busiest:
            queries["day, one subject"] = {"since": since.isoformat(), "subject": busiest}
        for caller, headers in (("TLP:RED reader", red), ("anonymous, TLP:CLEAR", {})):
            for name, params in queries.items():
                client.get("/changes", params=params, headers=headers)
                samples, body = [], None
                for _ in range(repeat):
                    took, body = _timed(client.get, "/changes", params=params, headers=headers)
                    samples.append(took * 1000)
                samples.sort()
                results[f"{name}, {caller}"] = {
                    "p50_ms": round(samples[len(samples) // 2], 1), "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 1),
                    "changes": int(body.headers["x-total-count"]), "bytes": len(body.content)}
    return results


def main() -> int:
    """Run the bench and print a summary (or JSON)."""
    from fimigraph.changes import changes
    from fimigraph.generate import parse_count

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", default="1M")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--sources", type=int, default=8, help="extra reports added and retracted")
    parser.add_argument("--rounds", type=int, default=3, help="adds and retracts of each source, per variant")
    parser.add_argument("--day", type=int, default=100, help="changes in the day /changes is asked about")
    parser.add_argument("--history", type=int, default=10000, help="older changes in the log before that day")
    parser.add_argument("--fresh", action="store_true", help="load and reason the store again")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    size = parse_count(args.triples)
    store = _store(size, args.triples, args.seed, args.fresh)
    result: dict[str, Any] = {"triples": args.triples, "seed": args.seed, "cores": os.cpu_count(), "load_before": _load()}
    _say("changes with and without the log")
    begun = datetime.now(timezone.utc)
    result["change"] = change_cost(store, size=size, seed=args.seed, sources=args.sources, rounds=args.rounds)
    result["load_after_changes"] = _load()
    # The log's records of those changes tell how many effects a change of this world has.
    effects = [c["effects_total"] for c in changes(store, since=begun, limit=1000)[1]] or [5]
    result["effects_per_change"] = {"median": statistics.median(effects), "max": max(effects), "changes": len(effects)}
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    _say(f"writing {args.history} older changes and {args.day} of today to the log")
    result["history_seconds"] = write_records(store, args.history, start=today - timedelta(days=30), effects=effects)
    day_start = datetime.now(timezone.utc)
    write_records(store, args.day, start=day_start, effects=effects)
    _say(f"/changes, a day of {args.day} changes after {args.history} older ones")
    result["changes"] = changes_speed(store, day_start)
    result["load_after"] = _load()
    store.flush()
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    c = result["change"]
    print(f"add: {c['add_plain_median']:.3f} s without the log, {c['add_logged_median']:.3f} s with (median of {args.sources} sources); "
          f"retract: {c['retract_plain_median']:.3f} → {c['retract_logged_median']:.3f} s; overhead (sums) {c['overhead']:+.1%}; "
          f"the log's own work {c['log_work_median_ms']:.0f} ms a source (add + retract), {c['log_work_share']:.1%} of the changes' time")
    for query, r in result["changes"].items():
        print(f"/changes ({query}): p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, {r['changes']} changes, {r['bytes']} bytes")
    print(f"effects a change: {result['effects_per_change']}; machine: {result['load_before']} before, {result['load_after']} after")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
