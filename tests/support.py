"""Shared test helpers: paths, the seed case's IRIs, running the real CLI and server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import Namespace

from fimigraph.callers import Tokens

REPO = Path(__file__).resolve().parents[1]
SEED_DIR = REPO / "data" / "cases" / "boycottparis2024"
SEED_FILES = sorted(SEED_DIR.glob("*.ttl"))
SAMPLES = REPO / "data" / "samples"
QUERIES = sorted((REPO / "data" / "queries").glob("*.rq"))
FIMIGRAPH = str(Path(sys.executable).with_name("fimigraph"))
SUITES = REPO / "tests" / "suites"
"""Third-party test suites, copied with their licences (``tests/suites/README.md``)."""


def shared_dir() -> Path | None:
    """``$FIMIGRAPH_SHARED``, a folder of texts the repository may not redistribute (the seed article), or None when unset."""
    value = os.environ.get("FIMIGRAPH_SHARED")
    return Path(value) if value else None


CASE = Namespace("https://w3id.org/fimigraph/case/boycottparis2024/")
CAMPAIGN, ACCOUNT, AZERBAIJAN, FRANCE = CASE["campaign"], CASE["x-account"], CASE["azerbaijan"], CASE["france"]
INDIVIDUAL, PARTY, VIGINUM_REPORT = CASE["azerbaijani-individual"], CASE["presidential-party"], CASE["viginum-report"]



def denial(claim: str) -> bytes:
    """A made-up source whose spokesperson disputes ``claim``: a "disputed" conflict, with no state."""
    return f"""
@prefix fimi:    <https://w3id.org/fimigraph/ontology#> .
@prefix rdfs:    <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix xsd:     <http://www.w3.org/2001/XMLSchema#> .
@prefix ex:      <https://example.org/denial/> .

ex:statement a fimi:OfficialStatement ;
    dcterms:title "Statement of a spokesperson (test)" ; dcterms:publisher ex:spokesperson ;
    dcterms:issued "2023-09-02"^^xsd:date .
ex:spokesperson a fimi:Person ; rdfs:label "a spokesperson (test)" .
ex:denial a fimi:Claim ;
    fimi:claimSubject ex:spokesperson ; fimi:claimPredicate fimi:disputes ; fimi:claimObject <{claim}> ;
    fimi:statedIn ex:statement ; fimi:quote "these accusations are groundless" ; fimi:confidence 100 .
""".encode()

def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``fimigraph`` command as a user would."""
    return subprocess.run(
        [FIMIGRAPH, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd, timeout=300
    )


def store_dump(store: Any) -> list[str]:
    """Every quad of a store (a GraphStore or a pyoxigraph Store) as sorted N-Quads lines: equal dumps mean equal stores.

    All but the store's counts of changes since its last compaction and of writes (its generation):
    bookkeeping, which a rebuild resets or advances and which differs between loads document by
    document and in bulk.
    """
    handle = getattr(store, "ox", store)  # a GraphStore or a pyoxigraph Store
    return sorted(line for line in handle.dump(format=ox.RdfFormat.N_QUADS).decode().splitlines()
                  if "#changesSinceCompaction>" not in line and "#generation>" not in line)


def make_token(store: Any, *, role: str = "editor", clearance: str = "red", name: str = "tests") -> str:
    """A new token of ``role`` and ``clearance`` for a store (opened, or its folder), as ``fimigraph tokens add`` makes one."""
    tokens = store.tokens if hasattr(store, "tokens") else Tokens(store)
    return tokens.add(name, role=role, clearance=clearance)[1]


def bearer(token: str) -> dict[str, str]:
    """The headers that send ``token``."""
    return {"Authorization": f"Bearer {token}"}


def full_disk(*args: object, **kwargs: object) -> None:
    """Stands in for a write or a compaction on a full disk."""
    raise OSError("No space left on device")


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A ``fimigraph serve`` started by a test: its base URL, its process, and what it logged."""

    url: str
    process: subprocess.Popen[str]
    log: list[str]
    token: str
    """An editor's token cleared for TLP:RED, made in the store's folder before the server started."""

    @property
    def editor(self) -> dict[str, str]:
        """The headers that call as that editor."""
        return bearer(self.token)


@contextmanager
def served(store: Path, *extra: str, env: dict[str, str] | None = None, deadline: float = 120.0) -> Iterator[Server]:
    """Start ``fimigraph serve`` (options ``extra``, settings ``env``) on a free loopback port; stop it after."""
    port = free_port()
    token = make_token(store, name="tests (served)")
    proc = subprocess.Popen(
        [FIMIGRAPH, "serve", "--store", str(store), "--port", str(port), *extra],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env={**os.environ, **(env or {})},
    )
    started = threading.Event()
    log: list[str] = []

    def drain() -> None:
        # Read stderr for the server's whole life: uvicorn's startup line sets the event
        # (no sleeping), and access logs never fill the pipe and block the server.
        assert proc.stderr is not None
        for line in proc.stderr:
            log.append(line)
            if "Application startup complete" in line:
                started.set()
        started.set()  # EOF: the server exited

    threading.Thread(target=drain, daemon=True).start()
    try:
        if not started.wait(deadline) or proc.poll() is not None:
            raise RuntimeError(f"server did not start: {''.join(log)}")
        _until_listening(port, proc, deadline)
        yield Server(f"http://127.0.0.1:{port}", proc, log, token)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _until_listening(port: int, proc: subprocess.Popen[str], deadline: float) -> None:
    """Poll until the server accepts connections: uvicorn says its startup is complete just before it listens."""
    end = time.monotonic() + deadline
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=deadline).close()
            return
        except ConnectionRefusedError:
            if proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError("server did not listen") from None


@contextmanager
def running_server(store: Path, *extra: str, deadline: float = 120.0) -> Iterator[str]:
    """Start ``fimigraph serve`` on a free loopback port; yield its base URL; stop it after (:func:`served` gives its editor's token too)."""
    with served(store, *extra, deadline=deadline) as server:
        yield server.url


class Proxy:
    """Answers as ``target`` does, except for the attributes given (e.g. a store whose disk is full)."""

    def __init__(self, target: object, **override: object) -> None:
        self._target, self._override = target, override

    def __getattr__(self, name: str) -> object:
        return self._override[name] if name in self._override else getattr(self._target, name)
