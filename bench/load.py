"""fimigraph load bench: a really served store, many clients at once, hostile requests, slow queries.

    .venv/bin/python bench/load.py --size 100k --clients 32 --seconds 60

Against ``fimigraph serve`` (a subprocess, uvicorn, loopback, a fresh copy of a reasoned
generated world) it measures, in this order:

1. hostile: each request that once crashed, hung or borrowed a server, timed to its 4xx, with the
   server's peak memory (VmHWM) over its idle size;
2. slow: ``--slow-queries`` slow SPARQL queries at once, and /health's latency meanwhile;
3. load: ``--clients`` clients for ``--seconds``, each sending one request after another: ``--writers``
   of them post a source and retract it, again and again (changes are serialized: a reader that
   wrote now and then would soon wait in their queue, so writers are clients of their own); the
   others mix /attribution and /explanations (subjects and links drawn from the store) and /sparql
   (small analyst questions); /health probed every 100 ms. Any status but 200/201 and any
   transport error counts as an error.

Prints a table per phase (p50/p95/p99/max in ms, errors) and writes the JSON to bench/out/load-last.json.
The world is ``fimigraph generate --triples SIZE --seed SEED``, bulk-loaded and reasoned once into
bench/out/load-store-SIZE-sSEED (reused; every run serves a fresh copy of it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
FIMIGRAPH = str(Path(sys.executable).with_name("fimigraph"))
PREFIXES = "PREFIX fimi: <https://w3id.org/fimigraph/ontology#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
QUERIES = [
    "SELECT ?link ?state ?grade WHERE {{ ?link fimi:linkSubject <{s}> ; fimi:linkTarget ?state ; fimi:grade ?grade }}",
    "SELECT ?claim ?kind ?o WHERE {{ ?claim fimi:claimSubject <{s}> ; fimi:claimPredicate ?kind ; fimi:claimObject ?o }} LIMIT 100",
    "SELECT ?label WHERE {{ <{s}> rdfs:label ?label }}",
    "ASK {{ <{s}> a ?type }}",
]
"""Small analyst questions about one subject (what a client of /sparql asks most)."""
MIX = [("attribution", 60), ("explanations", 20), ("sparql", 20)]
"""Share of each kind of request a reading client sends in the load phase."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000, 1)

    return {"n": len(ordered), "p50_ms": pick(0.5), "p95_ms": pick(0.95), "p99_ms": pick(0.99), "max_ms": pick(1.0),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 1)}


def _memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _workers_rss_kb(pid: int) -> int:
    """The RSS of the server's query workers (its children)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            with suppress(OSError):  # ended meanwhile
                total += _memory_kb(int(child), "VmRSS")
    return total


def prepare_store(size: str, seed: int) -> Path:
    """The reasoned world (built once), copied fresh for this run."""
    OUT.mkdir(exist_ok=True)
    template = OUT / f"load-store-{size}-s{seed}"
    if not template.exists():
        nq = OUT / f"gen-{size}-s{seed}.nq"
        if not nq.exists():
            subprocess.run([FIMIGRAPH, "generate", "--triples", size, "--seed", str(seed), "-o", str(nq)], check=True)
        subprocess.run([FIMIGRAPH, "load", "--bulk", str(nq), "--store", str(template)], check=True)
    copy = OUT / f"load-run-{size}-s{seed}"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(template, copy)
    return copy


class Server:
    """``fimigraph serve`` on a free loopback port, its log in bench/out/load-server.log."""

    def __init__(self, store: Path, extra: list[str]) -> None:
        from fimigraph.callers import Tokens

        # Every request of the bench is an editor's cleared for TLP:RED: writes need the editor
        # role, and its reads see the whole store (as every caller did before need-to-know).
        self.headers = {"Authorization": "Bearer " + Tokens(store).add("bench/load.py", role="editor", clearance="red")[1]}
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(OUT / "load-server.log", "w")  # noqa: SIM115 -- closed in stop()
        self.process = subprocess.Popen([FIMIGRAPH, "serve", "--store", str(store), "--port", str(self.port), *extra],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while True:  # polled until it answers (a server rebuilding a store may take minutes)
            try:
                if httpx.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: see {self.log.name}")

    def stop(self) -> float:
        """SIGTERM; the seconds it took to end."""
        started = time.monotonic()
        self.process.terminate()
        self.process.wait(timeout=60)
        self.log.close()
        return round(time.monotonic() - started, 2)


def hostile(server: Server) -> dict[str, Any]:
    """Each request that once crashed, hung or borrowed a server: its status and seconds to it; the server's peak memory."""
    entities = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 11))
    requests = {
        "SPARQL nested 2,500 deep (POST)": ("POST", "/sparql", "application/sparql-query", "SELECT * WHERE " + "{" * 2500 + "?s ?p ?o" + "}" * 2500),
        "JSON-LD nested 5,000 deep": ("POST", "/sources", "application/ld+json", '{"@id":"urn:a","urn:p":' * 5000 + '"x"' + "}" * 5000),
        "RDF/XML billion laughs (10 levels)": ("POST", "/sources", "application/rdf+xml",
                                               f'<?xml version="1.0"?><!DOCTYPE r [{entities}]><r>&a10;</r>'),
        "cross product SELECT": ("POST", "/sparql", "application/sparql-query", "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }"),
        "SERVICE to loopback": ("POST", "/sparql", "application/sparql-query", "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?a ?b ?c } }"),
        "SERVICE SILENT": ("POST", "/sparql", "application/sparql-query", "SELECT * WHERE { SERVICE SILENT <http://127.0.0.1:9/> { ?a ?b ?c } }"),
        "STIX id with '>'": ("POST", "/sources", "application/stix+json", json.dumps({"type": "bundle", "id": "bundle--1", "objects": [
            {"type": "identity", "id": "identity--a>b", "name": "x", "identity_class": "organization"}]})),
        "GET /sources/x%0D": ("GET", "/sources/x%0D", None, None),
        "offset beyond 2^63": ("GET", f"/sources?offset={2**64}", None, None),
        "POST /sources without Content-Type": ("POST", "/sources", None, "<urn:a> <urn:b> <urn:c> ."),
    }
    pid = server.process.pid
    idle = _memory_kb(pid, "VmRSS")
    rows = {}
    for name, (method, path, media, body) in requests.items():
        headers = {**server.headers, **({"Content-Type": media} if media else {})}
        started = time.perf_counter()
        response = httpx.request(method, server.url + path, content=body, headers=headers, timeout=120)
        rows[name] = {"status": response.status_code, "seconds": round(time.perf_counter() - started, 3),
                      "limit": response.json().get("limit") if response.headers.get("content-type", "").endswith("json") else None}
    alive = server.process.poll() is None and httpx.get(f"{server.url}/health", timeout=30).status_code == 200
    return {"requests": rows, "alive": alive, "idle_rss_mb": round(idle / 1024, 1),
            "peak_over_idle_mb": round((_memory_kb(pid, "VmHWM") - idle) / 1024, 1)}


async def _probe_health(client: httpx.AsyncClient, samples: list[float], stop: asyncio.Event, errors: dict[str, int]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        try:
            response = await client.get("/health")
        except httpx.HTTPError as exc:
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
        else:
            samples.append(time.perf_counter() - started)
            if response.status_code != 200:
                errors[str(response.status_code)] = errors.get(str(response.status_code), 0) + 1
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.1)  # one probe every 100 ms


async def slow(server: Server, count: int) -> dict[str, Any]:
    """``count`` slow queries at once; /health probed meanwhile; the queries' statuses."""
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    limits = httpx.Limits(max_connections=count + 10)
    async with httpx.AsyncClient(base_url=server.url, timeout=300, limits=limits, headers=server.headers) as client:
        probes: list[float] = []
        probe_errors: dict[str, int] = {}
        stop = asyncio.Event()
        prober = asyncio.create_task(_probe_health(client, probes, stop, probe_errors))
        started = time.perf_counter()
        responses = await asyncio.gather(*(client.post("/sparql", content=query, headers={"Content-Type": "application/sparql-query"})
                                           for _ in range(count)), return_exceptions=True)
        seconds = time.perf_counter() - started
        stop.set()
        await prober
    statuses: dict[str, int] = {}
    for r in responses:
        key = str(r.status_code) if isinstance(r, httpx.Response) else type(r).__name__
        statuses[key] = statuses.get(key, 0) + 1
    return {"queries": count, "statuses": statuses, "seconds": round(seconds, 1),
            "health": {**_percentiles(probes), "errors": probe_errors}}


async def load(server: Server, *, clients: int, writers: int, seconds: float, size: str, seed: int) -> dict[str, Any]:
    """``clients`` clients (``writers`` of them changing sources) for ``seconds``: latency and errors per kind of request."""
    from fimigraph.generate import extra_source

    async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=httpx.Limits(max_connections=clients + 10),
                                 headers=server.headers) as client:
        rows = (await client.post("/sparql", data={"query": PREFIXES + "SELECT ?s ?l WHERE { ?l a fimi:AttributionLink ; "
                                                   "fimi:linkSubject ?s } LIMIT 5000"},
                                  headers={"Accept": "application/sparql-results+json"})).json()["results"]["bindings"]
        subjects = sorted({r["s"]["value"] for r in rows})
        links = sorted({r["l"]["value"] for r in rows})
        rng = random.Random(seed)
        samples: dict[str, list[float]] = {kind: [] for kind, _ in MIX} | {"post source": [], "retract": []}
        errors: dict[str, dict[str, int]] = {kind: {} for kind in samples} | {"health (probe)": {}}
        kinds = [kind for kind, weight in MIX for _ in range(weight)]

        async def timed(kind: str, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
            started = time.perf_counter()
            try:
                response = await client.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                errors[kind][type(exc).__name__] = errors[kind].get(type(exc).__name__, 0) + 1
                return None
            samples[kind].append(time.perf_counter() - started)
            if response.status_code not in (200, 201):
                errors[kind][str(response.status_code)] = errors[kind].get(str(response.status_code), 0) + 1
            return response

        async def writer(number: int, end: float) -> None:
            writes = 0
            while time.monotonic() < end:  # sources of its own (no two writers post the same), each then retracted
                _, document = extra_source(triples=size, seed=seed, n=number + writers * writes)
                writes += 1
                posted = await timed("post source", "POST", "/sources", content=document, headers={"Content-Type": "text/turtle"})
                if posted is not None and posted.status_code == 201:
                    await timed("retract", "DELETE", f"/sources/{posted.json()['id']}")

        async def reader(end: float) -> None:
            mine = random.Random(rng.random())
            while time.monotonic() < end:
                kind = mine.choice(kinds)
                if kind == "attribution":
                    await timed(kind, "GET", "/attribution", params={"subject": mine.choice(subjects)})
                elif kind == "explanations":
                    await timed(kind, "GET", "/explanations", params={"link": mine.choice(links)})
                else:
                    query = PREFIXES + mine.choice(QUERIES).format(s=mine.choice(subjects))
                    await timed(kind, "POST", "/sparql", content=query, headers={"Content-Type": "application/sparql-query"})

        probes: list[float] = []
        stop = asyncio.Event()
        prober = asyncio.create_task(_probe_health(client, probes, stop, errors["health (probe)"]))
        end = time.monotonic() + seconds
        await asyncio.gather(*(writer(n, end) for n in range(writers)), *(reader(end) for _ in range(clients - writers)))
        stop.set()
        await prober
    result = {kind: {**_percentiles(samples[kind]), "errors": errors[kind]} for kind in samples}
    result["health (probe)"] = {**_percentiles(probes), "errors": errors["health (probe)"]}
    return {"clients": clients, "writers": writers, "seconds": seconds, "subjects": len(subjects), "links": len(links), "endpoints": result,
            "errors": sum(sum(e.values()) for e in errors.values())}


def _table(rows: dict[str, dict[str, Any]], columns: list[str]) -> str:
    lines = ["| " + " | ".join(["", *columns]) + " |", "|" + "---|" * (len(columns) + 1)]
    for name, row in rows.items():
        lines.append("| " + " | ".join([name, *(str(row.get(c, "")) for c in columns)]) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the phases and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="100k", help="generated world: 10k, 100k, 1M (default 100k)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--writers", type=int, default=2, help="clients among them that post and retract sources (default 2)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the load phase (default 60)")
    parser.add_argument("--slow-queries", type=int, default=100, help="slow queries sent at once (default 100)")
    parser.add_argument("--skip", default="", help="phases to skip: hostile,slow,load")
    parser.add_argument("serve_options", nargs="*", help="after --: options for fimigraph serve")
    opts = parser.parse_args(argv)
    skip = set(filter(None, opts.skip.split(",")))
    store = prepare_store(opts.size, opts.seed)
    server = Server(store, opts.serve_options)
    report: dict[str, Any] = {"size": opts.size, "seed": opts.seed, "serve_options": opts.serve_options}
    try:
        if "hostile" not in skip:
            report["hostile"] = hostile(server)
        if "slow" not in skip:
            report["slow"] = asyncio.run(slow(server, opts.slow_queries))
        if "load" not in skip:
            report["load"] = asyncio.run(load(server, clients=opts.clients, writers=opts.writers, seconds=opts.seconds,
                                              size=opts.size, seed=opts.seed))
            report["load"]["server_peak_rss_mb"] = round(_memory_kb(server.process.pid, "VmHWM") / 1024, 1)
            report["load"]["workers_rss_mb"] = round(_workers_rss_kb(server.process.pid) / 1024, 1)
    finally:
        report["sigterm_seconds"] = server.stop()
    (OUT / "load-last.json").write_text(json.dumps(report, indent=2))
    if "hostile" in report:
        h = report["hostile"]
        print(f"hostile requests (server alive after: {h['alive']}; peak memory {h['peak_over_idle_mb']} MB over idle {h['idle_rss_mb']} MB)")
        print(_table(h["requests"], ["status", "seconds", "limit"]))
    if "slow" in report:
        s = report["slow"]
        print(f"\n{s['queries']} slow queries at once: {s['statuses']} in {s['seconds']} s; /health meanwhile:")
        print(_table({"/health": s["health"]}, ["n", "p50_ms", "p95_ms", "p99_ms", "max_ms", "errors"]))
    if "load" in report:
        lo = report["load"]
        print(f"\nload: {lo['clients']} clients ({lo['writers']} writing) for {lo['seconds']:g} s, {lo['errors']} errors; server peak RSS "
              f"{lo['server_peak_rss_mb']} MB, query workers {lo['workers_rss_mb']} MB")
        print(_table(lo["endpoints"], ["n", "p50_ms", "p95_ms", "p99_ms", "max_ms", "errors"]))
    print(f"\nSIGTERM: the server ended in {report['sigterm_seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
