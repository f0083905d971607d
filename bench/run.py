"""fimigraph benchmark: generate, load, reason (native, its floor, three references), update, query — per graph size.

    .venv/bin/python bench/run.py --sizes 10k,100k,1M [--json] [--skip pyshacl] [--pyshacl-cap 300]

Every step runs in a fresh subprocess, so that its peak memory (ru_maxrss) is its own and a
cap really stops it. Generated graphs and stores are kept under bench/out/ (git-ignored);
a graph is generated once per (size, seed) and reused. See bench/README.md for the rows.
"""

from __future__ import annotations

import argparse
import hashlib
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
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"
sys.path.insert(0, str(REPO / "service"))  # run from a checkout without installing

SEED_CASE = "https://w3id.org/fimigraph/case/boycottparis2024/"
FLOOR_GRAPH = "urn:fimigraph:bench:floor"
"""The empty named graph the floor step writes into (and empties again, untimed)."""


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


def _inferred_quads(store: Any) -> Any:
    import pyoxigraph as ox
    from fimigraph.vocab import INFERRED_GRAPH

    return store.ox.quads_for_pattern(None, None, None, ox.NamedNode(str(INFERRED_GRAPH)))


def _inferred_digest(store: Any) -> str:
    """A digest of the store's inferred graph that does not depend on order (see ``_digest``), streamed."""
    return _digest(_inferred_quads(store))


def _digest(triples: Iterable[Any]) -> str:
    """The sum of the triples' SHA-256 (pyoxigraph triples or quads, read as N-Triples terms), mod 2²⁵⁶.

    Order-free and streamed, so it adds nothing to a step's peak memory; inferred IRIs are
    deterministic (hashes of their keys), so equal graphs give equal digests.
    """
    total = 0
    for t in triples:
        total += int.from_bytes(hashlib.sha256(f"{t.subject} {t.predicate} {t.object}".encode()).digest(), "big")
    return f"{total % (1 << 256):064x}"


def _rdflib_digest(graph: Any) -> str:
    """:func:`_digest` of an rdflib graph (through N-Triples, so that terms print as pyoxigraph prints them)."""
    import pyoxigraph as ox

    return _digest(ox.parse(graph.serialize(format="nt").encode(), format=ox.RdfFormat.N_TRIPLES))


class Timers:
    """Wall and CPU seconds spent in wrapped functions, by label (a label's calls add up).

    A wrapped function called from inside another wrapped one counts in both: labels are
    chosen so that they do not nest, except where a row says so.
    """

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._undo: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, name: str, label: str) -> None:
        """Time every call of ``owner.name`` (a class's method or a module's function) under ``label``."""
        fn = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.wall[label] = self.wall.get(label, 0.0) + time.perf_counter() - wall
                self.cpu[label] = self.cpu.get(label, 0.0) + time.process_time() - cpu
                self.calls[label] = self.calls.get(label, 0) + 1

        self._undo.append((owner, name, fn))
        setattr(owner, name, timed)

    def take(self) -> dict[str, float]:
        """Wall seconds by label since the last take (rounded), and reset."""
        out = {k: round(v, 4) for k, v in self.wall.items()}
        self.wall.clear()
        self.cpu.clear()
        self.calls.clear()
        return out

    def report(self) -> dict[str, dict[str, float]]:
        return {k: {"seconds": round(v, 3), "cpu": round(self.cpu.get(k, 0.0), 3), "calls": self.calls.get(k, 0)}
                for k, v in self.wall.items()}


def _engine_timers() -> Timers:
    """Timers on the parts of a native rebuild the library exposes (see README, "native")."""
    from fimigraph import reason
    from fimigraph.engine import Engine
    from fimigraph.engine.fixpoint import Reasoner
    from fimigraph.store import GraphStore
    from fimigraph.views import Views

    timers = Timers()
    timers.wrap(Engine, "__init__", "compile")            # reason.new_engine(): the rules compiled
    timers.wrap(Engine, "read_store", "read")             # the asserted facts the rules read, from the store
    timers.wrap(Reasoner, "rebuild", "reason")            # the fixpoint in memory
    timers.wrap(Engine, "inferred", "collect")            # the inferred set (Engine.rebuild computes it too)
    timers.wrap(Engine, "change", "change")               # an incremental change in memory (Reasoner.change + filtering)
    timers.wrap(reason, "_stored_inferred", "read_old")   # the inferred graph the store holds, read to diff
    timers.wrap(reason, "_commit", "commit")              # the transaction(s) of SPARQL updates
    timers.wrap(GraphStore, "optimize", "compact")        # compaction at the end of a rebuild (the views' included)
    timers.wrap(Views, "rebuild", "views")                # need-to-know: every band's copy made again after a rebuild
    timers.wrap(Views, "optimize", "views_compact")       # their compaction, part of "compact"
    timers.wrap(Views, "apply", "views_apply")            # a change written to each copy within its band
    return timers


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
    """``reason.infer(store, engine="native")`` on a store with an empty inferred graph, its parts timed."""
    from fimigraph import reason

    store = _store(a["store"])
    timers = _engine_timers()
    started, cpu = time.perf_counter(), time.process_time()
    report = reason.infer(store, engine="native")
    flushed = time.perf_counter()
    store.flush()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    parts = timers.report()
    measured = sum(parts.get(k, {}).get("seconds", 0.0) for k in ("compile", "read", "reason", "collect", "read_old", "commit", "compact", "views"))
    # What is left of infer() is writing: the bulk transaction of the inferred quads (to_quads + Store.extend).
    parts["write"] = {"seconds": round(flushed - started - measured + parts.get("commit", {}).get("seconds", 0.0), 3)}
    parts["flush"] = {"seconds": round(time.perf_counter() - flushed, 3)}
    return {"seconds": round(seconds, 3), "cpu": round(cpu, 3), "parts": parts, "rounds": report.passes,
            "triples": _inferred_count(store), "digest": _inferred_digest(store)}


def step_links(a: dict[str, Any]) -> dict[str, Any]:
    """What the inferred graph holds: link nodes against their keys, derivations, triples by predicate."""
    from fimigraph.vocab import INFERRED_GRAPH

    store = _store(a["store"], read_only=True)
    g = f"GRAPH <{INFERRED_GRAPH}>"

    def one(sparql: str) -> int:
        return int(next(iter(store.select(sparql)[0].values())))

    started = time.perf_counter()
    link = "?l a fimi:AttributionLink ; fimi:linkSubject ?s ; fimi:linkTarget ?t ; fimi:grade ?g"
    out: dict[str, Any] = {
        "link_nodes": one(f"SELECT (COUNT(?l) AS ?n) WHERE {{ {g} {{ ?l a fimi:AttributionLink }} }}"),
        "subject_state_grade": one(f"SELECT (COUNT(*) AS ?n) WHERE {{ SELECT DISTINCT ?s ?t ?g WHERE {{ {g} {{ {link} }} }} }}"),
        "subject_state_grade_directness": one(
            f"SELECT (COUNT(*) AS ?n) WHERE {{ SELECT DISTINCT ?s ?t ?g ?d WHERE {{ {g} {{ {link} ; fimi:directness ?d }} }} }}"),
        "subjects": one(f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ {g} {{ ?l a fimi:AttributionLink ; fimi:linkSubject ?s }} }}"),
        "derivation_nodes": one(f"SELECT (COUNT(?d) AS ?n) WHERE {{ {g} {{ ?d a fimi:Derivation }} }}"),
    }
    out["types"] = {r["c"].rsplit("#", 1)[-1]: int(r["n"]) for r in store.select(
        f"SELECT ?c (COUNT(?x) AS ?n) WHERE {{ {g} {{ ?x a ?c }} }} GROUP BY ?c ORDER BY DESC(?n)")}
    out["predicates"] = {r["p"].rsplit("#", 1)[-1].rsplit("/", 1)[-1]: int(r["n"]) for r in store.select(
        f"SELECT ?p (COUNT(*) AS ?n) WHERE {{ {g} {{ ?x ?p ?o }} }} GROUP BY ?p ORDER BY DESC(?n)")}
    out["triples"] = sum(out["predicates"].values())
    out["seconds"] = round(time.perf_counter() - started, 3)
    return out


def step_floor(a: dict[str, Any]) -> dict[str, Any]:
    """What a rebuild cannot avoid: read the facts the rules read, and write as many triples as it infers in one transaction."""
    import pyoxigraph as ox
    from fimigraph import reason
    from fimigraph.vocab import INFERRED_GRAPH

    store = _store(a["store"])
    skip = {ox.NamedNode(str(INFERRED_GRAPH))}
    engine = reason.new_engine()  # compiled outside the timings
    started, cpu = time.perf_counter(), time.process_time()
    scanned = sum(1 for _ in engine.relevant(store.ox, skip))
    scan, scan_cpu = time.perf_counter() - started, time.process_time() - cpu
    _emit({"progress": "scan", "seconds": round(scan, 3), "quads": scanned})
    started = time.perf_counter()
    asserted = engine.read_store(store.ox, skip_graphs=[str(INFERRED_GRAPH)])
    read_store = time.perf_counter() - started
    del engine
    _emit({"progress": "read_store", "seconds": round(read_store, 3), "facts": asserted})
    # The triples to write: the inferred graph the native step left (else as many asserted ones), in an empty graph.
    target = ox.NamedNode(FLOOR_GRAPH)
    quads = [ox.Quad(q.subject, q.predicate, q.object, target) for q in _inferred_quads(store)]
    source = "inferred graph"
    if not quads and a.get("floor_triples"):
        source = "asserted quads (no inferred graph)"
        quads = [ox.Quad(q.subject, q.predicate, q.object, target)
                 for _, q in zip(range(a["floor_triples"]), store.ox.quads_for_pattern(None, None, None, None))]
    store.ox.clear_graph(target)
    started, cpu = time.perf_counter(), time.process_time()
    store.ox.extend(quads)  # one transaction, as reason.infer writes an empty inferred graph
    write, write_cpu = time.perf_counter() - started, time.process_time() - cpu
    _emit({"progress": "write", "seconds": round(write, 3), "quads": len(quads)})
    written = len(quads)
    del quads
    started = time.perf_counter()  # leave the store as it was: emptied and compacted (untimed)
    store.ox.remove_graph(target)
    store.optimize()
    store.flush()
    return {"seconds": round(scan + write, 3), "cpu": round(scan_cpu + write_cpu, 3), "scan_seconds": round(scan, 3),
            "scanned_quads": scanned, "write_seconds": round(write, 3), "written": written, "written_from": source,
            "read_store_seconds": round(read_store, 3), "read_store_facts": asserted,
            "cleanup_seconds": round(time.perf_counter() - started, 1)}


def _asserted_graph(store: Any) -> Any:
    from rdflib import Graph

    return Graph().parse(data=store.reasoning_input().decode(), format="nt")


def _progress(started: float) -> Callable[[int, int], None]:
    return lambda n, t: _emit({"progress": f"pass {n}", "triples": t, "seconds": round(time.perf_counter() - started, 1)})


def step_pyshacl(a: dict[str, Any]) -> dict[str, Any]:
    """The reference: ``reason.pyshacl_fixpoint`` on rdflib (or pyoxigraph), the store only read."""
    from fimigraph import reason

    store = _store(a["store"], read_only=True)
    started, cpu = time.perf_counter(), time.process_time()
    data = _asserted_graph(store)
    inferred, passes = reason.pyshacl_fixpoint(data, backend=a.get("backend", "rdflib"), on_pass=_progress(started))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"seconds": round(seconds, 3), "cpu": round(cpu, 3), "triples": len(inferred), "passes": passes,
            "digest": _rdflib_digest(inferred)}


def turbo_fixpoint(data: Any, *, on_pass: Callable[[int, int], None] | None = None) -> tuple[Any, int]:
    """``reason.pyshacl_fixpoint`` (rdflib backend) with pyshacl-turbo's ``shacl_rules`` in pyshacl's place.

    The same strata, passes to a fixpoint and dropping of working properties as the reference:
    only the rule pass is turbo's. Meant for a step's own process (it swaps the function in for the call).
    """
    from unittest import mock

    import pyshacl_turbo
    from fimigraph import reason

    with mock.patch.object(reason.pyshacl, "shacl_rules", pyshacl_turbo.shacl_rules):
        return reason.pyshacl_fixpoint(data, backend="rdflib", on_pass=on_pass)


def step_pyshacl_turbo(a: dict[str, Any]) -> dict[str, Any]:
    try:
        import pyshacl_turbo
    except ImportError:
        return {"status": "n/a", "reason": "pyshacl-turbo not installed (pip install -e '.[bench]')"}
    store = _store(a["store"], read_only=True)
    started, cpu = time.perf_counter(), time.process_time()
    inferred, passes = turbo_fixpoint(_asserted_graph(store), on_pass=_progress(started))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"seconds": round(seconds, 3), "cpu": round(cpu, 3), "triples": len(inferred), "passes": passes,
            "digest": _rdflib_digest(inferred), "version": pyshacl_turbo.__version__}


INCREMENTAL_SOURCES = 8
"""Further reports of the same world added and retracted one by one (what follows from one varies a lot)."""


def step_incremental(a: dict[str, Any]) -> dict[str, Any]:
    """Sources added and retracted one at a time with ``reason.apply``, as ``ingest.write_document`` and ``ingest.retract`` do."""
    from fimigraph import reason
    from fimigraph.generate import extra_source
    from fimigraph.ingest import read_document

    store = _store(a["store"])
    # A store reasoned by an earlier version, or never reasoned (bulk-loaded only): derive it first,
    # as a server would before serving (reason.recover sees no need when nothing was ever derived).
    rebuilt = reason.recover(store)
    if rebuilt is None and not _inferred_count(store):
        rebuilt = ("empty (never reasoned)", reason.infer(store))
    docs = [read_document(extra_source(triples=a["size"], seed=a["seed"], n=n)[1].encode(), media_type="text/turtle")
            for n in range(a.get("sources") or INCREMENTAL_SOURCES)]  # validated up front: not what is timed
    before = reason.inferred_size(store)  # the recorded size: no engine in this process yet
    digest_before = _inferred_digest(store) if before <= a["digest_limit"] else None
    timers = _engine_timers()

    def add(doc: Any) -> tuple[str, dict[str, Any]]:
        started = time.perf_counter()
        change = store.prepare_put(doc.source_iri, doc.metadata, doc.claims, replace=False)
        prepared = time.perf_counter()
        report = reason.apply(store, change)
        done = time.perf_counter()
        return change.sid, {"seconds": done - started, "prepare": prepared - started, "apply": done - prepared,
                            "added": report.added, "removed": report.removed, "total": report.triples, **timers.take()}

    def retract(sid: str) -> dict[str, Any]:
        started = time.perf_counter()
        _info, change = store.prepare_retract(sid)
        prepared = time.perf_counter()
        report = reason.apply(store, change)
        done = time.perf_counter()
        return {"seconds": done - started, "prepare": prepared - started, "apply": done - prepared,
                "added": report.added, "removed": report.removed, "total": report.triples, **timers.take()}

    # The first change in a process builds the store's engine (reads the store, derives everything
    # in memory): timed apart, with that build's parts, and retracted before the measured rounds.
    sid, first = add(docs[0])
    _emit({"progress": "first change", **first})
    first_retract = retract(sid)
    _emit({"progress": "first retract", **first_retract})
    runs: list[dict[str, Any]] = []
    restored = True
    for n, doc in enumerate(docs):
        adds, retracts = [], []
        for _ in range(a.get("rounds", 1)):
            sid, added = add(doc)
            adds.append(added)
            retracts.append(retract(sid))
            restored = restored and retracts[-1]["total"] == before
        # Several rounds: each source's median, so one slow moment of a shared machine does not decide.
        runs.append({
            "source_triples": len(doc.metadata) + len(doc.claims), "inferred_added": adds[0]["added"],
            "add_seconds": round(statistics.median(x["seconds"] for x in adds), 4),
            "retract_seconds": round(statistics.median(x["seconds"] for x in retracts), 4),
            "add_parts": _median_parts(adds), "retract_parts": _median_parts(retracts),
            "add_rounds": [round(x["seconds"], 4) for x in adds], "retract_rounds": [round(x["seconds"], 4) for x in retracts],
        })
        _emit({"progress": f"source {n}", **runs[-1]})
    if digest_before is not None:
        restored = restored and _inferred_digest(store) == digest_before

    def med(key: str) -> float:
        return round(statistics.median(r[key] for r in runs), 4)

    build = {k: round(first.get(k, 0.0), 3) for k in ("compile", "read", "reason", "collect")}
    return {
        "rebuilt_first": rebuilt[0] if rebuilt else None, "sources": len(runs), "rounds": a.get("rounds", 1), "runs": runs,
        "restored_exactly": restored if digest_before is not None else f"{restored} (counts only: above --digest-limit)",
        "first_add_seconds": round(first["seconds"], 3), "first_add_build": build,
        "first_add_without_build": round(first["seconds"] - sum(build.values()), 3),
        "first_retract_seconds": round(first_retract["seconds"], 3),
        "add_seconds": med("add_seconds"), "add_max_seconds": max(r["add_seconds"] for r in runs),
        "retract_seconds": med("retract_seconds"), "retract_max_seconds": max(r["retract_seconds"] for r in runs),
        "add_parts": _median_parts([r["add_parts"] for r in runs]),
        "retract_parts": _median_parts([r["retract_parts"] for r in runs]),
        "source_triples": statistics.median_low(r["source_triples"] for r in runs),
        "inferred_added": statistics.median_low(r["inferred_added"] for r in runs),
        "inferred_added_max": max(r["inferred_added"] for r in runs),
        "seconds": round(sum(r["add_seconds"] + r["retract_seconds"] for r in runs), 3),
    }


PART_KEYS = ("prepare", "apply", "change", "collect", "commit", "views_apply", "read_old", "compile", "read", "reason", "compact")
"""What a change's time is made of (see README, "incremental"); absent parts count as 0."""


def _median_parts(items: list[dict[str, Any]]) -> dict[str, float]:
    return {k: round(statistics.median(x.get(k, 0.0) for x in items), 4) for k in PART_KEYS
            if any(x.get(k) for x in items)}


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000, 2)

    return {"p50_ms": pick(0.5), "p95_ms": pick(0.95), "max_ms": round(ordered[-1] * 1000, 2), "n": len(ordered),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 2)}


ATTRIBUTION_SAMPLE = 40
"""Subjects drawn (seeded, uniformly among those with a link) for the usual /attribution request."""
BUSIEST = 3
"""The subjects with the most link nodes, timed apart."""


def bearer(store: str | Path, clearance: str, role: str = "reader") -> dict[str, str]:
    """The headers of a new API token for a caller of ``clearance`` (``fimigraph tokens add``), made in the store's folder."""
    from fimigraph.callers import Tokens

    return {"Authorization": "Bearer " + Tokens(Path(store)).add(f"bench ({clearance})", role=role, clearance=clearance)[1]}


def step_attribution(a: dict[str, Any]) -> dict[str, Any]:
    try:
        from fastapi.testclient import TestClient

        from fimigraph.api.app import create_app
        from fimigraph.settings import load_settings
    except ImportError as exc:
        return {"status": "n/a", "reason": f"no API: {exc}"}
    import random

    from fimigraph.vocab import INFERRED_GRAPH

    store = _store(a["store"], read_only=True)
    rows = store.select(
        f"SELECT ?s (COUNT(?l) AS ?n) WHERE {{ GRAPH <{INFERRED_GRAPH}> {{ ?l a fimi:AttributionLink ; fimi:linkSubject ?s }} }} "
        "GROUP BY ?s ORDER BY DESC(?n) STR(?s)"
    )
    if not rows:  # no inferred graph (no engine finished): ask about campaigns anyway
        rows = [{**r, "n": 0} for r in store.select("SELECT DISTINCT ?s WHERE { ?s a fimi:Campaign } ORDER BY STR(?s) LIMIT 10")]
    # Any subject with a link may be asked about: a seeded uniform sample is the usual request.
    # Link nodes per subject are skewed, so the busiest subjects, the worst case, are timed on their own.
    sample = random.Random(a["seed"]).sample(rows, min(len(rows), ATTRIBUTION_SAMPLE))
    busiest = rows[:BUSIEST]
    usual: list[float] = []
    worst: list[float] = []
    answers: dict[str, dict[str, int]] = {}
    # A read-only store and the reference engine's settings: the app then neither recovers nor
    # builds the native engine at start-up (neither changes how /attribution reads the store).
    settings = load_settings(store=Path(a["store"]), engine="pyshacl")
    # A reader cleared for TLP:RED reads the whole store (need-to-know's cost: bench/need_to_know.py).
    with TestClient(create_app(settings, store=store), headers=bearer(a["store"], a.get("clearance", "red"))) as client:
        for subject, samples, repeat in [(r["s"], usual, 3) for r in sample] + [(r["s"], worst, a["repeat"]) for r in busiest]:
            response = client.get("/attribution", params={"subject": subject})  # warm-up
            if response.status_code != 200:
                return {"status": "error", "reason": f"HTTP {response.status_code}: {response.text[:200]}"}
            answers[subject] = {"entries": len(response.json().get("links", [])), "bytes": len(response.content)}
            samples += _measure(lambda s=subject: client.get("/attribution", params={"subject": s}), repeat, a["budget"] / len(busiest))
            _emit({"progress": subject, **answers[subject], "last_ms": round(samples[-1] * 1000, 1)})
    largest = max(answers.items(), key=lambda kv: (kv[1]["entries"], kv[1]["bytes"]))
    return {
        **_percentiles(usual),
        "subjects": len(sample),
        "links_median": statistics.median_low(r["n"] for r in sample),
        "entries_median": statistics.median_low(answers[r["s"]]["entries"] for r in sample),
        "bytes_median": statistics.median_low(answers[r["s"]]["bytes"] for r in sample),
        "largest_answer": {"subject": largest[0], **largest[1]},
        "busiest": {"status": "ok", **_percentiles(worst), "subjects": len(busiest), "links": [r["n"] for r in busiest],
                    "entries": [answers[r["s"]]["entries"] for r in busiest], "bytes": [answers[r["s"]]["bytes"] for r in busiest],
                    "iris": [r["s"] for r in busiest]},
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
    "generate": step_generate, "load": step_load, "native": step_native, "links": step_links, "floor": step_floor,
    "pyshacl": step_pyshacl, "pyshacl-turbo": step_pyshacl_turbo,
    "incremental": step_incremental, "attribution": step_attribution, "query": step_query,
}

SKIPPABLE = ("native", "links", "floor", "pyshacl", "pyshacl-oxigraph", "pyshacl-turbo", "incremental", "attribution", "queries")
"""What ``--skip`` takes: a misspelt step would otherwise run, for minutes or hours."""
REFERENCES = ("pyshacl-oxigraph", "pyshacl-turbo", "pyshacl")
"""The reference engines, in the order they run (all only read the store)."""


def run_step_here(name: str, args: dict[str, Any], steps: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] | None = None) -> None:
    """Child side: run one step and print its result with the process's peak memory."""
    import logging
    import warnings

    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    load = os.getloadavg()[0]
    result = (steps or STEPS)[name](args)
    result.setdefault("status", "ok")
    result["rss_mb"] = _rss_mb()
    result["load_1m"] = round(load, 2)
    _emit(result)


# ======================================================================================
# Parent side: run the steps of each size, each in its own process, and report.


def _rss_of(pid: int) -> float:
    """A live process's resident memory in MB (0 once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    m = re.search(r"VmRSS:\s*(\d+)", text)
    return int(m.group(1)) / 1024 if m else 0.0


def run_step(name: str, args: dict[str, Any], *, cap: float | None, log: Any, tag: str | None = None,
             mem_cap: float = 0, script: Path | None = None) -> dict[str, Any]:
    """Run one step in a subprocess; a cap on seconds (or on resident MB, ``mem_cap``) kills it (status 'capped')."""
    import tempfile

    cmd = [sys.executable, str(script or Path(__file__).resolve()), "--step", name, "--step-args", json.dumps(args)]
    started = time.perf_counter()
    load = round(os.getloadavg()[0], 2)
    env = {**os.environ, "PYTHONPATH": str(REPO / "service") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
        why, peak = None, 0.0
        while proc.poll() is None:
            time.sleep(0.5)
            peak = max(peak, _rss_of(proc.pid))
            if cap is not None and time.perf_counter() - started > cap:
                why = f"{cap:.0f} s"
            elif mem_cap and peak > mem_cap:
                why = f"{mem_cap:,.0f} MB"
            if why:
                proc.kill()
                proc.wait()
                break
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    wall = round(time.perf_counter() - started, 1)
    if why:
        progress = [json.loads(line) for line in lines]
        log(f"  {tag or name}: capped at {why} (load {load}, peak {peak:,.0f} MB)")
        return {"status": "capped", "cap": cap, "capped_by": why, "progress": progress, "wall": wall, "load_1m": load,
                "rss_mb": round(peak, 1)}
    if proc.returncode != 0 or not lines:
        reason = (stderr.strip().splitlines() or [f"exit status {proc.returncode}, no output"])[-1]
        log(f"  {tag or name}: error: {reason}")
        return {"status": "error", "reason": reason[:300], "stderr": stderr[-3000:], "rss_mb": round(peak, 1)}
    result = json.loads(lines[-1])
    result["progress"] = [json.loads(line) for line in lines[:-1]]
    result["wall"] = wall
    log(f"  {tag or name}: {result.get('status')} {result.get('seconds', result.get('p50_ms', ''))}  "
        f"(wall {result['wall']} s, peak {result.get('rss_mb')} MB, load {result.get('load_1m')})")
    return result


def label(n: int) -> str:
    """100000 → '100k'."""
    for unit, div in (("M", 1_000_000), ("k", 1_000)):
        if n >= div and n % div == 0:
            return f"{n // div}{unit}"
    return str(n)


def world_paths(size: int, seed: int) -> dict[str, Any]:
    """Where a world of this size and seed is generated and loaded, as the steps' common arguments take them."""
    name = f"{label(size)}-s{seed}"
    return {"size": size, "seed": seed, "nq": str(OUT / f"gen-{name}.nq"), "store": str(OUT / f"store-{name}")}


def generated(common: dict[str, Any], *, regenerate: bool, log: Any) -> dict[str, Any]:
    """The generate step's result: the world's N-Quads written once per (size, seed), then reused."""
    nq = Path(common["nq"])
    meta = nq.with_suffix(".json")
    if nq.exists() and meta.exists() and not regenerate:
        log(f"  generate: cached {nq.name}")
        return {**json.loads(meta.read_text()), "cached": True}
    result = run_step("generate", common, cap=None, log=log)
    meta.write_text(json.dumps(result))
    return result


def bench_size(size: int, opts: argparse.Namespace, log: Any) -> dict[str, Any]:
    """All steps for one graph size."""
    OUT.mkdir(parents=True, exist_ok=True)
    common = {**world_paths(size, opts.seed), "repeat": opts.repeat, "budget": opts.budget,
              "digest_limit": opts.digest_limit, "rounds": opts.rounds, "sources": opts.sources}
    log(f"[{label(size)}] seed {opts.seed}, load {os.getloadavg()[0]:.2f}")
    res: dict[str, Any] = {"size": size, "load_at_start": [round(x, 2) for x in os.getloadavg()]}
    res["generate"] = generated(common, regenerate=opts.regenerate, log=log)
    skip = set(opts.skip)

    def step(key: str, name: str, cap: float | None, args: dict[str, Any] | None = None, tag: str | None = None) -> None:
        res[key] = ({"status": "skipped"} if key in skip else
                    run_step(name, {**common, **(args or {})}, cap=cap, log=log, tag=tag, mem_cap=opts.mem_cap))

    res["load"] = run_step("load", common, cap=None, log=log)
    step("native", "native", opts.native_cap)
    step("links", "links", opts.query_cap)
    step("floor", "floor", opts.floor_cap,
         {"floor_triples": res["native"].get("triples") or 0})
    caps = {"pyshacl": opts.pyshacl_cap, "pyshacl-oxigraph": opts.oxigraph_cap or opts.pyshacl_cap,
            "pyshacl-turbo": opts.turbo_cap or opts.pyshacl_cap}
    for key in REFERENCES:
        limit = {"pyshacl": opts.pyshacl_max, "pyshacl-oxigraph": opts.oxigraph_max, "pyshacl-turbo": opts.turbo_max}[key]
        if key not in skip and limit and size > limit:
            res[key] = {"status": "skipped", "reason": f"size above its --*-max {limit:,}"}
        elif key == "pyshacl-turbo":
            step(key, "pyshacl-turbo", caps[key])
        else:
            step(key, "pyshacl", caps[key], {"backend": "pyoxigraph" if key == "pyshacl-oxigraph" else "rdflib"}, tag=key)
        if res[key].get("status") == "ok" and res["native"].get("status") == "ok":
            res[key]["identical_to_native"] = res[key]["digest"] == res["native"]["digest"]
    step("incremental", "incremental", opts.native_cap)
    step("attribution", "attribution", opts.query_cap)
    res["queries"] = {"status": "skipped"} if "queries" in skip else {"status": "ok", "queries": {
        path.stem: run_step("query", {**common, "file": str(path)}, cap=opts.query_cap, log=log, tag=f"query {path.stem}")
        for path in sorted((REPO / "data" / "queries").glob("*.rq"))}}
    res["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return res


def machine() -> dict[str, Any]:
    """What the numbers were measured on, and which code."""
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
    for mod in ("fimigraph", "pyoxigraph", "pyshacl", "rdflib", "pyshacl_turbo"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001
            versions[mod] = "?"
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "commit": commit,
            "python": platform.python_version(), "os": platform.platform(), **versions}


# -- presentation -----------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def _s(step: dict[str, Any], key: str = "seconds") -> str:
    status = step.get("status")
    if status == "capped":
        return f"> {step.get('capped_by') or str(round(step['cap'])) + ' s'} (cap)"
    if status in ("n/a", "skipped"):
        return f"n/a: {step.get('reason', status)}"
    if status == "error":
        return f"error: {step.get('reason', '')[:60]}"
    return _fmt(step.get(key))


def _ratio(a: dict[str, Any], b: dict[str, Any]) -> str:
    if a.get("status") == "ok" and b.get("status") == "ok" and b.get("seconds"):
        return f"{a['seconds'] / b['seconds']:.1f}×"
    if a.get("status") == "capped" and str(a.get("capped_by", " s")).endswith(" s") and b.get("status") == "ok" and b.get("seconds"):
        passes = [p for p in a.get("progress", []) if str(p.get("progress", "")).startswith("pass")]
        done = f"; {len(passes)} passes done" if passes else "; first pass unfinished"
        return f"> {a['cap'] / b['seconds']:.0f}×{done}"
    return "n/a"


def _ms(step: dict[str, Any]) -> str:
    warm = [p for p in step.get("progress", []) if p.get("progress") == "warm-up"]
    if step.get("status") == "capped" and warm:  # too slow to repeat within the cap: what one run took
        return f"{_s(step)}; one run {warm[0]['seconds']:.1f} s, {warm[0].get('rows', 0):,} rows"
    if step.get("status") != "ok" or "p50_ms" not in step:
        return _s(step)
    return f"{step['p50_ms']:.1f} / {step['p95_ms']:.1f} ms"


def _part(step: dict[str, Any], key: str) -> float | None:
    part = step.get("parts", {}).get(key)
    return part.get("seconds") if part else None


def _incremental_view(step: dict[str, Any]) -> dict[str, Any] | None:
    """The incremental step's summary; for a capped step, what its progress lines had reported (None: nothing)."""
    if step.get("status") == "ok":
        return step
    first = next((p for p in step.get("progress", []) if p.get("progress") == "first change"), None)
    runs = [p for p in step.get("progress", []) if str(p.get("progress", "")).startswith("source ")]
    if first is None:
        return None
    view: dict[str, Any] = {"sources": len(runs), "rounds": len(runs[0]["add_rounds"]) if runs else 0,
                            "first_add_seconds": first["seconds"],
                            "first_add_build": {k: first.get(k, 0.0) for k in ("compile", "read", "reason", "collect")},
                            "restored_exactly": "not checked (capped)"}
    if runs:
        view.update({
            "add_seconds": statistics.median(x["add_seconds"] for x in runs), "add_max_seconds": max(x["add_seconds"] for x in runs),
            "retract_seconds": statistics.median(x["retract_seconds"] for x in runs),
            "retract_max_seconds": max(x["retract_seconds"] for x in runs),
            "add_parts": _median_parts([x["add_parts"] for x in runs]), "retract_parts": _median_parts([x["retract_parts"] for x in runs]),
            "source_triples": statistics.median_low(x["source_triples"] for x in runs),
            "inferred_added": statistics.median_low(x["inferred_added"] for x in runs),
            "inferred_added_max": max(x["inferred_added"] for x in runs)})
    return view


def table_rows(results: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """The report as a header and rows (one column per size)."""
    header = ["step"] + [label(r["size"]) for r in results]
    rows: list[list[str]] = []

    def row(name: str, fn: Any) -> None:
        rows.append([name] + [fn(r) for r in results])

    def ok(step: dict[str, Any]) -> bool:
        return step.get("status") == "ok"

    gen = lambda r: r["generate"].get("stats", {})  # noqa: E731
    row("asserted triples (generated)", lambda r: f"{gen(r).get('triples', 0):,}")
    row("sources / claims", lambda r: f"{gen(r).get('sources', 0):,} / {gen(r).get('claims', 0):,}")
    row("generate (peak RSS)", lambda r: f"{_s(r['generate'])} ({r['generate'].get('rss_mb', '?')} MB)")
    row("load: bulk N-Quads + ontology → disk", lambda r: _s(r["load"]))
    row("quads in store", lambda r: f"{r['load'].get('quads', 0):,}")
    row("native: full rebuild (reason.infer)", lambda r: _s(r["native"]) + (f" (CPU {r['native']['cpu']:.1f} s)" if ok(r["native"]) else ""))
    for key, name in (("compile", "compile the rules (new_engine)"), ("read", "read the asserted facts (Engine.read_store)"),
                      ("reason", "reason in memory (Reasoner.rebuild)"), ("collect", "collect the inferred set (Engine.inferred, ×2)"),
                      ("write", "write the inferred graph (one transaction)"), ("commit", "note the run (SPARQL update)"),
                      ("views", "copy each band's need-to-know view (Views.rebuild)"),
                      ("compact", "compact the store and views (GraphStore.optimize)")):
        row(f"  {name}", lambda r, k=key: _fmt(_part(r["native"], k)) if ok(r["native"]) else "—")
    row("  semi-naive rounds / peak RSS", lambda r: f"{r['native'].get('rounds')} / {r['native'].get('rss_mb', 0):,.0f} MB" if ok(r["native"]) else "—")
    row("inferred triples (digest)", lambda r: f"{r['native'].get('triples', 0):,} ({r['native'].get('digest', '')[:8]}…)" if ok(r["native"]) else "—")
    row("inferred / asserted triples",
        lambda r: f"{r['native']['triples'] / gen(r)['triples']:.2f}" if ok(r["native"]) and gen(r).get("triples") else "—")
    links = lambda r: r.get("links", {})  # noqa: E731
    row("link nodes / distinct (subject, state, grade)",
        lambda r: f"{links(r)['link_nodes']:,} / {links(r)['subject_state_grade']:,} = {links(r)['link_nodes'] / max(links(r)['subject_state_grade'], 1):.2f}"
        if ok(links(r)) else _s(links(r)))
    row("  distinct (subject, state, grade, directness)", lambda r: f"{links(r)['subject_state_grade_directness']:,}" if ok(links(r)) else "—")
    row("  derivation nodes", lambda r: f"{links(r)['derivation_nodes']:,}" if ok(links(r)) else "—")
    row("floor: read what the rules read + write as many triples", lambda r: _s(r["floor"]))
    row("  scan Engine.relevant (quads)", lambda r: f"{_fmt(r['floor']['scan_seconds'])} ({r['floor']['scanned_quads']:,})" if ok(r["floor"]) else "—")
    row("  write them, one transaction, empty graph (triples)",
        lambda r: f"{_fmt(r['floor']['write_seconds'])} ({r['floor']['written']:,})" if ok(r["floor"]) else "—")
    row("  (Engine.read_store, for comparison)", lambda r: _fmt(r["floor"]["read_store_seconds"]) if ok(r["floor"]) else "—")
    row("native / floor", lambda r: _ratio(r["native"], r["floor"]))

    def core(r: dict[str, Any]) -> str:  # read + reason + write, without compiling and compacting
        if not ok(r["native"]) or not ok(r["floor"]):
            return "n/a"
        spent = sum(_part(r["native"], k) or 0 for k in ("read", "reason", "collect", "write"))
        return f"{spent / r['floor']['seconds']:.1f}× ({_fmt(spent)})"

    row("  (read + reason + collect + write) / floor", core)
    for key, name in (("pyshacl", "pyshacl on rdflib (the reference)"), ("pyshacl-oxigraph", "pyshacl on pyoxigraph"),
                      ("pyshacl-turbo", "pyshacl-turbo")):
        row(name, lambda r, k=key: _s(r[k]))
        row(f"  {name.split(' (')[0]} / native", lambda r, k=key: _ratio(r[k], r["native"]))
        row("  the same in CPU seconds", lambda r, k=key: f"{r[k]['cpu'] / r['native']['cpu']:.1f}× ({r[k]['cpu']:,.1f} s)"
            if ok(r[k]) and ok(r["native"]) and r["native"].get("cpu") else "n/a")
        row("  output = native output", lambda r, k=key: str(r[k].get("identical_to_native", "n/a")))
    inc = lambda r: _incremental_view(r["incremental"])  # noqa: E731
    done = lambda r: inc(r) is not None  # noqa: E731
    row("incremental (reason.apply): sources × rounds",
        lambda r: (f"{inc(r)['sources']} × {inc(r)['rounds']}" + (f" (then {_s(r['incremental'])})" if not ok(r["incremental"]) else ""))
        if done(r) else _s(r["incremental"]))
    row("  first change in a process (builds the engine)",
        lambda r: f"{_fmt(inc(r)['first_add_seconds'])}, of which build {_fmt(sum(inc(r)['first_add_build'].values()))}"
        if done(r) and inc(r).get("first_add_seconds") is not None else "—")
    row("  add one source: median / max", lambda r: f"{_fmt(inc(r)['add_seconds'])} / {_fmt(inc(r)['add_max_seconds'])}" if done(r) and inc(r)["sources"] else "—")
    row("    of which in memory (Engine.change) / inferred set / commit / views",
        lambda r: " / ".join(_fmt(inc(r)["add_parts"].get(k)) for k in ("change", "collect", "commit", "views_apply")) if done(r) and inc(r)["sources"] else "—")
    row("  retract it: median / max", lambda r: f"{_fmt(inc(r)['retract_seconds'])} / {_fmt(inc(r)['retract_max_seconds'])}" if done(r) and inc(r)["sources"] else "—")
    row("    of which in memory (Engine.change) / inferred set / commit / views",
        lambda r: " / ".join(_fmt(inc(r)["retract_parts"].get(k)) for k in ("change", "collect", "commit", "views_apply")) if done(r) and inc(r)["sources"] else "—")
    row("  source triples / inferred added: median (max)",
        lambda r: f"{inc(r).get('source_triples')} / {inc(r).get('inferred_added')} ({inc(r).get('inferred_added_max')})" if done(r) and inc(r)["sources"] else "—")
    row("  inferred graph restored exactly", lambda r: str(inc(r).get("restored_exactly", "—")) if done(r) else "—")
    att = lambda r: r["attribution"]  # noqa: E731
    row("/attribution p50 / p95 (uniform sample of subjects)", lambda r: _ms(att(r)))
    row("  median link nodes / entries / bytes of the sampled subjects",
        lambda r: f"{att(r)['links_median']} / {att(r)['entries_median']} / {att(r)['bytes_median']:,}" if ok(att(r)) else "—")
    row(f"/attribution, {BUSIEST} busiest subjects p50 / p95", lambda r: _ms(att(r)["busiest"]) if "busiest" in att(r) else "—")
    row("  their link nodes", lambda r: ", ".join(f"{n:,}" for n in att(r).get("busiest", {}).get("links", [])) or "—")
    row("  their answers: entries (bytes)",
        lambda r: ", ".join(f"{e} ({b:,})" for e, b in zip(att(r)["busiest"]["entries"], att(r)["busiest"]["bytes"])) if "busiest" in att(r) else "—")
    row("  largest answer seen: entries (bytes)",
        lambda r: f"{att(r)['largest_answer']['entries']} ({att(r)['largest_answer']['bytes']:,})" if ok(att(r)) else "—")
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
    row("load average (1 min) at start / end", lambda r: f"{r['load_at_start'][0]:.1f} / {r['load_at_end'][0]:.1f}")
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
    parser.add_argument("--sizes", default="10k,100k", help="comma-separated triple counts (10k, 100k, 1M, 10M, …)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    parser.add_argument("--pyshacl-cap", type=float, default=300, help="seconds before a reference step is stopped (each; pyshacl on rdflib)")
    parser.add_argument("--oxigraph-cap", type=float, default=0, help="cap for pyshacl on pyoxigraph (0: --pyshacl-cap)")
    parser.add_argument("--turbo-cap", type=float, default=0, help="cap for pyshacl-turbo (0: --pyshacl-cap)")
    parser.add_argument("--pyshacl-max", type=int, default=0, help="skip pyshacl on rdflib above this many triples (0: never skip)")
    parser.add_argument("--oxigraph-max", type=int, default=0, help="skip pyshacl on pyoxigraph above this many triples (0: never skip)")
    parser.add_argument("--turbo-max", type=int, default=0, help="skip pyshacl-turbo above this many triples (0: never skip)")
    parser.add_argument("--native-cap", type=float, default=1800, help="seconds before the native step (or the incremental step) is stopped")
    parser.add_argument("--mem-cap", type=float, default=0, help="MB of resident memory at which a step is stopped (0: none)")
    parser.add_argument("--floor-cap", type=float, default=1800, help="seconds before the floor step is stopped")
    parser.add_argument("--query-cap", type=float, default=120, help="seconds before one query (or the /attribution or links step) is stopped")
    parser.add_argument("--repeat", type=int, default=20, help="repetitions per query for p50/p95")
    parser.add_argument("--budget", type=float, default=20, help="seconds of repetitions per query (at least 3 runs)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="incremental step: add and retract each source this many times, and report each source's median")
    parser.add_argument("--sources", type=int, default=INCREMENTAL_SOURCES, help="incremental step: further sources added and retracted")
    parser.add_argument("--digest-limit", type=int, default=20_000_000, help="incremental step: compare inferred graphs by digest up to this size")
    parser.add_argument("--skip", default="", help=f"comma-separated steps to skip: {','.join(SKIPPABLE)}")
    parser.add_argument("--regenerate", action="store_true", help="regenerate graphs even if cached")
    parser.add_argument("--render", help="print the table of saved JSON reports instead of running (comma-separated files; one column per size)")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--step-args", help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.step:
        run_step_here(opts.step, json.loads(opts.step_args))
        return 0
    if opts.render:
        reports = [json.loads(Path(f).read_text()) for f in opts.render.split(",")]
        for rep in reports:
            m = rep["machine"]
            print(f"{rep['command']}\n  fimigraph {m.get('fimigraph', '?')} at {m.get('commit', '?')}, {rep['date']} to {rep.get('finished', '?')}, "
                  f"{m['cpu']}, {m['cores']} cores, {m['memory']}")
        print()
        print(render(*table_rows([r for rep in reports for r in rep["results"]])))
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
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "caps": {"pyshacl": opts.pyshacl_cap, "pyshacl-oxigraph": opts.oxigraph_cap or opts.pyshacl_cap,
                 "pyshacl-turbo": opts.turbo_cap or opts.pyshacl_cap, "native": opts.native_cap, "floor": opts.floor_cap,
                 "query": opts.query_cap},
        "results": results,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "last.json").write_text(json.dumps(report, indent=1))
    if opts.json:
        print(json.dumps(report, indent=1))
    else:
        header, rows = table_rows(results)
        m = report["machine"]
        print(f"fimigraph {m['fimigraph']} at {m['commit']} — {report['date']} to {report['finished']} — {m['cpu']}, "
              f"{m['cores']} cores, {m['memory']}\n{report['command']}\n"
              f"caps: " + ", ".join(f"{k} {v:.0f} s" for k, v in report["caps"].items()) + "\n")
        print(render(header, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
