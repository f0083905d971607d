"""fimigraph benchmark: generate, load, reason (native, floor, pyshacl on rdflib and on pyoxigraph), update, query — per graph size.

    .venv/bin/python bench/run.py --sizes 10k,100k,1M [--json] [--pyshacl-cap 300] [--floor-cap 900]

Every step runs in a fresh subprocess, so that its peak memory (ru_maxrss) is its own and a
cap really stops it. Generated graphs and stores are kept under bench/out/ (git-ignored);
a graph is generated once per (size, seed) and reused. See bench/README.md for the columns.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"
sys.path.insert(0, str(REPO / "service"))  # run from a checkout without installing

SEED_CASE = "https://w3id.org/fimigraph/case/boycottparis2024/"


# ======================================================================================
# Steps: each runs in its own process (``--step NAME``) and prints JSON lines on stdout;
# the last line is the result, earlier ones are progress kept if the step is capped.


def _emit(obj: dict[str, Any]) -> None:
    print(json.dumps(obj), flush=True)


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _store(path: str, read_only: bool = False) -> Any:
    from fimigraph.store import GraphStore

    return GraphStore(Path(path), read_only=read_only)


def _inferred_count(store: Any) -> int:
    from fimigraph.vocab import INFERRED_GRAPH

    return store.count(str(INFERRED_GRAPH))


def _inferred_digest(store: Any) -> str:
    """A digest of the inferred graph that does not depend on order (see ``_digest``).

    Streamed, so the step's peak memory stays the engine's: a sorted dump of 9.6M triples
    (the earlier digest) took the native step at 1M from ~2.4 GB to 8.6 GB.
    """
    import pyoxigraph as ox
    from fimigraph.vocab import INFERRED_GRAPH

    return _digest(store.ox.quads_for_pattern(None, None, None, ox.NamedNode(str(INFERRED_GRAPH))))


def _digest(triples: Any) -> str:
    """The sum of the triples' SHA-256 (pyoxigraph triples or quads, read as N-Triples terms), mod 2²⁵⁶."""
    total = 0
    for t in triples:
        total += int.from_bytes(hashlib.sha256(f"{t.subject} {t.predicate} {t.object}".encode()).digest(), "big")
    return f"{total % (1 << 256):064x}"


def step_generate(a: dict[str, Any]) -> dict[str, Any]:
    from fimigraph.generate import generate

    stats = generate(Path(a["nq"]), triples=a["size"], seed=a["seed"])
    return {"seconds": stats.seconds, "stats": stats.as_dict()}


def step_load(a: dict[str, Any]) -> dict[str, Any]:
    import pyoxigraph as ox

    shutil.rmtree(a["store"], ignore_errors=True)
    started = time.perf_counter()
    store = _store(a["store"])  # creates the store and writes the ontology graph
    store.ox.bulk_load(path=a["nq"], format=ox.RdfFormat.N_QUADS)
    store.flush()
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 3), "quads": len(store.ox)}


def step_native(a: dict[str, Any]) -> dict[str, Any]:
    from fimigraph import reason

    if "native" not in getattr(reason, "ENGINES", ()):
        return {"status": "n/a", "reason": "engine not available"}
    store = _store(a["store"])
    started = time.perf_counter()
    report = reason.infer(store, engine="native")
    store.flush()
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 3), "triples": _inferred_count(store), "passes": getattr(report, "passes", None),
            "digest": _inferred_digest(store)}


def step_pyshacl(a: dict[str, Any]) -> dict[str, Any]:
    from fimigraph import reason

    store = _store(a["store"])
    started = time.perf_counter()
    report = reason.infer(store, engine="pyshacl")
    store.flush()
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 3), "triples": _inferred_count(store), "passes": report.passes,
            "digest": _inferred_digest(store)}


def step_pyshacl_oxigraph(a: dict[str, Any]) -> dict[str, Any]:
    """pyshacl's rule passes with a pyoxigraph store as its data graph; the store is only read."""
    import pyoxigraph as ox
    from fimigraph import reason
    from rdflib import Graph

    store = _store(a["store"], read_only=True)
    started = time.perf_counter()
    data = Graph().parse(data=store.reasoning_input().decode(), format="nt")
    inferred, passes = reason.pyshacl_fixpoint(
        data, backend="pyoxigraph", on_pass=lambda n, t: _emit({"progress": f"pass {n}", "triples": t, "seconds": round(time.perf_counter() - started, 1)}))
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 3), "triples": len(inferred), "passes": passes,
            "digest": _digest(ox.parse(inferred.serialize(format="nt").encode(), format=ox.RdfFormat.N_TRIPLES))}


def _prologue() -> str:
    from fimigraph.vocab import PREFIXES

    # The rules' own prefixes (rules/prefixes.ttl) are a subset of these.
    return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())


def _rule_queries(compiled: bool) -> list[tuple[str, list[str]]]:
    """(rule name, its queries): the native engine's compiled plans, or the rules' own sh:construct text."""
    if compiled:
        from fimigraph.reason import native_rules

        return [(str(r.name).rsplit("/", 1)[-1], r.queries()) for r in native_rules()]
    from fimigraph.ruleset import rules

    return [(str(r.iri).rsplit("/", 1)[-1], [_prologue() + r.construct]) for r in rules() if r.construct]


def step_floor(a: dict[str, Any]) -> dict[str, Any]:
    from fimigraph import reason

    compiled = a.get("variant", "compiled") == "compiled"
    if compiled and not hasattr(reason, "native_rules"):
        return {"status": "n/a", "reason": "no compiled rules (reason.native_rules)"}
    store = _store(a["store"], read_only=True)
    inferred = _inferred_count(store)
    per_rule: dict[str, float] = {}
    produced: dict[str, int] = {}
    for name, queries in _rule_queries(compiled):
        started = time.perf_counter()
        n = 0
        for query in queries:  # one query per union-free variant of the rule's body
            n += sum(1 for _ in store.ox.query(query, use_default_graph_as_union=True))
        per_rule[name] = round(per_rule.get(name, 0) + time.perf_counter() - started, 3)
        produced[name] = produced.get(name, 0) + n
        _emit({"progress": name, "seconds": per_rule[name], "triples": n})
    return {"seconds": round(sum(per_rule.values()), 3), "per_rule": per_rule, "triples_per_rule": produced,
            "inferred_graph_present": inferred}


def _call(fn: Any, store: Any, sid: str, engine: str, **extra: Any) -> Any:
    """Call on_source_added/removed with the keywords its current signature accepts."""
    params = inspect.signature(fn).parameters
    kwargs = {k: v for k, v in {"engine": engine, **extra}.items() if k in params}
    return fn(store, sid, **kwargs)


INCREMENTAL_SOURCES = 8
"""Further reports of the same world added and retracted one by one (what follows from one varies a lot)."""


def step_incremental(a: dict[str, Any]) -> dict[str, Any]:
    from fimigraph import reason
    from fimigraph.generate import extra_source
    from fimigraph.ingest import read_document

    engine = "native" if "native" in reason.ENGINES else "pyshacl"
    store = _store(a["store"])
    # What a server does once at start-up (fimigraph.api.app): rebuild an inferred graph that is
    # incomplete or derived with other rules (a store reasoned by an earlier version), compile the
    # rules, and count the inferred graph, for the totals each change reports. None of it is
    # charged to the first change.
    recovered = reason.recover(store, engine=engine)
    reason.prepare(engine=engine)
    started = time.perf_counter()
    before = reason.inferred_size(store)
    count_s = time.perf_counter() - started
    digest_before = _inferred_digest(store) if before <= a["digest_limit"] else None
    runs: list[dict[str, Any]] = []
    rounds = a.get("rounds", 1)
    restored = True
    for n in range(a.get("sources", INCREMENTAL_SOURCES)):
        iri, turtle = extra_source(triples=a["size"], seed=a["seed"], n=n)
        doc = read_document(turtle.encode(), media_type="text/turtle")
        adds: list[float] = []
        retracts: list[float] = []
        for _ in range(rounds):
            sid = store.put_source(doc.source_iri, doc.metadata, doc.claims, replace=False)
            started = time.perf_counter()
            added = _call(reason.on_source_added, store, sid, engine).triples - before  # the engine's total, not a recount
            adds.append(time.perf_counter() - started)
            # What the engine needs to retract exactly: the source's quads, read before they go.
            removed = store.source_quads(sid)
            store.delete_source(sid)
            started = time.perf_counter()
            _call(reason.on_source_removed, store, sid, engine, removed=removed)
            retracts.append(time.perf_counter() - started)
            restored = restored and _inferred_count(store) == before
        # Several rounds: the source's median, so one slow moment of a shared machine does not decide.
        runs.append({"source_triples": len(doc.metadata) + len(doc.claims), "inferred_added": added,
                     "add_seconds": round(statistics.median(adds), 3), "retract_seconds": round(statistics.median(retracts), 3),
                     "add_rounds": [round(x, 3) for x in adds], "retract_rounds": [round(x, 3) for x in retracts]})
        _emit({"progress": f"source {n}", **runs[-1]})
    if digest_before is not None:
        restored = restored and _inferred_digest(store) == digest_before

    def median(key: str) -> float:
        return statistics.median_low(r[key] for r in runs)

    return {
        "engine": engine, "rebuilt_first": recovered[0] if recovered else None, "sources": len(runs), "runs": runs,
        "restored_exactly": restored,
        "count_seconds": round(count_s, 3), "first_add_seconds": runs[0]["add_rounds"][0], "rounds": rounds,
        "add_seconds": median("add_seconds"), "add_max_seconds": max(r["add_seconds"] for r in runs),
        "retract_seconds": median("retract_seconds"), "retract_max_seconds": max(r["retract_seconds"] for r in runs),
        "source_triples": median("source_triples"), "inferred_added": median("inferred_added"),
        "inferred_added_max": max(r["inferred_added"] for r in runs),
        "seconds": round(sum(r["add_seconds"] + r["retract_seconds"] for r in runs), 3),
    }


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000, 2)

    return {"p50_ms": pick(0.5), "p95_ms": pick(0.95), "n": len(ordered), "mean_ms": round(statistics.fmean(ordered) * 1000, 2)}


ATTRIBUTION_SAMPLE = 40
"""Subjects drawn (seeded, uniformly among those with a link) for the usual /attribution request."""


def step_attribution(a: dict[str, Any]) -> dict[str, Any]:
    try:
        from fastapi.testclient import TestClient

        from fimigraph.api.app import create_app
    except ImportError as exc:
        return {"status": "n/a", "reason": f"no API: {exc}"}
    import random

    from fimigraph.vocab import INFERRED_GRAPH

    store = _store(a["store"])
    rows = store.select(
        f"SELECT ?s (COUNT(?l) AS ?n) WHERE {{ GRAPH <{INFERRED_GRAPH}> {{ ?l a fimi:AttributionLink ; fimi:linkSubject ?s }} }} "
        "GROUP BY ?s ORDER BY DESC(?n) STR(?s)"
    )
    if not rows:  # no inferred graph (no engine finished): ask about campaigns anyway
        rows = [{**r, "n": 0} for r in store.select("SELECT DISTINCT ?s WHERE { ?s a fimi:Campaign } ORDER BY STR(?s) LIMIT 10")]
    # Any subject with a link may be asked about: a seeded uniform sample is the usual request.
    # Links per subject are skewed (at 1M: median 7, busiest 14,439), so the busiest subjects,
    # the worst case, are timed on their own rather than mixed into the percentiles.
    sample = random.Random(a["seed"]).sample(rows, min(len(rows), ATTRIBUTION_SAMPLE))
    busiest = rows[:3]
    usual: list[float] = []
    worst: list[float] = []
    with TestClient(create_app(store=store)) as client:
        for subject, samples, repeat in [(r["s"], usual, 3) for r in sample] + [(r["s"], worst, a["repeat"]) for r in busiest]:
            response = client.get("/attribution", params={"subject": subject})  # warm-up
            if response.status_code != 200:
                return {"status": "error", "reason": f"HTTP {response.status_code}: {response.text[:200]}"}
            samples += _measure(lambda s=subject: client.get("/attribution", params={"subject": s}), repeat, a["budget"] / len(busiest))
            _emit({"progress": subject, "links": len(response.json().get("links", [])), "last_ms": round(samples[-1] * 1000, 1)})
    return {
        **_percentiles(usual),
        "subjects": len(sample),
        "links_median": statistics.median_low(r["n"] for r in sample),
        "busiest": {"status": "ok", **_percentiles(worst), "subjects": len(busiest), "links": [r["n"] for r in busiest]},
    }


def _substitutions(store: Any) -> dict[str, str]:
    """Generated stand-ins for the seed-case IRIs the analyst queries name in VALUES."""
    from fimigraph.generate import GEN

    def first(sparql: str) -> str | None:
        rows = store.select(sparql)
        return rows[0]["x"] if rows else None

    # The seed's campaign is party-linked to its state (queries 03 and 04 ask for that link): the
    # first generated campaign party-linked to state 0, if reasoning has run, else campaign 0.
    campaign = first(f"SELECT ?x WHERE {{ ?l fimi:linkSubject ?x ; fimi:linkTarget <{GEN}state/0> ; "
                     f"fimi:grade/skos:notation \"party-linked\" . ?x a fimi:Campaign }} ORDER BY STR(?x) LIMIT 1")
    campaign = campaign or f"{GEN}campaign/0"
    mapping = {"azerbaijan": f"{GEN}state/0", "campaign": campaign, "france": f"{GEN}state/1"}
    narrative = first(f"SELECT ?x WHERE {{ ?c fimi:claimSubject <{campaign}> ; fimi:claimPredicate fimi:promotes ; "
                      f"fimi:claimObject ?x }} ORDER BY STR(?x) LIMIT 1")
    article = first("SELECT ?x WHERE { ?x a fimi:Article ; fimi:reports ?r } ORDER BY STR(?x) LIMIT 1")
    report = first(f"SELECT ?x WHERE {{ <{article}> fimi:reports ?x }} LIMIT 1") if article else None
    for key, value in (("narrative-unsafe-games", narrative), ("reuters-article", article), ("viginum-report", report)):
        if value:
            mapping[key] = value
    return {SEED_CASE + k: v for k, v in mapping.items()}


def _measure(fn: Any, repeat: int, budget: float) -> list[float]:
    """Time ``fn`` up to ``repeat`` times, stopping early (after 3) once ``budget`` seconds are spent."""
    samples: list[float] = []
    spent = 0.0
    while len(samples) < repeat and (len(samples) < 3 or spent < budget):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
        spent += samples[-1]
    return samples


def step_query(a: dict[str, Any]) -> dict[str, Any]:
    store = _store(a["store"], read_only=True)
    text = Path(a["file"]).read_text(encoding="utf-8")
    for old, new in _substitutions(store).items():
        text = text.replace(f"<{old}>", f"<{new}>")

    def run() -> int:
        result = store.query(text)
        return 1 if isinstance(result, bool) else sum(1 for _ in result)

    started = time.perf_counter()
    rows = run()  # warm-up, and the row count
    _emit({"progress": "warm-up", "seconds": round(time.perf_counter() - started, 3), "rows": rows})
    return {**_percentiles(_measure(run, a["repeat"], a["budget"])), "rows": rows}


STEPS = {
    "generate": step_generate, "load": step_load, "native": step_native, "floor": step_floor,
    "pyshacl": step_pyshacl, "pyshacl-oxigraph": step_pyshacl_oxigraph, "incremental": step_incremental, "attribution": step_attribution, "query": step_query,
}


SKIPPABLE = ("native", "floor", "floor-raw", "pyshacl", "pyshacl-oxigraph", "incremental", "attribution", "queries")
"""What ``--skip`` takes: a misspelt step would otherwise run, for minutes or hours."""


def run_step_here(name: str, args: dict[str, Any]) -> None:
    """Child side: run one step and print its result with the process's peak memory."""
    import logging

    logging.disable(logging.WARNING)
    result = STEPS[name](args)
    result.setdefault("status", "ok")
    result["rss_mb"] = _rss_mb()
    _emit(result)


# ======================================================================================
# Parent side: run the steps of each size, each in its own process, and report.


def run_step(name: str, args: dict[str, Any], *, cap: float | None, log: Any, tag: str | None = None) -> dict[str, Any]:
    """Run one step in a subprocess; a cap kills it (status 'capped')."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--step", name, "--step-args", json.dumps(args)]
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(REPO / "service") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=cap, env=env)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        progress = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        log(f"  {tag or name}: capped at {cap:.0f} s")
        return {"status": "capped", "cap": cap, "progress": progress, "wall": round(time.perf_counter() - started, 1)}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        reason = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        log(f"  {tag or name}: error: {reason}")
        return {"status": "error", "reason": reason[:300]}
    result = json.loads(lines[-1])
    result["progress"] = [json.loads(line) for line in lines[:-1]]
    result["wall"] = round(time.perf_counter() - started, 1)
    log(f"  {tag or name}: {result.get('status')} {result.get('seconds', result.get('p50_ms', ''))}  (wall {result['wall']} s, peak {result.get('rss_mb')} MB)")
    return result


def label(n: int) -> str:
    """100000 → '100k'."""
    for unit, div in (("M", 1_000_000), ("k", 1_000)):
        if n >= div and n % div == 0:
            return f"{n // div}{unit}"
    return str(n)


def bench_size(size: int, opts: argparse.Namespace, log: Any) -> dict[str, Any]:
    """All steps for one graph size."""
    OUT.mkdir(parents=True, exist_ok=True)
    name = f"{label(size)}-s{opts.seed}"
    nq, meta, store = OUT / f"gen-{name}.nq", OUT / f"gen-{name}.json", OUT / f"store-{name}"
    common = {"size": size, "seed": opts.seed, "nq": str(nq), "store": str(store), "repeat": opts.repeat, "budget": opts.budget,
              "digest_limit": opts.digest_limit, "rounds": opts.rounds}
    log(f"[{label(size)}] seed {opts.seed}")
    res: dict[str, Any] = {"size": size}
    if nq.exists() and meta.exists() and not opts.regenerate:
        res["generate"] = {**json.loads(meta.read_text()), "cached": True}
        log(f"  generate: cached {nq.name}")
    else:
        res["generate"] = run_step("generate", common, cap=None, log=log)
        meta.write_text(json.dumps(res["generate"]))
    skip = set(opts.skip)
    res["load"] = run_step("load", common, cap=None, log=log)
    res["native"] = run_step("native", common, cap=opts.native_cap, log=log) if "native" not in skip else {"status": "skipped"}
    for step in ("pyshacl-oxigraph", "pyshacl"):  # the one that only reads the store first
        if step in skip:
            res[step] = {"status": "skipped"}
        elif opts.pyshacl_max and size > opts.pyshacl_max:
            res[step] = {"status": "skipped", "reason": f"size above --pyshacl-max {opts.pyshacl_max}"}
        else:
            res[step] = run_step(step, common, cap=opts.pyshacl_cap, log=log)
        if res[step].get("status") == "ok" and res["native"].get("status") == "ok":
            res[step]["identical_to_native"] = res[step]["digest"] == res["native"]["digest"]
    # The floor reads the inferred graph an engine left (the conclusions every rule must re-read
    # at the fixpoint); when no engine finished it measures the rules over the asserted data only.
    res["floor"] = run_step("floor", {**common, "variant": "compiled"}, cap=opts.floor_cap, log=log) if "floor" not in skip else {"status": "skipped"}
    res["floor_raw"] = (run_step("floor", {**common, "variant": "raw"}, cap=opts.raw_floor_cap, log=log, tag="floor (raw sh:construct)")
                        if "floor" not in skip and "floor-raw" not in skip else {"status": "skipped"})
    engine_cap = opts.pyshacl_cap if res["native"].get("status") != "ok" else opts.native_cap
    res["incremental"] = run_step("incremental", common, cap=engine_cap, log=log) if "incremental" not in skip else {"status": "skipped"}
    res["attribution"] = run_step("attribution", common, cap=opts.query_cap, log=log) if "attribution" not in skip else {"status": "skipped"}
    res["queries"] = {"status": "skipped"} if "queries" in skip else {"status": "ok", "queries": {
        path.stem: run_step("query", {**common, "file": str(path)}, cap=opts.query_cap, log=log, tag=f"query {path.stem}")
        for path in sorted((REPO / "data" / "queries").glob("*.rq"))}}
    return res


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = platform.processor() or ""
    try:
        text = Path("/proc/cpuinfo").read_text()
        cpu = re.search(r"model name\s*:\s*(.*)", text).group(1)  # type: ignore[union-attr]
    except (OSError, AttributeError):
        pass
    mem = ""
    try:
        kb = int(re.search(r"MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        pass
    versions = {}
    for mod in ("pyoxigraph", "pyshacl", "rdflib"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001
            versions[mod] = "?"
    from fimigraph import native

    return {"cpu": cpu, "cores": os.cpu_count(), "engine_workers": native.WORKERS, "memory": mem,
            "python": platform.python_version(), "os": platform.platform(), **versions}


# -- presentation -----------------------------------------------------------------------


def _s(step: dict[str, Any], key: str = "seconds") -> str:
    status = step.get("status")
    if status == "capped":
        return f"> {step['cap']:.0f} s (cap)"
    if status in ("n/a", "skipped"):
        return f"n/a: {step.get('reason', status)}"
    if status == "error":
        return f"error: {step.get('reason', '')[:40]}"
    value = step.get(key)
    return "—" if value is None else f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def _ratio(a: dict[str, Any], b: dict[str, Any]) -> str:
    if a.get("status") == "ok" and b.get("status") == "ok" and b.get("seconds"):
        return f"{a['seconds'] / b['seconds']:.1f}×"
    if a.get("status") == "capped" and b.get("status") == "ok" and b.get("seconds"):
        return f"> {a['cap'] / b['seconds']:.0f}×"
    return "n/a"


def _done(step: dict[str, Any]) -> str:
    if step.get("status") == "capped" and step.get("progress"):
        return f" ({len(step['progress'])} rules done in {sum(p.get('seconds', 0) for p in step['progress']):.1f} s)"
    return ""


def _ms(step: dict[str, Any]) -> str:
    warm = [p for p in step.get("progress", []) if p.get("progress") == "warm-up"]
    if step.get("status") == "capped" and warm:  # too slow to repeat within the cap: what one run took
        return f"{_s(step)}; one run {warm[0]['seconds']:.1f} s, {warm[0].get('rows', 0):,} rows"
    if step.get("status") != "ok" or "p50_ms" not in step:
        return _s(step)
    return f"{step['p50_ms']:.1f} / {step['p95_ms']:.1f} ms"


def table_rows(results: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """The report as a header and rows (one column per size)."""
    header = ["step"] + [label(r["size"]) for r in results]
    rows: list[list[str]] = []

    def row(name: str, fn: Any) -> None:
        rows.append([name] + [fn(r) for r in results])

    row("asserted triples (generated)", lambda r: f"{r['generate'].get('stats', {}).get('triples', '?'):,}")
    row("sources / claims", lambda r: f"{r['generate'].get('stats', {}).get('sources', '?'):,} / {r['generate'].get('stats', {}).get('claims', '?'):,}")
    row("generate (peak RSS)", lambda r: f"{_s(r['generate'])} ({r['generate'].get('rss_mb', '?')} MB)")
    row("load: bulk N-Quads + ontology → disk", lambda r: _s(r["load"]))
    row("quads in store", lambda r: f"{r['load'].get('quads', 0):,}")
    row("native: full reasoning", lambda r: _s(r["native"]))
    row("inferred triples", lambda r: f"{(r['native'].get('triples') or r['pyshacl'].get('triples') or 0):,}")
    row("floor: compiled rule queries, once each", lambda r: _s(r["floor"]))
    row("  floor read an inferred graph of", lambda r: f"{r['floor'].get('inferred_graph_present', 0):,} triples" if r["floor"].get("status") == "ok" else "—")
    row("raw sh:construct text, once each", lambda r: _s(r.get("floor_raw", {"status": "skipped"})) + _done(r.get("floor_raw", {})))
    row("native / floor", lambda r: _ratio(r["native"], r["floor"]))
    row("pyshacl: full reasoning", lambda r: _s(r["pyshacl"]))
    row("pyshacl / native", lambda r: _ratio(r["pyshacl"], r["native"]))
    row("pyshacl output = native output", lambda r: str(r["pyshacl"].get("identical_to_native", "n/a")))
    row("pyshacl on pyoxigraph: full reasoning", lambda r: _s(r["pyshacl-oxigraph"]))
    row("pyshacl on pyoxigraph / native", lambda r: _ratio(r["pyshacl-oxigraph"], r["native"]))
    row("pyshacl on pyoxigraph output = native output", lambda r: str(r["pyshacl-oxigraph"].get("identical_to_native", "n/a")))
    row("incremental engine", lambda r: r["incremental"].get("engine", "—"))
    def inc(r: dict[str, Any], key: str) -> str:
        return _s(r["incremental"], key) if r["incremental"].get("status") == "ok" else "—"

    row("  sources added then retracted, one by one (rounds each)",
        lambda r: f"{r['incremental'].get('sources', '—')} ({r['incremental'].get('rounds', 1)})")
    row("  add one source: median / max", lambda r: f"{inc(r, 'add_seconds')} / {inc(r, 'add_max_seconds')}")
    row("  retract it: median / max", lambda r: f"{inc(r, 'retract_seconds')} / {inc(r, 'retract_max_seconds')}")
    row("  source triples / inferred added: median (max)",
        lambda r: f"{r['incremental'].get('source_triples', '—')} / {r['incremental'].get('inferred_added', '—')} "
                  f"({r['incremental'].get('inferred_added_max', '—')})")
    row("  first add in a new process", lambda r: inc(r, "first_add_seconds"))
    row("  rebuilt at start-up (the inferred graph was …)", lambda r: r["incremental"].get("rebuilt_first") or "no")
    row("  counting the inferred graph (at start-up)", lambda r: inc(r, "count_seconds"))
    row("  inferred graph restored exactly", lambda r: str(r["incremental"].get("restored_exactly", "—")))
    row("/attribution p50 / p95 (uniform sample of subjects)", lambda r: _ms(r["attribution"]))
    row("  median links of the sampled subjects", lambda r: str(r["attribution"].get("links_median", "—")))
    row("/attribution, 3 busiest subjects p50 / p95", lambda r: _ms(r["attribution"]["busiest"]) if "busiest" in r["attribution"] else "—")
    row("  their links", lambda r: ", ".join(f"{n:,}" for n in r["attribution"].get("busiest", {}).get("links", [])) or "—")
    names = sorted({q for r in results for q in r["queries"].get("queries", {})})
    for q in names:
        row(f"query {q} p50 / p95", lambda r, q=q: _ms(r["queries"].get("queries", {}).get(q, {"status": "n/a"})))
    if not names:
        row("queries (data/queries)", lambda r: _s(r["queries"]))

    def peak(r: dict[str, Any]) -> str:
        steps = {k: v for k, v in r.items() if isinstance(v, dict) and k not in ("generate", "queries")}
        steps.update({f"query {k}": v for k, v in r["queries"].get("queries", {}).items()})
        values = [(v.get("rss_mb") or 0, k) for k, v in steps.items()]
        top = max(values) if values else (0, "—")
        return f"{top[0]:,.0f} MB ({top[1]})"

    row("peak memory (largest step)", peak)
    return header, rows


def render(header: list[str], rows: list[list[str]]) -> str:
    """A plain-text table (Markdown-compatible)."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,100k", help="comma-separated triple counts (10k, 100k, 1M, …)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    parser.add_argument("--pyshacl-cap", type=float, default=300, help="seconds before a pyshacl step (on rdflib, on pyoxigraph, or a pyshacl incremental step) is stopped")
    parser.add_argument("--pyshacl-max", type=int, default=0, help="skip pyshacl above this many triples (0: never skip)")
    parser.add_argument("--native-cap", type=float, default=1800, help="seconds before the native engine is stopped")
    parser.add_argument("--floor-cap", type=float, default=900, help="seconds before the floor step is stopped")
    parser.add_argument("--raw-floor-cap", type=float, default=120, help="seconds before the raw sh:construct floor is stopped")
    parser.add_argument("--query-cap", type=float, default=120, help="seconds before one query (or the /attribution step) is stopped")
    parser.add_argument("--repeat", type=int, default=20, help="repetitions per query for p50/p95")
    parser.add_argument("--budget", type=float, default=20, help="seconds of repetitions per query (at least 3 runs)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="incremental step: add and retract each source this many times, and report each source's median")
    parser.add_argument("--digest-limit", type=int, default=3_000_000, help="compare inferred graphs by digest up to this size")
    parser.add_argument("--skip", default="", help=f"comma-separated steps to skip: {','.join(SKIPPABLE)}")
    parser.add_argument("--regenerate", action="store_true", help="regenerate graphs even if cached")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--step-args", help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.step:
        run_step_here(opts.step, json.loads(opts.step_args))
        return 0
    from fimigraph.generate import parse_count

    opts.skip = [s for s in opts.skip.split(",") if s]
    if unknown := sorted(set(opts.skip) - set(SKIPPABLE)):
        parser.error(f"--skip: unknown step {', '.join(unknown)}; choose among {','.join(SKIPPABLE)}")
    sizes = [parse_count(s) for s in opts.sizes.split(",") if s]
    log = (lambda msg: print(msg, file=sys.stderr, flush=True))
    started = datetime.now(timezone.utc)
    results = [bench_size(size, opts, log) for size in sizes]
    report = {
        "command": " ".join([".venv/bin/python", "bench/run.py", *(argv if argv is not None else sys.argv[1:])]),
        "date": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "caps": {"pyshacl": opts.pyshacl_cap, "native": opts.native_cap, "floor": opts.floor_cap, "query": opts.query_cap},
        "results": results,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "last.json").write_text(json.dumps(report, indent=1))
    if opts.json:
        print(json.dumps(report, indent=1))
    else:
        header, rows = table_rows(results)
        print(f"fimigraph benchmark — {report['date']} — {report['machine']['cpu']}, {report['machine']['cores']} cores "
              f"(a change runs up to {report['machine']['engine_workers']} queries at a time; a rebuild one), {report['machine']['memory']}\n{report['command']}\ncaps: pyshacl {opts.pyshacl_cap:.0f} s, floor "
              f"{opts.floor_cap:.0f} s, native {opts.native_cap:.0f} s\n")
        print(render(header, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
