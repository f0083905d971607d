"""The ``fimigraph`` command as a user types it: output, exit codes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import ACCOUNT, CAMPAIGN, QUERIES, SAMPLES, SEED_FILES, Proxy, full_disk, run_cli, store_dump

from fimigraph.store import GraphStore


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("fimigraph: error: "), stderr
    return lines[0]


def test_load_then_query_attribute_explain_retract(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    loaded = run_cli("load", *map(str, SEED_FILES), "--store", store, "--json")
    assert loaded.returncode == 0, loaded.stderr
    results = json.loads(loaded.stdout)
    assert [r["claims"] for r in results] == [6, 11] and results[-1]["inferred"] > 0

    listed = json.loads(run_cli("sources", "--store", store, "--json").stdout)
    assert {s["publisher"] for s in listed} == {"Reuters", "Viginum"}

    table = run_cli("query", str(QUERIES[0]), "--store", store)
    assert table.returncode == 0 and "party-linked" in table.stdout and "row(s)" in table.stdout
    csv = run_cli("query", "SELECT ?g WHERE { ?l fimi:grade/skos:notation ?g } ORDER BY ?g LIMIT 1", "--store", store, "--format", "csv")
    assert csv.stdout.splitlines() == ["g", "party-linked"]

    link = json.loads(run_cli("attribution", str(ACCOUNT), "--json", "--store", store).stdout)["links"][0]["link"]
    explained = run_cli("explain", link, "--store", store)
    assert explained.returncode == 0
    assert "rule: chain" in explained.stdout and "with links to the Azeri presidential party" in explained.stdout

    viginum = next(s["id"] for s in listed if s["publisher"] == "Viginum")
    assert run_cli("retract", viginum, "--store", store).returncode == 0
    after = json.loads(run_cli("attribution", str(CAMPAIGN), "--json", "--store", store).stdout)
    assert after["links"] == [] and after["not_directly_linked"] == []


def test_load_and_retract_compact_the_store_once_it_made_so_many_changes(tmp_path: Path) -> None:
    """The store counts its changes across processes: one load of 2 compacts; a load of 1 then a retract do too."""
    store = str(tmp_path / "store")
    loaded = run_cli("load", *map(str, SEED_FILES), "--store", store, "--compact-after", "2", "--json")
    assert loaded.returncode == 0, loaded.stderr
    assert "compacted the store after 2 changes" in loaded.stderr and len(json.loads(loaded.stdout)) == 2
    env = {"FIMIGRAPH_COMPACT_AFTER": "2"}
    fewer = run_cli("load", str(SAMPLES / "minimal-source.ttl"), "--store", store, env=env)
    assert fewer.returncode == 0 and "compacted" not in fewer.stderr
    listed = json.loads(run_cli("sources", "--store", store, "--json").stdout)
    assert len(listed) == 3
    retracted = run_cli("retract", listed[0]["id"], "--store", store, env=env)
    assert retracted.returncode == 0, retracted.stderr
    assert "compacted the store after 2 changes" in retracted.stderr
    never = run_cli("retract", listed[1]["id"], "--store", store, "--compact-after", "0")
    assert never.returncode == 0 and "compacted" not in never.stderr
    assert len(json.loads(run_cli("sources", "--store", store, "--json").stdout)) == 1


def test_a_compaction_that_fails_after_a_command_is_a_warning(seed_store: GraphStore, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """The command's changes are made: a full disk while compacting after them warns, and the count stays for the next try."""
    from fimigraph import cli
    from fimigraph.settings import Settings

    monkeypatch.setattr(seed_store, "ox", Proxy(seed_store.ox, optimize=full_disk))
    cli._compact_if_due(seed_store, Settings(store=seed_store.path, compact_after=2))  # what load and retract end with
    assert "fimigraph: warning: the store could not be compacted: No space left on device" in capsys.readouterr().err
    assert seed_store.changes_since_compaction() == 2


def test_store_comes_from_the_environment(tmp_path: Path) -> None:
    env = {"FIMIGRAPH_STORE": str(tmp_path / "env-store")}
    assert run_cli("load", str(SAMPLES / "minimal-source.ttl"), env=env).returncode == 0
    assert (tmp_path / "env-store").is_dir()
    assert "Sample report" in run_cli("sources", env=env).stdout


def test_default_store_is_a_folder_in_the_working_directory(tmp_path: Path) -> None:
    assert run_cli("load", str(SAMPLES / "minimal-source.ttl"), cwd=tmp_path).returncode == 0
    assert (tmp_path / "fimigraph-store").is_dir()


def test_errors_are_one_line_with_distinct_exit_codes(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    assert run_cli("load", str(SAMPLES / "minimal-source.ttl"), "--store", store).returncode == 0
    again = run_cli("load", str(SAMPLES / "minimal-source.ttl"), "--store", store)
    assert again.returncode == 5 and "loaded already" in one_line_error(again.stderr)
    malformed = run_cli("load", str(SAMPLES / "malformed.ttl"), "--store", store)
    assert malformed.returncode == 2 and "line 7" in one_line_error(malformed.stderr)
    invalid = run_cli("load", str(SAMPLES / "invalid-claim.ttl"), "--store", store)
    assert invalid.returncode == 3 and "SHACL violation" in one_line_error(invalid.stderr)
    missing = run_cli("load", str(tmp_path / "nope.ttl"), "--store", store)
    assert missing.returncode == 2 and "nope.ttl" in one_line_error(missing.stderr)
    bad_query = run_cli("query", "SELECT WHERE {", "--store", store)
    assert bad_query.returncode == 2 and "malformed SPARQL" in one_line_error(bad_query.stderr)
    unknown = run_cli("attribution", "https://example.org/nobody", "--store", store)
    assert unknown.returncode == 4 and "nobody" in one_line_error(unknown.stderr)
    no_store = run_cli("sources", "--store", str(tmp_path / "absent"))
    assert no_store.returncode == 2 and "no store" in one_line_error(no_store.stderr)
    wrong_engine = run_cli("infer", "--store", store, "--engine", "magic")
    assert wrong_engine.returncode == 7 and "engine" in one_line_error(wrong_engine.stderr)
    no_workers = run_cli("retract", "x", "--store", store, "--workers", "0")
    assert no_workers.returncode == 7 and "workers" in one_line_error(no_workers.stderr)
    # Nothing of the failed loads reached the store.
    assert [s["title"] for s in json.loads(run_cli("sources", "--store", store, "--json").stdout)] == ["Sample report"]


def test_validate_reports_every_violation_and_exits_3() -> None:
    done = run_cli("validate", str(SAMPLES / "minimal-source.ttl"), str(SAMPLES / "invalid-claim.ttl"), "--json")
    assert done.returncode == 3
    report = {Path(r["file"]).name: r for r in json.loads(done.stdout)}
    assert report["minimal-source.ttl"]["conforms"] is True
    messages = " ".join(r["message"] for r in report["invalid-claim.ttl"]["results"])
    assert "0 to 100" in messages and "quote" in messages and "xsd:date" in messages


def test_infer_rebuilds_the_identical_graph(seed_store_path: Path) -> None:
    from fimigraph.store import GraphStore
    from fimigraph.vocab import INFERRED_GRAPH

    def inferred() -> str:
        store = GraphStore(seed_store_path, read_only=True)
        return store.dump_graph(str(INFERRED_GRAPH))

    before = inferred()
    done = run_cli("infer", "--store", str(seed_store_path), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["triples"] == len(before.splitlines())
    assert inferred() == before


def test_generate_writes_a_graph_that_loads(tmp_path: Path) -> None:
    nq = run_cli("generate", "--triples", "2k", "--seed", "7", "-o", str(tmp_path / "g.nq"), "--json")
    assert nq.returncode == 0, nq.stderr
    assert abs(json.loads(nq.stdout)["triples"] - 2000) <= 100
    docs = run_cli("generate", "--triples", "2k", "--seed", "7", "-o", str(tmp_path / "docs"), "--layout", "documents")
    assert docs.returncode == 0, docs.stderr
    files = sorted((tmp_path / "docs").rglob("*.ttl"))[:3]
    loaded = run_cli("load", *map(str, files), "--store", str(tmp_path / "store"), "--json")
    assert loaded.returncode == 0, loaded.stderr
    assert len(json.loads(loaded.stdout)) == 3
    bad = run_cli("generate", "--triples", "lots", "-o", str(tmp_path / "x.nq"))
    assert bad.returncode == 2 and "--triples" in one_line_error(bad.stderr)


def test_compact_keeps_every_quad_and_reports_the_size(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert run_cli("load", *map(str, SEED_FILES), "--store", str(store)).returncode == 0
    listed = json.loads(run_cli("sources", "--store", str(store), "--json").stdout)
    retracted = run_cli("retract", next(s["id"] for s in listed if s["publisher"] == "Viginum"), "--store", str(store))
    assert retracted.returncode == 0, retracted.stderr

    def quads() -> list[str]:
        return store_dump(GraphStore(store, read_only=True))

    before = quads()
    done = run_cli("compact", "--store", str(store), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["bytes_before"] > 0 and report["bytes_after"] > 0 and report["store"] == str(store)
    assert report["changes"] == 3  # two loads and a retract
    assert quads() == before and GraphStore(store, read_only=True).changes_since_compaction() == 0
    text = run_cli("compact", "--store", str(store))
    assert text.returncode == 0 and text.stdout.startswith(f"compacted {store}: ")

    missing = run_cli("compact", "--store", str(tmp_path / "nowhere"))
    assert missing.returncode != 0
    assert one_line_error(missing.stderr) == f"fimigraph: error: no store at {tmp_path / 'nowhere'} (load sources first, or pass --store)"
    assert not (tmp_path / "nowhere").exists()
