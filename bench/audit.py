"""What the change log costs: a change with and without its record, and ``GET /changes`` for one day of changes.

    .venv/bin/python bench/audit.py --triples 1M [--seed 42] [--rounds 3] [--day 100] [--history 10000] [--json]

On a generated world (``fimigraph generate``, bulk-loaded and reasoned as ``bench/run.py`` does, kept
under ``bench/out/store-audit-<size>-s<seed>``), further reports of the same world
(``generate.extra_source``) are added and retracted one by one, each once with the change log and
once without, in alternating order: without is the store's change as ``reason.apply`` makes it
(``prepare_put`` / ``prepare_retract``, then ``apply``); with is what the API and CLI do
(``ingest.write_document`` / ``ingest.retract``: the document kept as received, the effect on the
conclusions computed from the engine's delta and written in the same transaction). Then ``--day``
changes are made (adds and retracts, logged) after ``--history`` older changes, backdated, and
``GET /changes?since=<the day's start>`` is timed through FastAPI's TestClient. The machine's load
average is printed with each phase: on a shared machine, compare the two variants, not runs.
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

SOURCES = 8
"""Further reports added and retracted (what follows from one varies a lot)."""


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


def change_cost(store: Any, *, size: int, seed: int, rounds: int) -> dict[str, Any]:
    """Each extra source added and retracted ``rounds`` times with the log and as many without, alternating."""
    from fimigraph import reason
    from fimigraph.generate import extra_source
    from fimigraph.ingest import read_document, retract, write_document

    def plain(doc: Any) -> tuple[float, float]:
        add, _ = _timed(lambda: reason.apply(store, store.prepare_put(doc.source_iri, doc.metadata, doc.claims, replace=False)))
        gone, _ = _timed(lambda: reason.apply(store, store.prepare_retract(doc.id)[1]))
        return add, gone

    def logged(doc: Any) -> tuple[float, float]:
        add, _ = _timed(write_document, store, doc, actor="bench")
        gone, _ = _timed(retract, store, doc.id, actor="bench")
        return add, gone

    runs = []
    for n in range(SOURCES):
        _, turtle = extra_source(triples=size, seed=seed, n=n)
        doc = read_document(turtle.encode(), media_type="text/turtle")
        times: dict[str, list[tuple[float, float]]] = {"plain": [], "logged": []}
        for r in range(rounds):
            order = ("plain", "logged") if r % 2 == 0 else ("logged", "plain")  # the store's drift falls on both
            for variant in order:
                times[variant].append((plain if variant == "plain" else logged)(doc))
        run = {"source_triples": len(doc.metadata) + len(doc.claims)}
        for variant, pairs in times.items():
            run[f"{variant}_add"] = statistics.median(a for a, _ in pairs)
            run[f"{variant}_retract"] = statistics.median(g for _, g in pairs)
        runs.append(run)
        _say(f"source {n}: add {run['plain_add']:.3f} → {run['logged_add']:.3f} s, "
             f"retract {run['plain_retract']:.3f} → {run['logged_retract']:.3f} s")

    def total(key: str) -> float:
        return sum(r[key] for r in runs)

    return {
        "runs": runs,
        "add_plain_median": statistics.median(r["plain_add"] for r in runs),
        "add_logged_median": statistics.median(r["logged_add"] for r in runs),
        "retract_plain_median": statistics.median(r["plain_retract"] for r in runs),
        "retract_logged_median": statistics.median(r["logged_retract"] for r in runs),
        "overhead_add": total("logged_add") / total("plain_add") - 1,
        "overhead_retract": total("logged_retract") / total("plain_retract") - 1,
        "overhead_all": (total("logged_add") + total("logged_retract")) / (total("plain_add") + total("plain_retract")) - 1,
    }


def backdate_history(store: Any, count: int, *, effects: int = 5, batch: int = 500) -> float:
    """``count`` older changes, one a minute before today, each with ``effects`` effects: a log with a past."""
    from fimigraph.changelog import Note, new_change, record_sparql
    from fimigraph.effects import Effect
    from fimigraph.vocab import BASE

    start = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(minutes=count + 1)
    started = time.perf_counter()
    for first in range(0, count, batch):
        parts = []
        for k in range(first, min(first + batch, count)):
            source = f"{BASE}bench/history/{k % 97}"
            note = Note("ingest", source, f"history-{k % 97}", "bench", new_change(), started=start + timedelta(minutes=k),
                        source_label=f"an earlier report {k % 97}", triples_added=100, claims_added=8)
            found = [Effect("added", f"{BASE}inferred/bench-{k}-{e}", "https://w3id.org/fimigraph/ontology#AttributionLink",
                            f"{BASE}bench/subject/{(k * 7 + e) % 1000}", f"{BASE}bench/state/{e}",
                            grade_after="https://w3id.org/fimigraph/ontology#PartyLinked", confidence_after=40)
                     for e in range(effects)]
            parts.append(record_sparql(note, found, inferred_added=50, inferred_removed=0))
        store.update(" ;\n".join(parts))
    return time.perf_counter() - started


def day_of_changes(store: Any, *, size: int, seed: int, count: int) -> datetime:
    """``count`` logged changes (extra sources added and retracted in turn); when the first began."""
    from fimigraph.generate import extra_source
    from fimigraph.ingest import read_document, retract, write_document

    since = datetime.now(timezone.utc)
    docs = [read_document(extra_source(triples=size, seed=seed, n=n)[1].encode(), media_type="text/turtle") for n in range(SOURCES)]
    for k in range(count // 2):
        doc = docs[k % len(docs)]
        write_document(store, doc, actor="bench")
        retract(store, doc.id, actor="bench")
    return since


def changes_speed(store: Any, since: datetime, *, repeat: int = 30) -> dict[str, Any]:
    """``GET /changes?since=…`` (all of the day's changes, one page) through the API, after one warm-up."""
    from fastapi.testclient import TestClient

    from fimigraph.api.app import create_app
    from fimigraph.settings import Settings

    results = {}
    with TestClient(create_app(Settings(store=store.path), store=store)) as client:
        queries = {"day": {"since": since.isoformat()}}
        subject = client.get("/changes", params=queries["day"]).json()
        busiest = max((e["subject"] for c in subject for e in c["effects"]), key=lambda s: sum(
            e["subject"] == s for c in subject for e in c["effects"]), default=None)
        if busiest:
            queries["day, one subject"] = {"since": since.isoformat(), "subject": busiest}
        for name, params in queries.items():
            client.get("/changes", params=params)
            samples, body = [], None
            for _ in range(repeat):
                took, body = _timed(client.get, "/changes", params=params)
                samples.append(took * 1000)
            samples.sort()
            results[name] = {"p50_ms": round(samples[len(samples) // 2], 1), "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 1),
                             "changes": int(body.headers["x-total-count"]), "bytes": len(body.content)}
    return results


def main() -> int:
    """Run the bench and print a summary (or JSON)."""
    from fimigraph.generate import parse_count

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", default="1M")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rounds", type=int, default=3, help="adds and retracts of each source, per variant")
    parser.add_argument("--day", type=int, default=100, help="changes in the day /changes is asked about")
    parser.add_argument("--history", type=int, default=10000, help="older changes in the log before that day")
    parser.add_argument("--fresh", action="store_true", help="load and reason the store again")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    size = parse_count(args.triples)
    store = _store(size, args.triples, args.seed, args.fresh)
    result: dict[str, Any] = {"triples": args.triples, "seed": args.seed, "cores": os.cpu_count()}
    _say("changes with and without the log")
    result["load_before"] = _load()
    result["change"] = change_cost(store, size=size, seed=args.seed, rounds=args.rounds)
    result["load_after_changes"] = _load()
    since = day_of_changes(store, size=size, seed=args.seed, count=args.day)
    _say(f"/changes, a day of {args.day} changes and no older ones")
    result["changes_day_only"] = changes_speed(store, since)
    _say(f"backdating {args.history} older changes")
    result["history_seconds"] = backdate_history(store, args.history)
    _say(f"/changes, a day of {args.day} changes after {args.history} older ones")
    result["changes_with_history"] = changes_speed(store, since)
    result["load_after"] = _load()
    store.flush()
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    c = result["change"]
    print(f"add: {c['add_plain_median']:.3f} s without the log, {c['add_logged_median']:.3f} s with (median of {SOURCES} sources); "
          f"retract: {c['retract_plain_median']:.3f} → {c['retract_logged_median']:.3f} s; "
          f"overhead (sums): add {c['overhead_add']:+.1%}, retract {c['overhead_retract']:+.1%}, all {c['overhead_all']:+.1%}")
    for name in ("changes_day_only", "changes_with_history"):
        for query, r in result[name].items():
            print(f"/changes ({name}, {query}): p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, {r['changes']} changes, {r['bytes']} bytes")
    print(f"machine: {result['load_before']} before, {result['load_after']} after")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
