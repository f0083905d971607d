"""The store survives restarts: of the process, and of the server."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from support import CAMPAIGN, SAMPLES, SEED_FILES, Proxy, full_disk, run_cli, running_server, served, store_dump

from fimigraph import reason, vocab
from fimigraph.attribution import attribution
from fimigraph.compaction import Compactor
from fimigraph.engine import Engine
from fimigraph.errors import AlreadyExists, StoreError
from fimigraph.ingest import ingest, read_document, retract
from fimigraph.store import GraphStore
from fimigraph.vocab import FIMI, INFERRED_GRAPH, SOURCES_GRAPH


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


def test_the_inferred_graphs_size_is_recorded_for_the_next_process(tmp_path: Path) -> None:
    """Each completed run records the size; a new process reads it (counting 9.6M triples took 4-6 s); a run in progress hides it."""
    store = GraphStore(tmp_path / "store")
    for file in SEED_FILES:
        ingest(store, file.read_bytes(), media_type="text/turtle")
    sid = ingest(store, (SAMPLES / "minimal-source.ttl").read_bytes(), media_type="text/turtle").id
    assert store.recorded_inferred_size() == store.count(str(INFERRED_GRAPH))
    retract(store, sid)
    size = store.count(str(INFERRED_GRAPH))
    assert store.recorded_inferred_size() == size and len(store.sources()) == len(SEED_FILES)  # the note is no source
    store.flush()
    del store
    gc.collect()
    reopened = GraphStore(tmp_path / "store")
    assert reason.inferred_size(reopened) == size
    added = ingest(reopened, (SAMPLES / "minimal-source.ttl").read_bytes(), media_type="text/turtle")
    assert added.inferred == reopened.count(str(INFERRED_GRAPH)) == reopened.recorded_inferred_size() > size


def test_the_store_refuses_to_write_a_source_it_holds_already(tmp_path: Path) -> None:
    """Library callers too: a second write would have duplicated its submission time and derived nothing."""
    store = GraphStore(tmp_path / "store")
    sample = read_document((SAMPLES / "minimal-source.ttl").read_bytes(), media_type="text/turtle")
    sid = store.put_source(sample.source_iri, sample.metadata, sample.claims, replace=False)
    dump = store_dump(store)
    with pytest.raises(AlreadyExists, match=f"{sample.source_iri} is loaded already .id {sid}.*replace"):
        store.put_source(sample.source_iri, sample.metadata, sample.claims, replace=False)
    assert store_dump(store) == dump
    assert store.put_source(sample.source_iri, sample.metadata, sample.claims, replace=True) == sid
    assert len(store.sources()) == 1


def _rebuilt(*args: object, **kwargs: object) -> None:
    raise AssertionError("the inferred graph was derived again")


@pytest.mark.parametrize("change", ["add", "replace", "retract"])
def test_a_change_whose_reasoning_fails_leaves_the_store_as_it_was(
        seed_store: GraphStore, monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    """Ingest and retract are all or nothing: a source comes back as it was, down to when it was submitted."""
    # Submitted long ago (the seed store was built seconds before): putting a source back must not renew it.
    submitted = f"<{vocab.DCTERMS.dateSubmitted}>"
    seed_store.update(f"""DELETE {{ GRAPH <{SOURCES_GRAPH}> {{ ?s {submitted} ?t }} }}
                          INSERT {{ GRAPH <{SOURCES_GRAPH}> {{ ?s {submitted} "2024-07-26T09:00:00Z"^^<{vocab.XSD.dateTime}> }} }}
                          WHERE {{ GRAPH <{SOURCES_GRAPH}> {{ ?s {submitted} ?t }} }}""")
    before = store_dump(seed_store)
    assert "2024-07-26T09:00:00Z" in "\n".join(before)
    answer = attribution(seed_store, str(CAMPAIGN))
    with monkeypatch.context() as patch:
        patch.setattr(reason, "_commit", full_disk)
        with pytest.raises(OSError, match="No space left"):
            if change == "retract":
                retract(seed_store, seed_store.sources()[-1].id)
            else:
                document = SEED_FILES[-1] if change == "replace" else SAMPLES / "minimal-source.ttl"
                ingest(seed_store, document.read_bytes(), media_type="text/turtle", replace=change == "replace")
    assert store_dump(seed_store) == before
    assert attribution(seed_store, str(CAMPAIGN)) == answer


def _inferred(store: GraphStore) -> list[str]:
    return [line for line in store_dump(store) if line.endswith(f"<{INFERRED_GRAPH}> .")]


def _make_change(store: GraphStore, change: str) -> None:
    """Add a source, replace a seed source by a version holding its first claim less firmly, or retract one."""
    if change == "retract":
        retract(store, store.sources()[-1].id)
    elif change == "replace":
        text = SEED_FILES[-1].read_text()
        assert "fimi:confidence 80 ;" in text
        ingest(store, text.replace("fimi:confidence 80 ;", "fimi:confidence 50 ;", 1).encode(), media_type="text/turtle",
               replace=True)
    else:
        ingest(store, (SAMPLES / "minimal-source.ttl").read_bytes(), media_type="text/turtle")


@pytest.mark.parametrize("change", ["add", "replace", "retract"])
@pytest.mark.parametrize("where", ["reasoning", "writing"])
def test_a_change_that_fails_leaves_the_store_as_it_was_and_the_next_one_is_right(
        seed_store: GraphStore, monkeypatch: pytest.MonkeyPatch, change: str, where: str) -> None:
    """A change is one transaction: failing while its inferences are worked out in memory, or while it is
    written (a full disk), leaves the store as it was, with no rebuild; the next attempt equals a rebuild."""
    before, answer = store_dump(seed_store), attribution(seed_store, str(CAMPAIGN))
    with monkeypatch.context() as patch:
        if where == "reasoning":
            patch.setattr(Engine, "change", full_disk)
        else:
            patch.setattr(GraphStore, "update", full_disk)
        patch.setattr(reason, "infer", _rebuilt)
        with pytest.raises(OSError, match="No space left"):
            _make_change(seed_store, change)
    assert store_dump(seed_store) == before
    assert attribution(seed_store, str(CAMPAIGN)) == answer
    assert reason.outdated(seed_store) is None
    _make_change(seed_store, change)  # the next attempt finds a store fit to build on
    changed = _inferred(seed_store)
    reason.infer(seed_store)
    assert _inferred(seed_store) == changed


def test_one_compaction_at_a_time_while_changes_go_on(seed_store: GraphStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A compaction holds no write lock: a change completes during it, and counts towards the next; a second compaction is not started beside it."""
    compactor = Compactor(seed_store, after=1)
    started, release = threading.Event(), threading.Event()
    compact = seed_store.ox.optimize

    def slow() -> None:
        started.set()
        assert release.wait(60)
        compact()

    monkeypatch.setattr(seed_store, "ox", Proxy(seed_store.ox, optimize=slow))
    results: list[bool] = []
    first = threading.Thread(target=lambda: results.append(compactor.compact()))
    first.start()
    try:
        assert started.wait(60)
        assert compactor.status()["running"] is True
        assert compactor.compact() is False  # one is running already
        result = ingest(seed_store, (SAMPLES / "minimal-source.ttl").read_bytes(), media_type="text/turtle")
        assert result.inferred > 0
    finally:
        release.set()
        first.join(60)
    assert results == [True]
    status = compactor.status()
    assert (status["running"], status["count"], status["last"]["changes"], status["changes_since"]) == (False, 1, 2, 1)
    assert compactor.due() and len(seed_store.sources()) == 3


def test_the_count_of_changes_is_written_with_the_change(seed_store: GraphStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """The count towards the next compaction goes in the change's own transaction: both land, or neither."""
    update = seed_store.ox.update

    def full_disk_for_the_count(sparql: str) -> None:
        if str(FIMI.changesSinceCompaction) in sparql:
            raise OSError("No space left on device")
        update(sparql)

    before = store_dump(seed_store)
    with monkeypatch.context() as patch:
        patch.setattr(seed_store, "ox", Proxy(seed_store.ox, update=full_disk_for_the_count))
        with pytest.raises(StoreError, match="No space left"):
            ingest(seed_store, (SAMPLES / "minimal-source.ttl").read_bytes(), media_type="text/turtle")
    assert store_dump(seed_store) == before and seed_store.changes_since_compaction() == 2
    result = ingest(seed_store, (SAMPLES / "minimal-source.ttl").read_bytes(), media_type="text/turtle")
    assert result.inferred > 0 and seed_store.changes_since_compaction() == 3


def test_a_second_process_cannot_open_a_store_in_use(tmp_path: Path) -> None:
    store = GraphStore(tmp_path / "store")
    done = run_cli("load", str(SAMPLES / "minimal-source.ttl"), "--store", str(tmp_path / "store"))
    assert done.returncode == 6 and "in use by another process" in done.stderr
    assert store.sources() == []


def test_server_restart_keeps_sources_answers_and_the_count_of_changes(seed_store_path: Path) -> None:
    with served(seed_store_path, "--compact-after", "4") as server:
        url = server.url
        posted = httpx.post(f"{url}/sources", content=(SAMPLES / "minimal-source.ttl").read_bytes(),
                            headers={"Content-Type": "text/turtle", **server.editor}, timeout=120)
        assert posted.status_code == 201, posted.text
        before = httpx.get(f"{url}/attribution", params={"subject": str(CAMPAIGN)}).json()
        assert httpx.get(f"{url}/health").json()["compaction"]["changes_since"] == 3  # the seed's two loads, and this
    with served(seed_store_path, "--compact-after", "4") as server:
        url = server.url
        assert len(httpx.get(f"{url}/sources").json()) == 3
        assert httpx.get(f"{url}/attribution", params={"subject": str(CAMPAIGN)}).json() == before
        # The fourth change since the last compaction, across the restart: compacted in the background.
        assert httpx.delete(f"{url}/sources/{posted.json()['id']}", headers=server.editor, timeout=120).status_code == 200
        assert httpx.get(f"{url}/attribution", params={"subject": str(CAMPAIGN)}).json() == before
    # Stopped: a graceful stop waits for the compaction, which reset the count.
    assert GraphStore(seed_store_path, read_only=True).changes_since_compaction() == 0


def _interrupt_reasoning(store: GraphStore) -> None:
    # What a version that wrote the inferred graph in several transactions left when killed half-way:
    # part of the graph, and its note that a run was writing.
    link = store.select(f"SELECT ?l WHERE {{ GRAPH <{INFERRED_GRAPH}> {{ ?l a fimi:AttributionLink }} }} LIMIT 1")[0]["l"]
    store.update(f"DELETE WHERE {{ GRAPH <{INFERRED_GRAPH}> {{ <{link}> ?p ?o }} }} ; "
                 f"INSERT DATA {{ GRAPH <{SOURCES_GRAPH}> {{ <{INFERRED_GRAPH}> <{FIMI.reasoningStartedAt}> "
                 f"\"2026-01-01T00:00:00Z\"^^<{vocab.XSD.dateTime}> }} }}")


def _as_an_earlier_version_left_it(store: GraphStore) -> None:
    # Its rules derived one link fewer, and it recorded no fingerprint (versions before fimi:derivedWith).
    link = store.select(f"SELECT ?l WHERE {{ GRAPH <{INFERRED_GRAPH}> {{ ?l a fimi:AttributionLink }} }} LIMIT 1")[0]["l"]
    store.update(f"DELETE WHERE {{ GRAPH <{INFERRED_GRAPH}> {{ <{link}> ?p ?o }} }}")
    store.update(f"DELETE WHERE {{ GRAPH <{SOURCES_GRAPH}> {{ <{INFERRED_GRAPH}> <{FIMI.derivedWith}> ?h }} }}")


@pytest.mark.parametrize(("damage", "why"), [(_interrupt_reasoning, reason.INTERRUPTED),
                                             (_as_an_earlier_version_left_it, reason.OTHER_RULES)],
                         ids=["interrupted run", "other rules"])
def test_an_unfit_inferred_graph_is_derived_again_before_the_store_is_used(
        seed_store_path: Path, damage: Callable[[GraphStore], None], why: str) -> None:
    """Read-only commands warn; the server and the next writer rebuild it first (a change would build on it)."""
    complete = store_dump(GraphStore(seed_store_path))
    gc.collect()

    def damaged() -> None:
        store = GraphStore(seed_store_path)
        damage(store)
        assert reason.outdated(store) == why
        store.flush()
        del store
        gc.collect()

    damaged()
    read_only = run_cli("attribution", str(CAMPAIGN), "--store", str(seed_store_path))
    assert read_only.returncode == 0
    assert f"inferred graph is {why}; `fimigraph infer` rebuilds it" in read_only.stderr, read_only.stderr
    with running_server(seed_store_path) as url:  # rebuilt before it serves
        assert httpx.get(f"{url}/health").json()["inferences"] == "complete"
        assert httpx.get(f"{url}/attribution", params={"subject": str(CAMPAIGN)}).json()["links"]
    assert store_dump(GraphStore(seed_store_path)) == complete
    gc.collect()

    damaged()
    loaded = run_cli("load", str(SAMPLES / "minimal-source.ttl"), "--store", str(seed_store_path))
    assert loaded.returncode == 0, loaded.stderr
    assert f"the inferred graph is {why}: rebuilding it first" in loaded.stderr and "rebuilt the inferred graph" in loaded.stderr
    store = GraphStore(seed_store_path)
    assert reason.outdated(store) is None and len(store.sources()) == 3


WHOLE = f"""
SELECT ?n ?recorded ?links ?figured WHERE {{
  {{ SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{INFERRED_GRAPH}> {{ ?s ?p ?o }} }} }}
  {{ SELECT (COUNT(?l) AS ?links) WHERE {{ GRAPH <{INFERRED_GRAPH}> {{ ?l a <{FIMI.AttributionLink}> }} }} }}
  {{ SELECT (COUNT(?l) AS ?figured) WHERE {{ GRAPH <{INFERRED_GRAPH}> {{ ?l a <{FIMI.AttributionLink}> ; <{FIMI.bestDerivation}> ?d }} }} }}
  OPTIONAL {{ GRAPH <{SOURCES_GRAPH}> {{ <{INFERRED_GRAPH}> <{FIMI.inferredTriples}> ?recorded }} }}
}}"""


def test_readers_only_ever_see_whole_states(seed_store: GraphStore) -> None:
    """A reader querying in a loop while sources are added, replaced and retracted and the inferred graph is
    rebuilt (over itself, and from empty) only ever sees whole states: the graph has the size its note records,
    and every link its best derivation."""
    stop, seen, broken = threading.Event(), [], []

    def read() -> None:
        while not stop.is_set():
            row = seed_store.select(WHOLE)[0]
            seen.append(row)
            if (row["recorded"] is not None and row["recorded"] != row["n"]) or row["links"] != row["figured"]:
                broken.append(row)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for change in ("add", "replace", "retract"):
            _make_change(seed_store, change)
        reason.infer(seed_store)
        seed_store.update(f"DROP GRAPH <{INFERRED_GRAPH}> ; {seed_store.forget_notes_sparql()}")
        reason.infer(seed_store)
    finally:
        stop.set()
        reader.join(60)
    assert not broken, broken[:3]
    assert len(seen) > 5 and seen[-1]["n"] == seed_store.recorded_inferred_size() > 0
