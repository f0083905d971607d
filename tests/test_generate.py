"""The synthetic graph generator: deterministic, on size, valid, loadable, and worth reasoning over."""

from __future__ import annotations

import io
from pathlib import Path

import pyoxigraph as ox
import pytest

from fimigraph import reason
from fimigraph.generate import extra_source, generate, parse_count
from fimigraph.ingest import read_document
from fimigraph.store import GraphStore, source_id
from fimigraph.vocab import FIMI, SOURCE_GRAPH_PREFIX, SOURCES_GRAPH


def _text(triples: int, seed: int) -> str:
    out = io.StringIO()
    generate(out, triples=triples, seed=seed)
    return out.getvalue()


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    first, again = _text(5000, 7), _text(5000, 7)
    assert first == again
    assert first != _text(5000, 8)
    # Files (plain and gzip) and the per-source folders are deterministic too.
    for name in ("a.nq", "b.nq", "a.nq.gz", "b.nq.gz"):
        generate(tmp_path / name, triples=3000, seed=7)
    assert (tmp_path / "a.nq").read_bytes() == (tmp_path / "b.nq").read_bytes()
    assert (tmp_path / "a.nq.gz").read_bytes() == (tmp_path / "b.nq.gz").read_bytes()
    for name in ("d1", "d2"):
        generate(tmp_path / name, triples=3000, seed=7, layout="documents")
    files = sorted(p.name for p in (tmp_path / "d1").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "d2").iterdir())
    assert all((tmp_path / "d1" / f).read_bytes() == (tmp_path / "d2" / f).read_bytes() for f in files)


@pytest.mark.parametrize("triples", [1000, 20_000])
def test_size_within_five_percent_and_no_duplicate_quads(tmp_path: Path, triples: int) -> None:
    path = tmp_path / "g.nq"
    stats = generate(path, triples=triples, seed=11)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert abs(len(lines) - triples) <= 0.05 * triples
    assert stats.triples == len(lines)
    store = ox.Store()
    store.bulk_load(path=str(path), format=ox.RdfFormat.N_QUADS)
    assert len(store) == len(lines)  # every line a distinct quad
    assert stats.claims_by_kind and stats.sources == len({line.rsplit(" ", 2)[-2] for line in lines}) - 1


def test_parse_count() -> None:
    assert [parse_count(t) for t in ("1k", "100k", "1M", "2.5M", "750", 42)] == [1000, 100_000, 1_000_000, 2_500_000, 750, 42]


def test_every_link_kind_and_source_type_occurs() -> None:
    stats = generate(io.StringIO(), triples=20_000, seed=3)
    kinds = set(stats.claims_by_kind)
    expected = {
        "operates", "conducts", "usesAccount", "affiliatedWith", "employedBy", "contractedBy", "controlledBy",
        "organOf", "rulingPartyOf", "officialChannelOf", "promotes", "targets", "usesTechnique", "attributedTo",
        "notDirectlyLinkedTo", "disputes", "respondsTo", "contextOf",
    }
    assert expected <= kinds, expected - kinds
    assert {"Report", "Article", "OfficialStatement"} <= set(stats.sources_by_type)


def test_documents_pass_the_shapes_through_the_real_ingest_path(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    generate(folder, triples=20_000, seed=5, layout="documents")
    files = sorted(folder.glob("*.ttl"))
    # A sample of every kind of document: profiles, reports, takedowns, articles, statements.
    sample: list[Path] = []
    for prefix in ("profile-", "report-", "takedown-", "article-", "statement-"):
        sample += [f for f in files if f.name.startswith(prefix)][:3]
    assert len(sample) >= 10
    for path in sample:
        doc = read_document(path.read_bytes(), media_type="text/turtle")  # raises ValidationError if not
        assert doc.id == path.stem
        assert len(doc.claims) > 0


def test_nquads_mirror_put_source_and_load_into_the_store(tmp_path: Path) -> None:
    path = tmp_path / "g.nq"
    stats = generate(path, triples=3000, seed=2)
    store = GraphStore(tmp_path / "store")
    store.ox.bulk_load(path=str(path), format=ox.RdfFormat.N_QUADS)
    sources = store.sources()
    assert len(sources) == stats.sources
    for info in sources:
        assert info.id == source_id(info.iri)
        assert info.claims > 0 and info.title and info.publisher and info.submitted
    graphs = set(store.named_graphs())
    assert str(SOURCES_GRAPH) in graphs
    assert sum(g.startswith(SOURCE_GRAPH_PREFIX) for g in graphs) == stats.sources
    # Nothing about a source's own IRI outside the metadata graph, nothing else inside it.
    misplaced = store.select(
        f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} ?s a fimi:Source . "
        f"FILTER(STRSTARTS(STR(?g), \"{SOURCE_GRAPH_PREFIX}\")) }}"
    )
    assert misplaced[0]["n"] == 0


def test_reference_reasoning_on_a_small_graph_gives_several_grades(tmp_path: Path) -> None:
    path = tmp_path / "g.nq"
    generate(path, triples=1000, seed=0)
    store = GraphStore(None)
    store.ox.bulk_load(path=str(path), format=ox.RdfFormat.N_QUADS)
    report = reason.infer(store, engine="pyshacl")
    assert report.triples > 0
    rows = store.select("SELECT DISTINCT ?g ?d WHERE { ?l a fimi:AttributionLink ; fimi:grade ?g ; fimi:directness ?d }")
    grades = {r["g"] for r in rows}
    assert len(grades) >= 4, grades
    assert {r["d"] for r in rows} == {str(FIMI.Direct), str(FIMI.Inferred)}


def test_extra_source_is_new_valid_and_about_the_generated_world(tmp_path: Path) -> None:
    path = tmp_path / "g.nq"
    generate(path, triples=5000, seed=4)
    iri, turtle = extra_source(triples=5000, seed=4)
    assert extra_source(triples=5000, seed=4) == (iri, turtle)
    doc = read_document(turtle.encode(), media_type="text/turtle")
    assert doc.source_iri == iri and len(doc.metadata) + len(doc.claims) <= 900
    text = path.read_text(encoding="utf-8")
    assert f"<{iri}>" not in text
    campaign = next(str(o) for s, p, o in doc.claims if str(p) == str(FIMI.claimSubject) and "/campaign/" in str(o))
    assert f"<{campaign}>" in text
