"""Shared test helpers: paths, the seed case's IRIs, running the real CLI and server."""

from __future__ import annotations

import os
import re
import selectors
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import Namespace

REPO = Path(__file__).resolve().parents[1]
SEED_DIR = REPO / "data" / "cases" / "boycottparis2024"
SEED_FILES = sorted(SEED_DIR.glob("*.ttl"))
SAMPLES = REPO / "data" / "samples"
QUERIES = sorted((REPO / "data" / "queries").glob("*.rq"))
FIMIGRAPH = str(Path(sys.executable).with_name("fimigraph"))


def shared_dir() -> Path:
    """The shared folder of third-party data and the seed text: ``$FIMIGRAPH_SHARED`` or ``<repo>/../shared``."""
    return Path(os.environ.get("FIMIGRAPH_SHARED", REPO.parent / "shared"))


CASE = Namespace("https://w3id.org/fimigraph/case/boycottparis2024/")
CAMPAIGN, ACCOUNT, AZERBAIJAN, FRANCE = CASE["campaign"], CASE["x-account"], CASE["azerbaijan"], CASE["france"]
INDIVIDUAL, PARTY, VIGINUM_REPORT = CASE["azerbaijani-individual"], CASE["presidential-party"], CASE["viginum-report"]


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``fimigraph`` command as a user would."""
    return subprocess.run(
        [FIMIGRAPH, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd, timeout=300
    )


def store_dump(store: Any) -> list[str]:
    """Every quad of a store as sorted N-Quads lines: equal dumps mean equal stores."""
    return sorted(store.ox.dump(format=ox.RdfFormat.N_QUADS).decode().splitlines())


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(store: Path, *extra: str, deadline: float = 60.0) -> Iterator[str]:
    """Start ``fimigraph serve`` on a free loopback port; yield its base URL; stop it after."""
    port = free_port()
    proc = subprocess.Popen(
        [FIMIGRAPH, "serve", "--store", str(store), "--port", str(port), *extra],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    try:
        _wait_for_startup(proc, time.monotonic() + deadline)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for_startup(proc: subprocess.Popen[str], until: float) -> None:
    # uvicorn says so on stderr once it listens: read its lines instead of sleeping.
    assert proc.stderr is not None
    seen: list[str] = []
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stderr, selectors.EVENT_READ)
        while time.monotonic() < until:
            if not selector.select(timeout=max(0.0, until - time.monotonic())):
                break
            line = proc.stderr.readline()
            if not line:
                raise RuntimeError(f"server exited ({proc.wait()}): {''.join(seen)}")
            seen.append(line)
            if re.search(r"Application startup complete|Uvicorn running on", line):
                return
    raise RuntimeError(f"server did not start in time: {''.join(seen)}")
