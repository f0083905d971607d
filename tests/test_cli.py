"""The ``fimigraph`` command as a user types it: output, exit codes, one-line errors."""

from __future__ import annotations

import json
import re
import socket
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
    deep_query = run_cli("query", "SELECT * WHERE " + "{" * 2500 + "}" * 2500, "--store", store)  # crashed the parser
    assert deep_query.returncode == 2 and "FIMIGRAPH_MAX_DEPTH" in one_line_error(deep_query.stderr)
    service = run_cli("query", "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }", "--store", store)
    assert service.returncode == 2 and "SERVICE is refused" in one_line_error(service.stderr)
    unknown = run_cli("attribution", "https://example.org/nobody", "--store", store)
    assert unknown.returncode == 4 and "nobody" in one_line_error(unknown.stderr)
    no_store = run_cli("sources", "--store", str(tmp_path / "absent"))
    assert no_store.returncode == 2 and "no store" in one_line_error(no_store.stderr)
    wrong_engine = run_cli("infer", "--store", store, "--engine", "magic")
    assert wrong_engine.returncode == 7 and "engine" in one_line_error(wrong_engine.stderr)
    no_compaction = run_cli("retract", "x", "--store", store, "--compact-after", "-1")
    assert no_compaction.returncode == 7 and "compact_after" in one_line_error(no_compaction.stderr)
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


# -- a newcomer's mistakes: each one clear line, and nothing left behind -----------------------


def test_load_of_several_files_is_all_or_nothing_and_names_the_bad_file(tmp_path: Path) -> None:
    """A good file and a bad one: exit 3 naming the bad one, and neither is loaded (a new store is not even created)."""
    store = tmp_path / "store"
    good, bad = SAMPLES / "minimal-source.ttl", SAMPLES / "invalid-claim.ttl"
    done = run_cli("load", str(good), str(bad), "--store", str(store))
    assert done.returncode == 3 and str(bad) in one_line_error(done.stderr)
    assert not store.exists()
    assert run_cli("load", *map(str, SEED_FILES[:1]), "--store", str(store)).returncode == 0
    done = run_cli("load", str(good), str(SAMPLES / "malformed.ttl"), "--store", str(store))
    assert done.returncode == 2 and "malformed.ttl: " in one_line_error(done.stderr)
    again = run_cli("load", str(good), *map(str, SEED_FILES[:1]), "--store", str(store))
    assert again.returncode == 5 and f"{SEED_FILES[0]}: " in one_line_error(again.stderr)
    titles = [s["title"] for s in json.loads(run_cli("sources", "--store", str(store), "--json").stdout)]
    assert len(titles) == 1 and "Sample report" not in titles


def test_load_refuses_two_files_of_one_source(tmp_path: Path) -> None:
    copy = tmp_path / "copy.ttl"
    copy.write_bytes((SAMPLES / "minimal-source.ttl").read_bytes())
    done = run_cli("load", str(SAMPLES / "minimal-source.ttl"), str(copy), "--store", str(tmp_path / "store"))
    assert done.returncode == 2 and "describe the same source" in one_line_error(done.stderr)
    assert not (tmp_path / "store").exists()


def test_load_undoes_the_files_it_wrote_when_a_later_one_fails(seed_store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reasoning fails on the second file (say, a full disk): the first one is retracted again, the store is as before."""
    from typer.testing import CliRunner

    from fimigraph import cli, ingest

    before = store_dump(GraphStore(seed_store_path, read_only=True))
    second = seed_store_path.parent / "second.ttl"
    second.write_bytes(another_source("second"))
    real = ingest.reason.apply
    calls = []

    def fails_the_second_time(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            full_disk()
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest.reason, "apply", fails_the_second_time)
    done = CliRunner().invoke(cli.app, ["load", str(SAMPLES / "minimal-source.ttl"), str(second), "--store", str(seed_store_path)])
    assert isinstance(done.exception, OSError), done.output
    assert store_dump(GraphStore(seed_store_path, read_only=True)) == before


def another_source(name: str) -> bytes:
    """A valid one-claim source document of its own IRI."""
    return (SAMPLES / "minimal-source.ttl").read_bytes().replace(b"ex:report", f"ex:{name}".encode())


def test_commands_that_fail_create_no_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    for args in (["load", str(tmp_path / "missing.ttl")], ["load", "--bulk", str(SAMPLES / "minimal-source.ttl")],
                 ["infer"], ["retract", "x"]):
        done = run_cli(*args, "--store", str(store))
        assert done.returncode != 0 and one_line_error(done.stderr)
        assert not store.exists(), args


def test_generate_refuses_a_name_bulk_load_would_not_read(tmp_path: Path) -> None:
    """`generate -o worlds/small` says which name to use, writes nothing; that name loads with --bulk."""
    done = run_cli("generate", "--triples", "1k", "-o", str(tmp_path / "small"))
    assert done.returncode == 2 and f"write to {tmp_path / 'small'}.nq" in one_line_error(done.stderr)
    assert list(tmp_path.iterdir()) == []
    assert run_cli("generate", "--triples", "1k", "-o", str(tmp_path / "small.nq")).returncode == 0
    loaded = run_cli("load", "--bulk", str(tmp_path / "small.nq"), "--store", str(tmp_path / "store"))
    assert loaded.returncode == 0, loaded.stderr


def test_query_of_a_missing_file_says_so(tmp_path: Path) -> None:
    done = run_cli("query", str(tmp_path / "missing.rq"), "--store", str(tmp_path / "store"))
    assert done.returncode == 2
    assert one_line_error(done.stderr) == f"fimigraph: error: cannot read {tmp_path / 'missing.rq'}: No such file or directory"


def test_serve_on_a_busy_port_prints_one_line_and_exits_8(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_cli("serve", "--port", str(port), "--store", str(tmp_path / "store"))
    assert done.returncode == 8
    assert f"127.0.0.1:{port}" in one_line_error(done.stderr) and "another program listens there" in done.stderr
    assert not (tmp_path / "store").exists()


def test_help_names_no_python_types_lists_choices_and_has_short_forms() -> None:
    """-h is --help; help shows metavars (PATH, N, FILE) and choices, never Python types; --version prints it."""
    from typer.testing import CliRunner

    from fimigraph import __version__, cli

    runner = CliRunner()
    group = cli.app
    assert runner.invoke(group, ["-h"]).output == runner.invoke(group, ["--help"]).output
    for name in (c.name or c.callback.__name__ for c in group.registered_commands):
        shown = runner.invoke(group, [name, "-h"])
        assert shown.exit_code == 0 and not re.search(r"<(str|int|path|list\[|.* range)", shown.output), shown.output
    assert "--engine [native|pyshacl]" in runner.invoke(group, ["infer", "-h"]).output
    assert "--layout [nquads|documents]" in runner.invoke(group, ["generate", "-h"]).output
    assert "  FILE  " in runner.invoke(group, ["load", "-h"]).output
    assert runner.invoke(group, ["--version"]).output.strip() == __version__
