"""What need-to-know costs: reads by callers of each clearance against the whole store, writes and a rebuild with and without the views, disk.

    .venv/bin/python bench/need_to_know.py --sizes 100k,1M            # a table on stdout, progress on stderr
    .venv/bin/python bench/need_to_know.py --sizes 100k --json         # the same as JSON
    .venv/bin/python bench/need_to_know.py --sizes 1M --reuse          # on the store a previous run (or bench/run.py) loaded and reasoned

A caller of clearance *c* reads a copy of the store holding what is marked *c* or below (its band's
view, ``GraphStore.for_clearance``); a caller cleared for TLP:RED reads the store itself. This bench
compares the two on the same store, in the same process and the same moments: each request is
sent by every caller in turn (the order rotating from round to round), so that a shared machine's
drift weighs on all of them alike. Every step runs in its own process (``bench/run.py``'s
``run_step``: time caps, peak memory, the load average when it started). See bench/README.md,
"Need-to-know".
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # noqa: E402  (bench/run.py: its steps, helpers and process runner)

SCRIPT = Path(__file__).resolve()
CLEARANCES = "red,amber,clear"
"""The callers compared by default: the whole store (RED), a lower clearance (AMBER), the anonymous reader's (CLEAR)."""
WHOLE = "red"


def _clearances(a: dict[str, Any]) -> list[str]:
    return [c for c in a["clearances"].split(",") if c]


def _rank(clearance: str) -> int:
    from fimigraph.views import parse_clearance

    return parse_clearance(clearance)


def _rounds(callers: list[str], run: Any, *, repeat: int, budget: float, on_round: Any = None) -> dict[str, list[float]]:
    """``run(caller)`` for every caller, round after round (the first caller rotating), ``repeat`` rounds within ``budget`` (at least 3)."""
    samples: dict[str, list[float]] = {c: [] for c in callers}
    spent, n = 0.0, 0
    while n < repeat and (n < 3 or spent < budget):
        for caller in callers[n % len(callers):] + callers[:n % len(callers)]:
            started = time.perf_counter()
            run(caller)
            samples[caller].append(time.perf_counter() - started)
            spent += samples[caller][-1]
        n += 1
        if on_round is not None:
            on_round(n, samples)
    return samples


def _compare(samples: dict[str, list[float]]) -> dict[str, Any]:
    """Percentiles per caller; each caller's p50 over the whole store's (the RED caller's), and the median of its paired ratios.

    A caller's i-th sample and the RED caller's were taken in the same round, moments apart: the
    median of their ratios (``paired``) is what a shared machine's drift disturbs least.
    """
    out = {c: bench._percentiles(s) for c, s in samples.items() if s}
    whole = out.get(WHOLE, {}).get("p50_ms")
    for caller, stats in out.items():
        if whole:
            stats["ratio"] = round(stats["p50_ms"] / whole, 3)
            pairs = [x / w for x, w in zip(samples[caller], samples[WHOLE]) if w > 0]
            stats["paired"] = round(statistics.median(pairs), 3) if pairs else None
    return out


# ======================================================================================
# Steps (each in its own process).


def step_disk(a: dict[str, Any]) -> dict[str, Any]:
    """Bytes and quads of the store and of each view (after the rebuild's compaction)."""
    from fimigraph.views import FOLDER, notation
    from fimigraph.vocab import INFERRED_GRAPH

    def size(path: Path, pattern: str = "*") -> int:
        return sum(f.stat().st_size for f in path.rglob(pattern) if f.is_file())

    root = Path(a["store"])
    store = bench._store(a["store"], read_only=True)
    views = root / FOLDER
    main = size(root) - (size(views) if views.exists() else 0)
    # The tables (.sst) apart: the write-ahead logs come and go with flushes and compactions.
    sst = size(root, "*.sst") - (size(views, "*.sst") if views.exists() else 0)
    out: dict[str, Any] = {"main_bytes": main, "main_sst_bytes": sst, "main_quads": len(store.ox), "views": {}}
    claims = "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { GRAPH ?g { ?c fimi:claimSubject ?s } }"
    links = f"SELECT (COUNT(?l) AS ?n) WHERE {{ GRAPH <{INFERRED_GRAPH}> {{ ?l a fimi:AttributionLink }} }}"
    for rank, view in sorted(store.views.stores.items()):
        reader = store.for_clearance(rank)
        folder = Path(store.views.path_for(rank, root))
        out["views"][notation(rank)] = {"bytes": size(folder), "sst_bytes": size(folder, "*.sst"), "quads": len(view),
                                        "claims": _count(reader, claims), "links": _count(reader, links)}
    out["claims"], out["links"] = _count(store, claims), _count(store, links)
    out["views_bytes"] = sum(v["bytes"] for v in out["views"].values())
    out["views_over_main"] = round(out["views_bytes"] / max(main, 1), 3)
    out["views_sst_bytes"] = sum(v["sst_bytes"] for v in out["views"].values())
    out["views_over_main_sst"] = round(out["views_sst_bytes"] / max(sst, 1), 3)
    return out


def _count(store: Any, sparql: str) -> int:
    return int(next(iter(store.select(sparql)[0].values())))


def step_attribution(a: dict[str, Any]) -> dict[str, Any]:
    """``GET /attribution`` for the same subjects by a caller of each clearance (a bearer token each), interleaved."""
    import random

    from fastapi.testclient import TestClient
    from fimigraph.api.app import create_app
    from fimigraph.settings import load_settings
    from fimigraph.vocab import INFERRED_GRAPH

    callers = _clearances(a)
    headers = {c: bench.bearer(a["store"], c) for c in callers}
    store = bench._store(a["store"], read_only=True)
    rows = store.select(
        f"SELECT ?s (COUNT(?l) AS ?n) WHERE {{ GRAPH <{INFERRED_GRAPH}> {{ ?l a fimi:AttributionLink ; fimi:linkSubject ?s }} }} "
        "GROUP BY ?s ORDER BY DESC(?n) STR(?s)")
    # The subjects are drawn from the whole store, as bench/run.py draws them: a lower-clearance
    # caller asks about the same subjects, and sees fewer of their links, or none.
    sample = random.Random(a["seed"]).sample(rows, min(len(rows), bench.ATTRIBUTION_SAMPLE))
    busiest = rows[:bench.BUSIEST]
    settings = load_settings(store=Path(a["store"]), engine="pyshacl")  # read-only: no engine built at start-up
    usual: dict[str, list[float]] = {c: [] for c in callers}
    worst: dict[str, list[float]] = {c: [] for c in callers}
    entries: dict[str, list[int]] = {c: [] for c in callers}
    busiest_entries: dict[str, list[int]] = {c: [] for c in callers}
    with TestClient(create_app(settings, store=store)) as client:
        def ask(subject: str, caller: str) -> Any:
            response = client.get("/attribution", params={"subject": subject}, headers=headers[caller])
            if response.status_code != 200:
                raise RuntimeError(f"{caller}: HTTP {response.status_code}: {response.text[:200]}")
            return response

        for group, into, counts, repeat, budget in ((sample, usual, entries, 3, 0.0),
                                                    (busiest, worst, busiest_entries, a["repeat"], a["budget"] / bench.BUSIEST)):
            for row in group:
                for caller in callers:  # warm-up, and what each caller is told
                    counts[caller].append(len(ask(row["s"], caller).json().get("links", [])))
                got = _rounds(callers, lambda c, s=row["s"]: ask(s, c), repeat=repeat, budget=budget)
                for caller in callers:
                    into[caller] += got[caller]
            bench._emit({"progress": "busiest" if group is busiest else "sample", **{c: len(v) for c, v in into.items()}})
    return {"subjects": len(sample), "callers": callers, "usual": _compare(usual), "busiest": _compare(worst),
            "entries_median": {c: statistics.median_low(v) for c, v in entries.items()},
            "busiest_entries": busiest_entries, "busiest_links": [r["n"] for r in busiest]}


def step_query(a: dict[str, Any]) -> dict[str, Any]:
    """One ``data/queries`` file run on each caller's store (the whole store or its view), interleaved."""
    callers = _clearances(a)
    store = bench._store(a["store"], read_only=True)
    text = Path(a["file"]).read_text(encoding="utf-8")
    for old, new in bench._substitutions(store).items():  # the same stand-ins for every caller
        text = text.replace(f"<{old}>", f"<{new}>")
    stores = {c: store.for_clearance(_rank(c)) for c in callers}
    rows: dict[str, int] = {}

    def run(caller: str) -> int:
        result = stores[caller].query(text)
        return 1 if isinstance(result, bool) else sum(1 for _ in result)

    first: dict[str, float] = {}
    for caller in callers:  # warm-up, and the rows each caller gets
        started = time.perf_counter()
        rows[caller] = run(caller)
        first[caller] = round(time.perf_counter() - started, 3)
        bench._emit({"progress": f"warm-up {caller}", "seconds": first[caller], "rows": rows[caller]})
    samples = _rounds(callers, run, repeat=a["repeat"], budget=a["budget"] * len(callers),
                      on_round=lambda n, s: bench._emit({"progress": f"round {n}", **{c: round(v[-1], 4) for c, v in s.items()}}))
    return {"callers": callers, "rows": rows, "first_seconds": first, **_compare(samples)}


def step_writes(a: dict[str, Any]) -> dict[str, Any]:
    """Sources added and retracted with ``reason.apply``, alternately with the views kept and without them."""
    from unittest import mock

    from fimigraph import reason
    from fimigraph.generate import extra_source
    from fimigraph.ingest import read_document
    from fimigraph.views import document_rank, generation, notation

    store = bench._store(a["store"])
    docs = [read_document(extra_source(triples=a["size"], seed=a["seed"], n=n)[1].encode(), media_type="text/turtle")
            for n in range(a["sources"])]
    timers = bench.Timers()
    timers.wrap(reason, "_commit", "commit")  # the store's own transaction
    timers.wrap(reason, "_commit_with_views", "commit_with_views")  # that, the markings' ranks, and each view's write

    def without_views(store: Any, change: Any, added: Any, removed: Any, facts: Any, *, total: int, generation: int) -> None:
        reason._commit(store, change.update, added, removed, total=total, changes=1)

    def once(doc: Any, views: bool) -> dict[str, float]:
        timed: dict[str, float] = {}
        with mock.patch.object(reason, "_commit_with_views", reason._commit_with_views if views else without_views):
            for what in ("add", "retract"):
                started = time.perf_counter()
                if what == "add":
                    change = store.prepare_put(doc.source_iri, doc.metadata, doc.claims, replace=False)
                else:
                    change = store.prepare_retract(change.sid)[1]
                reason.apply(store, change)
                timed[what] = time.perf_counter() - started
                parts = timers.take()
                if views:
                    timed[f"{what}_views"] = parts.get("commit_with_views", 0.0) - parts.get("commit", 0.0)
        if not views:  # the copies hold what they held (added, then retracted): only their generation moves on
            store.views.apply([], [], generation=store.generation())
        return timed

    started = time.perf_counter()
    once(docs[0], True)  # the first change in a process builds the store's engine: not measured
    build = round(time.perf_counter() - started, 3)
    runs = []
    for n, doc in enumerate(docs):
        arms = (True, False) if n % 2 == 0 else (False, True)
        got = {views: once(doc, views) for views in arms}
        runs.append({"source_triples": len(doc.metadata) + len(doc.claims),
                     "marking": notation(document_rank(doc.metadata + doc.claims)),
                     **{f"{k}_with": round(v, 4) for k, v in got[True].items()},
                     **{f"{k}_without": round(v, 4) for k, v in got[False].items()}})
        bench._emit({"progress": f"source {n}", **runs[-1]})

    def med(key: str) -> float:
        return round(statistics.median(r[key] for r in runs), 4)

    out: dict[str, Any] = {"first_change_seconds": build, "sources": len(runs), "runs": runs,
                           "views": sorted(notation(r) for r in store.views.stores)}
    for what in ("add", "retract"):
        out[what] = {"with": med(f"{what}_with"), "without": med(f"{what}_without"), "views_part": med(f"{what}_views_with"),
                     "max_with": max(r[f"{what}_with"] for r in runs), "max_without": max(r[f"{what}_without"] for r in runs)}
        out[what]["ratio"] = round(out[what]["with"] / max(out[what]["without"], 1e-9), 3)
        out[what]["paired"] = round(statistics.median(r[f"{what}_with"] / r[f"{what}_without"] for r in runs), 3)
        out[what]["views_share"] = round(statistics.median(r[f"{what}_views_with"] / r[f"{what}_with"] for r in runs), 4)
    out["views_in_sync"] = all(generation(v) == store.generation() for v in store.views.stores.values())
    return out


STEPS = {"disk": step_disk, "attribution": step_attribution, "query": step_query, "writes": step_writes}


# ======================================================================================
# Parent side.


def bench_size(size: int, opts: argparse.Namespace, log: Any) -> dict[str, Any]:
    """All steps for one size: the world loaded and reasoned (or reused), then disk, reads, writes."""
    common = {**bench.world_paths(size, opts.seed), "repeat": opts.repeat, "budget": opts.budget, "clearances": opts.clearances,
              "sources": opts.sources}
    log(f"[{bench.label(size)}] seed {opts.seed}, load {os.getloadavg()[0]:.2f}")
    res: dict[str, Any] = {"size": size, "load_at_start": [round(x, 2) for x in os.getloadavg()]}
    res["generate"] = bench.generated(common, regenerate=opts.regenerate, log=log)
    built = Path(common["store"]) / "bench-build.json"  # what loading and reasoning this store took (kept with it)
    if opts.reuse and built.exists():
        res.update({**json.loads(built.read_text()), "reused": True})
        log(f"  load, rebuild: reused {Path(common['store']).name} (built {res['native'].get('date', '?')})")
    else:
        res["load"] = bench.run_step("load", common, cap=None, log=log)
        res["native"] = bench.run_step("native", common, cap=opts.native_cap, log=log, tag="rebuild (reason.infer)")
        res["native"]["date"] = datetime.now(timezone.utc).isoformat(timespec="minutes")
        if res["native"].get("status") == "ok":
            built.write_text(json.dumps({"load": res["load"], "native": res["native"]}))

    def step(name: str, cap: float | None, **extra: Any) -> dict[str, Any]:
        return bench.run_step(name, {**common, **extra}, cap=cap, log=log, script=SCRIPT, tag=extra.get("tag"))

    skip = set(opts.skip)
    res["disk"] = step("disk", None)
    res["attribution"] = {"status": "skipped"} if "attribution" in skip else step("attribution", opts.query_cap * 3)
    res["queries"] = {} if "queries" in skip else {
        path.stem: step("query", opts.query_cap, file=str(path), tag=f"query {path.stem}")
        for path in sorted((bench.REPO / "data" / "queries").glob("*.rq"))}
    res["writes"] = {"status": "skipped"} if "writes" in skip else step("writes", opts.native_cap)
    res["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return res


def _ok(step: dict[str, Any]) -> bool:
    return step.get("status") == "ok"


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB" if n >= 1e7 else f"{n / 1e6:,.1f} MB"


def _vs(stats: dict[str, Any] | None, caller: str) -> str:
    if not stats or caller not in stats:
        return "—"
    s = stats[caller]
    ratio = f" ({s['ratio']:.2f}×; paired {s['paired']:.2f}×)" if caller != WHOLE and s.get("paired") is not None else ""
    return f"{s['p50_ms']:,.1f} / {s['p95_ms']:,.1f} ms{ratio}"


def _capped_query(step: dict[str, Any], caller: str) -> str:
    """What a capped query step had measured: its one run per caller (warm-up), over the whole store's."""
    warm = {p["progress"].split(" ", 1)[1]: p for p in step.get("progress", []) if str(p.get("progress", "")).startswith("warm-up ")}
    if caller not in warm:
        return bench._s(step)
    whole = warm.get(WHOLE, {}).get("seconds")
    ratio = f" ({warm[caller]['seconds'] / whole:.2f}×)" if whole and caller != WHOLE else ""
    return f"{bench._s(step)}; one run {warm[caller]['seconds']:,.2f} s{ratio}"


def table_rows(results: list[dict[str, Any]], callers: list[str]) -> tuple[list[str], list[list[str]]]:
    header = ["step"] + [bench.label(r["size"]) for r in results]
    rows: list[list[str]] = []

    def row(name: str, fn: Any) -> None:
        cells = []
        for r in results:
            try:
                cells.append(fn(r))
            except (KeyError, TypeError, ZeroDivisionError):
                cells.append("—")
        rows.append([name] + cells)

    gen = lambda r: r["generate"].get("stats", {})  # noqa: E731
    nat = lambda r: r["native"]  # noqa: E731
    part = lambda r, k: bench._part(nat(r), k) or 0.0  # noqa: E731
    row("asserted triples (generated)", lambda r: f"{gen(r)['triples']:,}")
    row("claims / link nodes: whole store", lambda r: f"{r['disk']['claims']:,} / {r['disk']['links']:,}")
    row("load: bulk N-Quads → disk", lambda r: bench._s(r["load"]))
    row("rebuild (reason.infer), views included", lambda r: bench._s(nat(r)) + (" (reused store)" if r.get("reused") else ""))
    row("  of which: copy each band's view (Views.rebuild)", lambda r: bench._fmt(part(r, "views")))
    row("  of which: compact the views", lambda r: bench._fmt(part(r, "views_compact")))
    def without(r: dict[str, Any], key: str) -> str:  # the rebuild less the views' parts, in wall or CPU seconds
        parts = nat(r)["parts"]
        total = nat(r)[key]
        rest = total - sum(parts.get(k, {}).get(key, 0.0) for k in ("views", "views_compact"))
        return f"{bench._fmt(rest)} / {bench._fmt(total)} = {total / rest:.2f}×"

    row("  rebuild without the views / with them: wall", lambda r: without(r, "seconds"))
    row("  the same in CPU seconds", lambda r: without(r, "cpu"))
    row("  inferred triples", lambda r: f"{nat(r)['triples']:,}")
    row("disk: store without views, all files / tables (quads)",
        lambda r: f"{_mb(r['disk']['main_bytes'])} / {_mb(r['disk']['main_sst_bytes'])} ({r['disk']['main_quads']:,})")
    for band in ("TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT"):
        row(f"  view {band}: all files / tables (quads; claims / link nodes)",
            lambda r, b=band: f"{_mb(r['disk']['views'][b]['bytes'])} / {_mb(r['disk']['views'][b]['sst_bytes'])} ({r['disk']['views'][b]['quads']:,}; "
                              f"{r['disk']['views'][b]['claims']:,} / {r['disk']['views'][b]['links']:,})")
    row("  views / store: all files; tables",
        lambda r: f"{r['disk']['views_over_main']:.2f}× ({_mb(r['disk']['views_bytes'])}); "
                  f"{r['disk']['views_over_main_sst']:.2f}× ({_mb(r['disk']['views_sst_bytes'])})")
    att = lambda r: r["attribution"]  # noqa: E731
    for c in callers:
        row(f"/attribution p50 / p95, {c.upper()} caller", lambda r, c=c: _vs(att(r)["usual"], c))
    row("  answer entries, median (" + " / ".join(c.upper() for c in callers) + ")",
        lambda r: " / ".join(str(att(r)["entries_median"][c]) for c in callers))
    for c in callers:
        row(f"/attribution, {bench.BUSIEST} busiest subjects, {c.upper()}", lambda r, c=c: _vs(att(r)["busiest"], c))
    row("  their entries (" + " / ".join(c.upper() for c in callers) + ")",
        lambda r: " / ".join(",".join(str(x) for x in att(r)["busiest_entries"][c]) for c in callers))
    names = sorted({q for r in results for q in r["queries"]})
    for q in names:
        for c in callers:
            def cell(r: dict[str, Any], q: str = q, c: str = c) -> str:
                step = r["queries"][q]
                if not _ok(step):
                    return _capped_query(step, c)
                return f"{_vs(step, c)}, {step['rows'][c]:,} rows"
            row(f"query {q}, {c.upper()}", cell)
    wr = lambda r: r["writes"]  # noqa: E731
    for what in ("add", "retract"):
        row(f"{what} one source: median with views / without (ratio; paired)",
            lambda r, w=what: f"{bench._fmt(wr(r)[w]['with'])} / {bench._fmt(wr(r)[w]['without'])} "
                              f"({wr(r)[w]['ratio']:.2f}×; {wr(r)[w]['paired']:.2f}×)")
        row("  of which the views (ranks + each copy's write), median (share)",
            lambda r, w=what: f"{bench._fmt(wr(r)[w]['views_part'])} ({100 * wr(r)[w]['views_share']:.1f} %)")
        row("  max with / without", lambda r, w=what: f"{bench._fmt(wr(r)[w]['max_with'])} / {bench._fmt(wr(r)[w]['max_without'])}")
    row("  sources (views written to)", lambda r: f"{wr(r)['sources']} ({', '.join(v.removeprefix('TLP:') for v in wr(r)['views'])})")
    row("  views in step with the store after", lambda r: str(wr(r)["views_in_sync"]))
    row("load average (1 min) at start / end", lambda r: f"{r['load_at_start'][0]:.1f} / {r['load_at_end'][0]:.1f}")
    return header, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,100k", help="comma-separated triple counts (10k, 100k, 1M)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    parser.add_argument("--clearances", default=CLEARANCES, help=f"callers compared (the first is the whole store's: red); default {CLEARANCES}")
    parser.add_argument("--reuse", action="store_true", help="reuse a store this bench loaded and reasoned before (its build's figures too)")
    parser.add_argument("--native-cap", type=float, default=3600, help="seconds before the rebuild or the writes step is stopped")
    parser.add_argument("--query-cap", type=float, default=300, help="seconds before one query's step is stopped (/attribution: 3×)")
    parser.add_argument("--repeat", type=int, default=20, help="rounds per query (each caller once a round)")
    parser.add_argument("--budget", type=float, default=20, help="seconds of rounds per query and caller (at least 3 rounds)")
    parser.add_argument("--sources", type=int, default=bench.INCREMENTAL_SOURCES, help="further sources added and retracted (each with and without views)")
    parser.add_argument("--skip", default="", help="steps to skip: attribution,queries,writes")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--render", help="print the table of a saved JSON report instead of running")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--step-args", help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.step:
        bench.run_step_here(opts.step, json.loads(opts.step_args), STEPS)
        return 0
    if opts.render:
        report = json.loads(Path(opts.render).read_text())
    else:
        from fimigraph.generate import parse_count

        if _clearances({"clearances": opts.clearances})[0] != WHOLE:
            parser.error("--clearances: the first caller is the whole store's, red")
        opts.skip = [s for s in opts.skip.split(",") if s]
        log = (lambda msg: print(msg, file=sys.stderr, flush=True))
        started = datetime.now(timezone.utc)
        results = [bench_size(parse_count(s), opts, log) for s in opts.sizes.split(",") if s]
        report = {"command": " ".join([".venv/bin/python", "bench/need_to_know.py", *(argv if argv is not None else sys.argv[1:])]),
                  "date": started.isoformat(timespec="seconds"), "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  "machine": bench.machine(), "clearances": opts.clearances, "results": results}
        bench.OUT.mkdir(parents=True, exist_ok=True)
        (bench.OUT / "need-to-know-last.json").write_text(json.dumps(report, indent=1))
        if opts.json:
            print(json.dumps(report, indent=1))
            return 0
    m = report["machine"]
    print(f"fimigraph {m['fimigraph']} at {m['commit']} — {report['date']} to {report['finished']} — {m['cpu']}, "
          f"{m['cores']} cores, {m['memory']}\n{report['command']}\n")
    print(bench.render(*table_rows(report["results"], _clearances(report))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
