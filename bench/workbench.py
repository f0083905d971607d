"""How fast the workbench draws the entity page of a generated world's busiest subject, in a real browser.

Generates a world (``fimigraph generate``) and bulk-loads it (``fimigraph load --bulk``) into
``bench/out/`` once, starts ``fimigraph serve`` on it, finds the subject with the most attribution
links, then opens its entity page ``--runs`` times in headless Chromium (Debian's, driven by
Playwright for Python), each time in a new browser context (an empty cache). The page marks when the
API has answered what it needs (``/attribution`` and the ``/entities`` lookup of the graph's nodes)
and when the graph and the table are drawn (Cytoscape's first frame); the target is the time
between the two, at most 1 s.

    .venv/bin/python bench/workbench.py --triples 100k --runs 15
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
sys.path.insert(0, str(REPO / "tests"))  # the tests' browser helpers and server starter

from browser import chromium, launch  # noqa: E402
from support import FIMIGRAPH, served  # noqa: E402

INFERRED = "https://w3id.org/fimigraph/graph/inferred"
BUSIEST = f"""PREFIX fimi: <https://w3id.org/fimigraph/ontology#>
SELECT ?s (COUNT(?l) AS ?n) WHERE {{ GRAPH <{INFERRED}> {{ ?l a fimi:AttributionLink ; fimi:linkSubject ?s }} }}
GROUP BY ?s ORDER BY DESC(?n) STR(?s) LIMIT 1"""


def _run(*args: str) -> str:
    done = subprocess.run([FIMIGRAPH, *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"fimigraph {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def world(triples: str, seed: int, regenerate: bool) -> Path:
    """The generated world's store, made once: generate, then load --bulk (which reasons)."""
    OUT.mkdir(parents=True, exist_ok=True)
    data, store = OUT / f"gen-{triples}-s{seed}.nq", OUT / f"workbench-{triples}-s{seed}"
    if regenerate or not data.exists():
        print(f"generating {data.name}", file=sys.stderr)
        _run("generate", "--triples", triples, "--seed", str(seed), "-o", str(data))
    if regenerate or not store.exists():
        print(f"loading it into {store.name} (and reasoning)", file=sys.stderr)
        subprocess.run(["rm", "-rf", str(store)], check=True)
        _run("load", "--bulk", "--store", str(store), str(data))
    return store


def busiest(store: Path) -> tuple[str, int]:
    """The subject with the most attribution links, and how many."""
    row = json.loads(_run("query", "--store", str(store), "-f", "json", BUSIEST))["results"]["bindings"][0]
    return row["s"]["value"], int(row["n"]["value"])


MEASURE = """() => {
  const mark = (name) => performance.getEntriesByName(name)[0].startTime;
  const calls = performance.getEntriesByType('resource').filter(r => /\\/(attribution|entities)\\?/.test(r.name));
  return { answered: mark('fimigraph:api-answered'), rendered: mark('fimigraph:entity-rendered'),
           api: Math.max(...calls.map(r => r.responseEnd)) - Math.min(...calls.map(r => r.startTime)),
           links: document.querySelectorAll('table.links tbody tr').length,
           drawn: document.querySelector('.graph').cy.elements().length };
}"""


def measure(url: str, subject: str, runs: int, token: str) -> list[dict[str, float]]:
    """Open the subject's entity page ``runs`` times, each in a new context, as ``token``'s caller; the page's own marks."""
    from playwright.sync_api import sync_playwright

    page_url = f"{url}/#/entity?{urllib.parse.urlencode({'iri': subject})}"
    found = []
    with sync_playwright() as playwright:
        browser = launch(playwright, chromium())
        for i in range(runs + 1):  # the first warms the server's caches and the browser; not counted
            context = browser.new_context(viewport={"width": 1440, "height": 1000})
            # The page sends the token it finds in its session storage (as after signing in).
            context.add_init_script(f"sessionStorage.setItem('fimigraph.token', {json.dumps(token)})")
            page = context.new_page()
            page.goto(page_url)
            page.wait_for_selector("main[data-state=ready]", state="attached", timeout=60_000)
            if i:
                found.append(page.evaluate(MEASURE))
            context.close()
        browser.close()
    return found


def main() -> None:
    """Measure and print a table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", default="100k", help="size of the generated world (10k, 100k, 1M)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args()
    if chromium() is None:
        sys.exit("no Chromium on this machine: apt-get install chromium (or set FIMIGRAPH_CHROMIUM)")
    store = world(opts.triples, opts.seed, opts.regenerate)
    subject, links = busiest(store)
    with served(store) as server:  # its token: an editor cleared for TLP:RED, who reads the whole store
        runs = measure(server.url, subject, opts.runs, server.token)
    render = [r["rendered"] - r["answered"] for r in runs]
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="minutes"), "triples": opts.triples, "seed": opts.seed,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        "subject": subject, "attribution_links": links, "entries": runs[0]["links"], "graph_elements": runs[0]["drawn"],
        "runs": len(runs),
        "render_ms": {"median": statistics.median(render), "max": max(render), "min": min(render)},
        "api_ms": {"median": statistics.median(r["api"] for r in runs)},
        "page_ms": {"median": statistics.median(r["rendered"] for r in runs)},
    }
    print(f"busiest subject {subject}: {links} attribution links, {result['entries']} table rows, {result['graph_elements']} graph elements")
    print(f"rendered after the API answered: median {result['render_ms']['median']:.0f} ms, max {result['render_ms']['max']:.0f} ms "
          f"({len(runs)} runs); the API's answers: median {result['api_ms']['median']:.0f} ms; "
          f"navigation to drawn page: median {result['page_ms']['median']:.0f} ms")
    if opts.json:
        print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
