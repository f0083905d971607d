"""``fimigraph load --bulk``: many sources from one dataset, checked, validated, all or nothing."""

from __future__ import annotations

import gc
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from support import run_cli, store_dump

INFERRED = "https://w3id.org/fimigraph/graph/inferred"
ONTOLOGY = "https://w3id.org/fimigraph/graph/ontology"


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("fimigraph: error: "), stderr
    return lines[0]


def dump(store: Path) -> list[str]:
    """Every quad of a store, sorted: equal dumps, equal stores."""
    handle = ox.Store.read_only(str(store))
    lines = store_dump(handle)
    del handle
    gc.collect()  # let go of RocksDB before the next command opens the store
    return lines


def export(store: Path, target: Path, fmt: ox.RdfFormat) -> None:
    """What a user exports from a store: the asserted graphs (source graphs and metadata)."""
    handle = ox.Store.read_only(str(store))
    asserted = [q for q in handle if q.graph_name.value not in (INFERRED, ONTOLOGY)]
    target.write_bytes(ox.serialize(asserted, format=fmt))
    del handle
    gc.collect()


@dataclass(frozen=True)
class Loaded:
    one_by_one: Path  # the documents, loaded one by one
    bulk: Path  # their export, bulk-loaded into a new store
    export: Path  # that export, as N-Quads
    report: dict[str, Any]
    bulk_sources: list[dict[str, Any]]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    """A 3,000-triple generated world loaded document by document, exported, and bulk-loaded."""
    from fimigraph.generate import generate

    tmp = tmp_path_factory.mktemp("bulk")
    docs = tmp / "docs"  # what `fimigraph generate --triples 3000 --seed 7 --layout documents -o docs` writes
    generate(docs, triples=3000, seed=7, layout="documents")
    one_by_one, bulk = tmp / "one-by-one", tmp / "bulk"
    done = run_cli("load", *map(str, sorted(docs.glob("*.ttl"))), "--store", str(one_by_one))
    assert done.returncode == 0, done.stderr
    export(one_by_one, tmp / "export.trig", ox.RdfFormat.TRIG)
    export(one_by_one, tmp / "export.nq", ox.RdfFormat.N_QUADS)
    done = run_cli("load", "--bulk", str(tmp / "export.trig"), "--store", str(bulk), "--json")
    assert done.returncode == 0, done.stderr
    return Loaded(one_by_one, bulk, tmp / "export.nq", json.loads(done.stdout), sources(bulk))


def sources(store: Path) -> list[dict[str, Any]]:
    """What ``fimigraph sources`` lists: id, IRI, title, publisher, dates, claim count."""
    from fimigraph.store import GraphStore

    handle = GraphStore(store, read_only=True)
    listed = [info.__dict__ for info in handle.sources()]
    del handle
    gc.collect()
    return listed


def test_bulk_load_equals_loading_document_by_document(loaded: Loaded) -> None:
    listed = loaded.bulk_sources
    assert listed == sources(loaded.one_by_one)  # ids, titles, claim counts, submission times
    report = loaded.report
    assert report["sources"] == len(listed) > 20 and report["replaced"] == 0
    assert report["claims"] == sum(s["claims"] for s in listed)
    assert set(report["phases"]) == {"parse", "check", "validate", "write", "reasoning"}
    quads = dump(loaded.bulk)
    assert report["inferred"] == sum(line.endswith(f"<{INFERRED}> .") for line in quads) > 0
    # Not only the same sources and the same inferred graph: the very same store.
    assert quads == dump(loaded.one_by_one)


def test_generated_nquads_load_and_replace(loaded: Loaded, tmp_path: Path) -> None:
    from fimigraph.generate import generate

    gz = tmp_path / "g.nq.gz"  # what `fimigraph generate --triples 3000 --seed 7 -o g.nq.gz` writes
    stats = generate(gz, triples=3000, seed=7).as_dict()
    store = tmp_path / "store"
    shutil.copytree(loaded.bulk, store)
    # The same world generated as one file: most of its sources are loaded already.
    done = run_cli("load", "--bulk", str(gz), "--store", str(store), "--replace")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"loaded {stats['sources']} sources (") and f"{stats['triples']} triples" in done.stdout
    assert "inferred graph: " in done.stdout and "reasoning " in done.stdout
    listed = {s["id"]: s for s in sources(store)}
    ids = _ids(gz)
    assert len(ids) == stats["sources"] and ids <= set(listed) and len(listed) == loaded.report["sources"] + len(ids - _ids_in(loaded.export))
    # Replaced sources carry the submission time the file gives them (the generator's 09:00 UTC).
    assert all(listed[sid]["submitted"].endswith("T09:00:00Z") for sid in ids)


def _ids_in(text: str | Path) -> set[str]:
    text = text.read_text() if isinstance(text, Path) else text
    return set(re.findall(r'<http://purl.org/dc/terms/identifier> "([^"]+)"', text))


def _ids(gz: Path) -> set[str]:
    import gzip

    return _ids_in(gzip.decompress(gz.read_bytes()).decode())


def _edit(lines: list[str], tmp_path: Path, name: str, edit: Any) -> Path:
    path = tmp_path / name
    path.write_text("".join(edit(list(lines))))
    return path


def test_bad_datasets_are_refused_and_leave_the_store_as_it_was(loaded: Loaded, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(loaded.bulk, store)
    before = dump(store)
    lines = loaded.export.read_text().splitlines(keepends=True)

    def refused(path: Path, *more: str) -> tuple[int, str]:
        done = run_cli("load", "--bulk", str(path), "--store", str(store), *more)
        return done.returncode, one_line_error(done.stderr)

    # A quad in the inferred graph, on line 6: the store rebuilds inferences itself (exit 2).
    def forged(ls: list[str]) -> list[str]:
        return [*ls[:5], f"<https://example.org/x> <https://example.org/p> <https://example.org/y> <{INFERRED}> .\n", *ls[5:]]

    code, error = refused(_edit(lines, tmp_path, "inferred.nq", forged), "--replace")
    assert code == 2 and "inferred graph" in error and "inferred.nq line 6" in error

    # A claim with a confidence of 150: the shapes refuse it, naming its source (exit 3).
    def overconfident(ls: list[str]) -> list[str]:
        at = next(i for i, line in enumerate(ls) if "ontology#confidence>" in line)
        ls[at] = re.sub(r'"\d+"\^\^', '"150"^^', ls[at])
        return ls

    code, error = refused(_edit(lines, tmp_path, "invalid.nq", overconfident), "--replace")
    assert code == 3 and "SHACL violation" in error and "0 to 100" in error and "source " in error
    # Malformed N-Quads: the parser names the line (exit 2).
    code, error = refused(_edit(lines, tmp_path, "malformed.nq", lambda ls: [*ls[:41], "<https://example.org/x> <https://example.org/p> .\n", *ls[41:]]))
    assert code == 2 and "malformed" in error and "line 42" in error
    # Sources that are loaded already, without --replace (exit 5).
    code, error = refused(loaded.export)
    assert code == 5 and "loaded already" in error and "--replace" in error
    assert dump(store) == before


def test_layout_errors_name_file_graph_and_line(loaded: Loaded, tmp_path: Path) -> None:
    """In process (no store needed): what read_dataset and the checks refuse, and how they say it."""
    from fimigraph.bulk import bulk_format, check_one_source_each, read_dataset, validate_dataset
    from fimigraph.errors import InputError, UnsupportedFormat, ValidationError

    lines = loaded.export.read_text().splitlines(keepends=True)
    triple = '<https://example.org/x> <https://example.org/p> "o"'

    def error_of(name: str, edit: Any) -> InputError | ValidationError:
        dataset = read_dataset([_edit(lines, tmp_path, name, edit)])
        check_one_source_each(dataset)
        validate_dataset(dataset)
        raise AssertionError(f"{name} was accepted")

    with pytest.raises(InputError, match=r"default\.nq line \d+: a triple in the default graph"):
        error_of("default.nq", lambda ls: [*ls, f"{triple} .\n"])
    with pytest.raises(InputError, match=r"ontology\.nq line 1: a quad in the ontology graph"):
        error_of("ontology.nq", lambda ls: [f"{triple} <{ONTOLOGY}> .\n", *ls])
    with pytest.raises(InputError, match=r"other\.nq line 3: a quad in graph <https://example.org/g>"):
        error_of("other.nq", lambda ls: [*ls[:2], f"{triple} <https://example.org/g> .\n", *ls[2:]])
    orphan = "https://w3id.org/fimigraph/graph/source/nobody-00000000"
    with pytest.raises(InputError, match=f"graph <{orphan}> belongs to no source"):
        error_of("orphan.nq", lambda ls: [*ls, f"{triple} <{orphan}> .\n"])

    def wrong_id(ls: list[str]) -> list[str]:
        at = next(i for i, line in enumerate(ls) if line.startswith("<https://example.org/") and "/identifier> " in line)
        ls[at] = re.sub(r'identifier> "[^"]+"', 'identifier> "wrong"', ls[at])
        return ls

    with pytest.raises(InputError, match="the store identifies it as"):
        error_of("identifier.nq", wrong_id)
    # Only the rules create inferred nodes, and a document describes one source, its own.
    graph = next(line for line in lines if "/graph/source/" in line).rsplit("<", 1)[1].split(">", 1)[0]
    with pytest.raises(ValidationError, match="inferred nodes"):
        error_of("forged.nq", lambda ls: [*ls, f'<https://w3id.org/fimigraph/inferred/abc> <https://example.org/p> "o" <{graph}> .\n'])
    with pytest.raises(ValidationError, match="exactly one fimi:Source"):
        error_of("two.nq", lambda ls: [*ls, f"<https://example.org/r> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://w3id.org/fimigraph/ontology#Report> <{graph}> .\n"])
    with pytest.raises(UnsupportedFormat, match="--bulk reads"):
        bulk_format(tmp_path / "doc.ttl")
    assert bulk_format(tmp_path / "g.nq.gz") == bulk_format(tmp_path / "g.nq") and bulk_format(tmp_path / "x.TRIG")


def test_a_failed_write_or_reasoning_run_is_undone(loaded: Loaded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In process: the bulk writer fails half-way (a full disk), or reasoning fails; the store stays as it was."""
    from fimigraph import bulk, reason
    from fimigraph.errors import StoreError
    from fimigraph.store import GraphStore, source_id

    store_path = tmp_path / "store"
    shutil.copytree(loaded.bulk, store_path)
    # Half the sources are loaded already (to replace), the other half get new IRIs (new sources).
    text = loaded.export.read_text()
    for sid in sorted(_ids_in(text) & {s["id"] for s in loaded.bulk_sources})[::2]:
        name = sid.rsplit("-", 1)[0]
        new_id = source_id(f"https://example.org/fimigraph-gen/source/{name}-copy")
        text = (text.replace(f"/source/{name}>", f"/source/{name}-copy>")
                .replace(f'"{sid}"', f'"{new_id}"').replace(f"/graph/source/{sid}>", f"/graph/source/{new_id}>"))
    dataset = tmp_path / "mixed.nq"
    dataset.write_text(text)
    monkeypatch.setattr(bulk, "validate_dataset", lambda *a, **k: 0)  # validation is not what this test is about

    store = GraphStore(store_path)
    before = sorted(store.ox.dump(format=ox.RdfFormat.N_QUADS).decode().splitlines())

    copies = sorted(set(re.findall(r"<(https://example.org/fimigraph-gen/source/[^>]+-copy)>", text)))
    assert 0 < len(copies) < len(loaded.bulk_sources)  # some sources new, the others replaced

    def half_then_full_disk(target: GraphStore, quads: Any) -> None:
        quads = list(quads)
        target.ox.bulk_extend(quads[: len(quads) // 2])
        assert target.has_source(copies[0]) or len(target.ox) > len(before)
        raise OSError("No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(bulk, "_bulk_write", half_then_full_disk)
        with pytest.raises(StoreError, match="No space left"):
            bulk.bulk_load(store, [dataset], replace=True)
    assert sorted(store.ox.dump(format=ox.RdfFormat.N_QUADS).decode().splitlines()) == before

    held: list[bool] = []

    def interrupted(target: GraphStore, **kwargs: Any) -> Any:
        held.append(all(target.has_source(iri) for iri in copies))
        raise KeyboardInterrupt  # even then: the sources go back (and the inferred graph was not touched)

    with monkeypatch.context() as patch:
        patch.setattr(reason, "infer", interrupted)
        with pytest.raises(KeyboardInterrupt):
            bulk.bulk_load(store, [dataset], replace=True)
    assert held == [True, False]  # the new sources were in when reasoning started, gone when it was retried
    assert sorted(store.ox.dump(format=ox.RdfFormat.N_QUADS).decode().splitlines()) == before
