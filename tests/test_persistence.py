"""The store survives restarts: of the process, and of the server."""

from __future__ import annotations

import gc
from pathlib import Path

import httpx
from support import CAMPAIGN, SAMPLES, SEED_FILES, running_server, store_dump

from fimigraph.attribution import attribution
from fimigraph.ingest import ingest
from fimigraph.store import GraphStore


def test_store_reopens_with_everything_in_it(tmp_path: Path) -> None:
    store = GraphStore(tmp_path / "store")
    for file in SEED_FILES:
        ingest(store, file.read_bytes(), media_type="text/turtle")
    answer, dump = attribution(store, str(CAMPAIGN)), store_dump(store)
    store.flush()
    del store
    gc.collect()
    reopened = GraphStore(tmp_path / "store")
    assert store_dump(reopened) == dump
    assert attribution(reopened, str(CAMPAIGN)) == answer


def test_a_second_process_cannot_open_a_store_in_use(tmp_path: Path) -> None:
    from support import run_cli

    store = GraphStore(tmp_path / "store")
    done = run_cli("load", str(SAMPLES / "minimal-source.ttl"), "--store", str(tmp_path / "store"))
    assert done.returncode == 6 and "in use by another process" in done.stderr
    assert store.sources() == []


def test_server_restart_keeps_sources_and_answers(seed_store_path: Path) -> None:
    with running_server(seed_store_path) as url:
        posted = httpx.post(f"{url}/sources", content=(SAMPLES / "minimal-source.ttl").read_bytes(),
                            headers={"Content-Type": "text/turtle"}, timeout=120)
        assert posted.status_code == 201, posted.text
        before = httpx.get(f"{url}/attribution", params={"subject": str(CAMPAIGN)}).json()
    with running_server(seed_store_path) as url:
        assert len(httpx.get(f"{url}/sources").json()) == 3
        assert httpx.get(f"{url}/attribution", params={"subject": str(CAMPAIGN)}).json() == before
