"""Where the native engine spends a rebuild and an incremental change: per rule, and per part of the engine.

    .venv/bin/python bench/profile_engine.py bench/out/store-1M-s42                 # rebuild, then 8 changes (add + retract)
    .venv/bin/python bench/profile_engine.py bench/out/store-1M-s42 --spy           # … sampled with py-spy as well
    .venv/bin/python bench/profile_engine.py bench/out/store-100k-s42 --cprofile out/rebuild.prof --changes 0

The store is opened read-only (a store that bench/run.py loaded; its inferred graph is not read):
the engine reads the asserted facts, rebuilds in memory, then adds and retracts further sources of
the same world (``fimigraph.generate.extra_source``) in memory only (``Engine.change``), as
``reason.apply`` does before it writes. Nothing is written.

- **Per rule** (always): every ``Rule.run``, ``Rule.anchors`` and ``Rule.head_anchors`` call is
  timed and attributed to its rule, with the triples ``run`` returned; ``Reasoner._saturate`` and
  ``Reasoner._maintain`` are timed per stratum.
- **Per engine part** (``--spy``): py-spy samples this process (``--rate`` Hz, without pausing it)
  during the rebuild and during the changes; the samples are summed per module of
  ``fimigraph/engine`` (own time), and per function (own and inclusive time, by the function's
  first line). ``--spy-raw FILE`` keeps the collapsed stacks (flamegraph input).
- ``--cprofile FILE``: cProfile over the rebuild instead (slower, exact call counts), stats
  written to FILE (``python -m pstats FILE``).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))  # run from a checkout without installing

from fimigraph import reason  # noqa: E402
from fimigraph.engine.fixpoint import Reasoner  # noqa: E402
from fimigraph.engine.rules import Rule  # noqa: E402
from fimigraph.generate import extra_source  # noqa: E402
from fimigraph.ingest import read_document  # noqa: E402
from fimigraph.store import GraphStore  # noqa: E402
from fimigraph.vocab import INFERRED_GRAPH  # noqa: E402


class RuleTimes:
    """Seconds, calls and output per (rule, method), and per (phase, stratum)."""

    def __init__(self) -> None:
        self.seconds: Counter[tuple[str, str]] = Counter()
        self.calls: Counter[tuple[str, str]] = Counter()
        self.rows: Counter[tuple[str, str]] = Counter()
        self.whole: Counter[tuple[str, str]] = Counter()
        self.stratum: dict[str, int] = {}

    def install(self) -> None:
        for method in ("run", "anchors", "head_anchors"):
            self._wrap_rule(method)
        for method in ("_saturate", "_maintain"):
            self._wrap_phase(method)

    def _wrap_rule(self, method: str) -> None:
        fn = getattr(Rule, method)

        def timed(rule: Rule, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            out = fn(rule, *args, **kwargs)
            key = (rule.name.rsplit("/", 1)[-1], method)
            self.seconds[key] += time.perf_counter() - started
            self.calls[key] += 1
            if out is None:
                self.whole[key] += 1  # anchors that give up: the whole rule runs
            elif method == "run":
                self.rows[key] += len(out)
            else:
                self.rows[key] += sum(len(v) for v in out.values())
            self.stratum[key[0]] = rule.stratum
            return out

        setattr(Rule, method, timed)

    def _wrap_phase(self, method: str) -> None:
        fn = getattr(Reasoner, method)

        def timed(reasoner: Reasoner, rules: list[Rule], *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(reasoner, rules, *args, **kwargs)
            finally:
                key = (f"stratum {rules[0].stratum if rules else '?'}", method)
                self.seconds[key] += time.perf_counter() - started
                self.calls[key] += 1

        setattr(Reasoner, method, timed)

    def take(self) -> dict[str, Any]:
        """The table since the last take: per rule (run / anchors / head_anchors), per stratum phase; then reset."""
        rules: dict[str, dict[str, Any]] = defaultdict(dict)
        phases: dict[str, dict[str, Any]] = defaultdict(dict)
        for (name, method), secs in self.seconds.items():
            entry = {"seconds": round(secs, 4), "calls": self.calls[(name, method)]}
            if name.startswith("stratum "):
                phases[name][method] = entry
            else:
                rules[name][method] = {**entry, "out": self.rows[(name, method)], "whole": self.whole[(name, method)]}
                rules[name]["stratum"] = self.stratum[name]
        for tally in (self.seconds, self.calls, self.rows, self.whole):
            tally.clear()
        ordered = dict(sorted(rules.items(), key=lambda kv: -sum(v["seconds"] for v in kv[1].values() if isinstance(v, dict))))
        return {"rules": ordered, "phases": dict(sorted(phases.items()))}


class Spy:
    """py-spy sampling this process between ``start`` and ``stop`` (collapsed stacks, by function)."""

    def __init__(self, rate: int, raw: str | None) -> None:
        self.rate, self.raw, self.proc = rate, raw, None
        self.path = ""

    def start(self, tag: str) -> None:
        exe = Path(sys.executable).with_name("py-spy")
        self.path = self.raw.replace("{tag}", tag) if self.raw else tempfile.mktemp(suffix=f"-{tag}.txt")
        self.proc = subprocess.Popen([str(exe if exe.exists() else "py-spy"), "record", "--pid", str(os.getpid()), "--rate", str(self.rate),
                                      "--nonblocking", "--function", "--format", "raw", "--output", self.path],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # attached before the work starts

    def stop(self) -> dict[str, Any]:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=120)
        return summarize(Path(self.path).read_text())


FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def _frame(text: str) -> tuple[str, str]:
    m = FRAME.match(text.strip())
    if not m:
        return text.strip(), ""
    path = m["file"]
    where = path.split("fimigraph/", 1)[-1] if "fimigraph/" in path else Path(path).name
    return f"{m['func']} ({where}:{m['line']})" if m["line"] else f"{m['func']} ({where})", where


def summarize(raw: str, top: int = 40) -> dict[str, Any]:
    """Own time per engine module, own and inclusive time per function, as % of the samples."""
    own_fn: Counter[str] = Counter()
    incl_fn: Counter[str] = Counter()
    own_mod: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_frame(f) for f in stack.split(";")]
        total += n
        name, where = frames[-1]
        own_fn[name] += n
        # Own time by module: the innermost frame in fimigraph's engine (library code below it is charged to it).
        engine = [w for _, w in frames if w.startswith("engine/")]
        own_mod[engine[-1] if engine else ("pyoxigraph/other" if not any(w.startswith("fimigraph") or "/" in w for _, w in frames) else "other")] += n
        for fname in {f for f, _ in frames}:
            incl_fn[fname] += n

    def pct(counter: Counter[str]) -> dict[str, float]:
        return {k: round(100 * v / max(total, 1), 1) for k, v in counter.most_common(top)}

    return {"samples": total, "own_by_module": pct(own_mod), "own_by_function": pct(own_fn), "inclusive_by_function": pct(incl_fn)}


def print_rules(title: str, table: dict[str, Any], total: float) -> None:
    print(f"\n{title}: per rule (seconds; % of {total:.2f} s)")
    print(f"{'rule':<44} {'str':>3} {'run':>9} {'calls':>6} {'out':>9} {'anchors':>9} {'values':>8} {'None':>5} {'head_anch':>9} {'%':>6}")
    for name, t in table["rules"].items():
        run, anc, head = t.get("run", {}), t.get("anchors", {}), t.get("head_anchors", {})
        spent = sum(x.get("seconds", 0) for x in (run, anc, head))
        print(f"{name[:44]:<44} {t['stratum']:>3} {run.get('seconds', 0):>9.3f} {run.get('calls', 0):>6} {run.get('out', 0):>9,} "
              f"{anc.get('seconds', 0):>9.3f} {anc.get('out', 0):>8,} {anc.get('whole', 0) + head.get('whole', 0):>5} {head.get('seconds', 0):>9.3f} {100 * spent / max(total, 1e-9):>5.1f}%")
    for name, phases in table["phases"].items():
        print("  " + name + ": " + ", ".join(f"{m} {v['seconds']:.3f} s ({v['calls']} calls)" for m, v in phases.items()))


def print_spy(title: str, s: dict[str, Any], top: int) -> None:
    print(f"\n{title}: py-spy, {s['samples']:,} samples")
    print("  own time by engine module: " + ", ".join(f"{k} {v}%" for k, v in s["own_by_module"].items()))
    print("  own time by function:")
    for k, v in list(s["own_by_function"].items())[:top]:
        print(f"    {v:5.1f}%  {k}")
    print("  inclusive time by function:")
    for k, v in list(s["inclusive_by_function"].items())[:top]:
        print(f"    {v:5.1f}%  {k}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("store", help="a store bench/run.py loaded (bench/out/store-<size>-s<seed>)")
    parser.add_argument("--size", help="the size the store was generated with (default: from its folder name)")
    parser.add_argument("--seed", type=int, help="its seed (default: from its folder name)")
    parser.add_argument("--changes", type=int, default=8, help="further sources added then retracted, in memory")
    parser.add_argument("--spy", action="store_true", help="sample with py-spy too")
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--spy-raw", help="keep py-spy's collapsed stacks here ({tag}: rebuild, changes)")
    parser.add_argument("--cprofile", help="profile the rebuild with cProfile and write its stats here")
    parser.add_argument("--top", type=int, default=25, help="functions listed per py-spy table")
    parser.add_argument("--json", help="also write everything measured here")
    opts = parser.parse_args(argv)
    m = re.search(r"store-([0-9]+[kM]?)-s(\d+)", opts.store)
    size = opts.size or (m[1] if m else None)
    seed = opts.seed if opts.seed is not None else int(m[2]) if m else 42
    if opts.changes and size is None:
        parser.error("--size is needed to generate further sources of the store's world")
    out: dict[str, Any] = {"store": opts.store, "load_1m": os.getloadavg()[0]}
    store = GraphStore(opts.store, read_only=True)
    times = RuleTimes()
    times.install()
    spy = Spy(opts.rate, opts.spy_raw) if opts.spy else None

    started = time.perf_counter()
    engine = reason.new_engine()
    out["compile_seconds"] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    out["facts_read"] = engine.read_store(store.ox, skip_graphs=[str(INFERRED_GRAPH)])
    out["read_seconds"] = round(time.perf_counter() - started, 3)
    print(f"compiled the rules in {out['compile_seconds']} s; read {out['facts_read']:,} facts in {out['read_seconds']} s", flush=True)

    if spy:
        spy.start("rebuild")
    profiler = cProfile.Profile() if opts.cprofile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    engine.reasoner.rebuild()
    if profiler:
        profiler.disable()
        profiler.dump_stats(opts.cprofile)
    out["rebuild_seconds"] = round(time.perf_counter() - started, 3)
    if spy:
        out["rebuild_spy"] = spy.stop()
    started = time.perf_counter()
    inferred = engine.inferred()
    out["collect_seconds"] = round(time.perf_counter() - started, 3)
    out["inferred"], out["rounds"] = len(inferred), engine.reasoner.rounds
    del inferred
    out["rebuild"] = times.take()
    print(f"rebuild in memory: {out['rebuild_seconds']} s, {out['rounds']} rounds, {out['inferred']:,} inferred triples "
          f"(collecting them {out['collect_seconds']} s)")
    print_rules("rebuild", out["rebuild"], out["rebuild_seconds"])
    if spy:
        print_spy("rebuild", out["rebuild_spy"], opts.top)

    if opts.changes:
        changes = []
        for n in range(opts.changes):
            doc = read_document(extra_source(triples=size, seed=seed, n=n)[1].encode(), media_type="text/turtle")
            change = store.prepare_put(doc.source_iri, doc.metadata, doc.claims, replace=False)
            changes.append(engine.triples_of(change.added))
        if spy:
            spy.start("changes")
        adds, retracts = [], []
        for triples in changes:
            started = time.perf_counter()
            delta = engine.change(triples, ())
            adds.append((time.perf_counter() - started, len(delta.added)))
            started = time.perf_counter()
            engine.change((), triples)
            retracts.append(time.perf_counter() - started)
            print(f"  source {len(adds) - 1}: {len(triples)} facts, add {adds[-1][0]:.3f} s (+{adds[-1][1]:,} triples), "
                  f"retract {retracts[-1]:.3f} s", flush=True)
        if spy:
            out["changes_spy"] = spy.stop()
        total = sum(a for a, _ in adds) + sum(retracts)
        out["changes"] = times.take()
        out["adds"] = [{"seconds": round(a, 4), "inferred_added": k} for a, k in adds]
        out["retracts"] = [round(r, 4) for r in retracts]
        print(f"\n{len(adds)} sources added then retracted in memory (Engine.change): adds "
              + ", ".join(f"{a:.3f}" for a, _ in adds) + " s; retracts " + ", ".join(f"{r:.3f}" for r in retracts) + " s")
        print_rules("changes (adds and retracts together)", out["changes"], total)
        if spy:
            print_spy("changes", out["changes_spy"], opts.top)
    if opts.json:
        Path(opts.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
