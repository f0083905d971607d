"""A server killed at each step of a change: the restart finds the change whole or not at all, and answers as a rebuild.

``FIMIGRAPH_CRASH_AT`` (``fimigraph.faults``) makes a real ``fimigraph serve`` kill itself
(SIGKILL) at one point of an ingest or a retraction. The store is then opened again as a
restarted server opens it, and compared with a rebuild of the same sources: the inferred graph
and every need-to-know copy must be what deriving them afresh gives.
"""

from __future__ import annotations

import gc
import shutil
from pathlib import Path

import httpx
import pytest

from fimigraph import reason
from fimigraph.faults import POINTS
from fimigraph.ingest import ingest
from fimigraph.store import GraphStore
from fimigraph.views import parse_clearance
from fimigraph.vocab import INFERRED_GRAPH
from conftest import make_client
from support import SEED_FILES, served, store_dump

EX = "https://example.org/crash/"


def _report(name: str, marking: str) -> bytes:
    """A report marked ``marking`` that restates the individual's party affiliation."""
    return f"""@prefix fimi: <https://w3id.org/fimigraph/ontology#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix case: <https://w3id.org/fimigraph/case/boycottparis2024/> .
@prefix ex: <{EX}> .
ex:{name} a fimi:Report ; dcterms:title "{name} (test)" ; dcterms:publisher ex:agency ; fimi:marking fimi:{marking} .
ex:agency a fimi:StateOrgan .
case:azerbaijani-individual a fimi:Person . case:presidential-party a fimi:PoliticalParty .
ex:{name}-claim a fimi:Claim ; fimi:claimSubject case:azerbaijani-individual ; fimi:claimPredicate fimi:affiliatedWith ;
    fimi:claimObject case:presidential-party ; fimi:statedIn ex:{name} ; fimi:quote "a party member ({name})" ;
    fimi:confidence 90 ; fimi:evidenceType fimi:TechnicalEvidence .
""".encode()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed case with a TLP:GREEN and a TLP:AMBER report beside it (so the store keeps copies)."""
    path = tmp_path_factory.mktemp("crash") / "store"
    store = GraphStore(path)
    for document in [*(f.read_bytes() for f in SEED_FILES), _report("green", "TLP_GREEN"), _report("amber", "TLP_AMBER")]:
        ingest(store, document, media_type="text/turtle")
    store.flush()
    del store
    gc.collect()
    return path


CHANGES = {  # what the killed server was asked, and the source it names
    "ingest": ("POST", "/sources", _report("red", "TLP_RED"), f"{EX}red"),
    "retract": ("DELETE", "/sources/{green}", None, f"{EX}green"),
}


def _kill_at(path: Path, point: str, change: str) -> None:
    """Start a server that dies at ``point`` and ask it for ``change``; it must die, answering nothing."""
    ids = {s.iri.rsplit("/", 1)[-1]: s.id for s in GraphStore(path).sources()}
    gc.collect()
    method, target, body, _ = CHANGES[change]
    with served(path, env={"FIMIGRAPH_CRASH_AT": point}) as server:
        with pytest.raises(httpx.TransportError):
            httpx.request(method, server.url + target.format(**ids), content=body, timeout=60,
                          headers={**server.editor, "Content-Type": "text/turtle"})
        assert server.process.wait(timeout=30) == -9


def _inferred(store: GraphStore) -> list[str]:
    return [line for line in store_dump(store) if line.endswith(f"<{INFERRED_GRAPH}> .")]


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("point", POINTS)
def test_a_change_killed_at_any_point_is_whole_or_absent_after_the_restart(template: Path, tmp_path: Path,
                                                                           point: str, change: str) -> None:
    path = tmp_path / "store"
    shutil.copytree(template, path)
    _kill_at(path, point, change)

    store = GraphStore(path)
    with make_client(store, role="reader", clearance="clear"):  # starts as a restarted server does
        pass
    source = CHANGES[change][3]
    committed = point != "reasoned"
    present = store.has_source(source)
    assert present == (committed if change == "ingest" else not committed)
    claims = [q for q in store.ox.quads_for_pattern(None, None, None) if q.subject.value.startswith(f"{source}-claim")]
    assert bool(claims) == present  # no part of a source without the rest

    copy = tmp_path / "rebuilt"
    store.flush()
    shutil.copytree(path, copy)
    rebuilt = GraphStore(copy)
    reason.infer(rebuilt)
    assert _inferred(store) == _inferred(rebuilt)
    for clearance in ("clear", "green"):
        rank = parse_clearance(clearance)
        assert store_dump(store.for_clearance(rank)) == store_dump(rebuilt.for_clearance(rank)), clearance
