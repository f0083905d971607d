"""The ``fimigraph`` command line: load, validate, infer, query, attribute, explain, compact, serve.

Every command takes ``--store PATH`` (default: ``$FIMIGRAPH_STORE``, else ``./fimigraph-store``).
On error a command prints one line, ``fimigraph: error: <reason>``, and exits non-zero
(the code depends on the kind of error, see :mod:`fimigraph.errors`).
"""

from __future__ import annotations

import errno
import json
from collections import Counter
import shutil
import socket
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, get_args

import pyoxigraph as ox
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import __version__, reason
from .attribution import attribution as attribution_of
from .callers import ROLES, Tokens
from .compaction import due as compaction_due
from .errors import AddressInUse, AlreadyExists, ConfigError, FimigraphError, InputError, StoreError, ValidationError
from .explain import explain as explain_node, render_text
from .generate import Layout
from .ingest import SourceDocument, check_consistency, media_type_for, read_document, retract as retract_source, write_document
from .limits import Limits
from .settings import Engine, Settings, load_settings
from .sparql import check_query
from .store import GraphStore
from .validate import quiet_literal_warnings
from .vocab import PREFIXES, compact


class _Commands(typer.core.TyperGroup):
    """fimigraph's commands, whose help names each argument without its Python type."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The command, its arguments' help shown as ``FILE  what it is`` (Typer adds ``<list[Path]>`` even to a metavar)."""
        command = super().get_command(ctx, cmd_name)
        for param in getattr(command, "params", ()):
            if isinstance(param, typer.core.TyperArgument):
                param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]
        return command


app = typer.Typer(
    name="fimigraph",
    cls=_Commands,
    help="Knowledge graph and graded attribution reasoning for FIMI analysts.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # help texts say "[env: …]", which rich markup would swallow as a tag
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
# Piped output is read by programs and people with wide pagers: never wrap or squeeze it.
out = Console(width=None if sys.stdout.isatty() else 10_000)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 10_000)


def choices(values: Iterable[str]) -> str:
    """How help lists an option's choices: ``[native|pyshacl]``."""
    return "[" + "|".join(values) + "]"


def _show_version(value: bool) -> None:
    # An eager option's callback: --version answers before any command runs.
    if value:
        out.print(__version__)
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Options of ``fimigraph`` itself, before a command (the group's help is the app's)."""


StoreOpt = Annotated[
    Path | None,
    typer.Option("--store", metavar="PATH", help="Folder of the on-disk store [env: FIMIGRAPH_STORE; default: ./fimigraph-store].", show_default=False),
]
EngineOpt = Annotated[
    str | None,
    typer.Option("--engine", metavar=choices(get_args(Engine)), help="Reasoning engine [env: FIMIGRAPH_ENGINE; default: native].",
                 show_default=False),
]
CompactAfterOpt = Annotated[
    int | None,
    typer.Option("--compact-after", metavar="N", help="Compact the store once this many sources were added, replaced or retracted "
                 "since its last compaction (counted in the store, by every process); 0 never "
                 "[env: FIMIGRAPH_COMPACT_AFTER; default 100].", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for programs instead of text.")]


def _settings(store: Path | None, engine: str | None = None, **more: Any) -> Settings:
    return load_settings(store=store, engine=engine, **more)


def _announce_rebuild(why: str) -> None:
    err.print(f"fimigraph: the inferred graph is {why}: rebuilding it first", highlight=False)


def _spinner() -> Progress:
    """A transient spinner with the elapsed time, on stderr."""
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True)


def _require_store(settings: Settings) -> None:
    if not settings.store.exists():
        raise InputError(f"no store at {settings.store} (load sources first, or pass --store)")


def _open(settings: Settings, *, read_only: bool = False, recover: bool = True) -> GraphStore:
    if read_only:
        _require_store(settings)
    store = GraphStore(settings.store, read_only=read_only)
    if read_only and (why := reason.outdated(store)):
        err.print(f"fimigraph: warning: the inferred graph is {why}; `fimigraph infer` rebuilds it", highlight=False)
    elif recover and (recovered := reason.recover(store, engine=settings.engine, announce=_announce_rebuild)):
        report = recovered[1]
        err.print(f"fimigraph: rebuilt the inferred graph ({report.triples} triples, {report.seconds:.1f} s)", highlight=False)
    return store


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _print_json(data: Any) -> None:
    out.print_json(json.dumps(data, ensure_ascii=False), indent=2)


@app.command()
def load(
    files: Annotated[list[Path], typer.Argument(metavar="FILE", help="Source documents: .ttl .trig .jsonld .nt .nq .rdf, or STIX 2.1 bundles (.json); with --bulk, datasets (.nq .trig, optionally .gz).")],
    store: StoreOpt = None,
    engine: EngineOpt = None,
    compact_after: CompactAfterOpt = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace sources that are loaded already.")] = False,
    bulk: Annotated[bool, typer.Option("--bulk", help="Files are datasets of many sources laid out as the store keeps them (graph/source/<id> + graph/sources), e.g. from `fimigraph generate`: validate all, write all or nothing, rebuild inferences once.")] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, metavar="N", help="With --bulk: processes that validate in parallel.")] = 1,
    as_json: JsonOpt = False,
) -> None:
    """Validate and load source documents (one source each), or with --bulk datasets of many sources; inferences follow.

    All or nothing: every file is validated before the store is touched, and if one cannot be
    written, those written before it are undone.
    """
    settings = _settings(store, engine, compact_after=compact_after)
    if bulk:
        with _removed_on_failure(settings.store):
            _load_bulk(files, settings, replace=replace, jobs=jobs, as_json=as_json)
        return
    documents = [(path, _document(path, settings.limits, owl_check=settings.owl_check)) for path in files]
    first_file: dict[str, Path] = {}
    for path, doc in documents:
        if (other := first_file.setdefault(doc.id, path)) != path:
            raise InputError(f"{path} and {other} describe the same source, {doc.source_iri}: load one of them")
    with _removed_on_failure(settings.store):
        graph_store = _open(settings)
        for path, doc in documents:
            if not replace and graph_store.has_source(doc.source_iri):
                raise AlreadyExists(f"{path}: source {doc.source_iri} is loaded already (id {doc.id}); "
                                    "retract it first, or replace it with --replace")
        results = _write_all(graph_store, documents, settings, replace=replace)
    _compact_if_due(graph_store, settings)  # once, at the end: the loads themselves gain little from it
    if as_json:
        _print_json(results)
        return
    for r in results:
        verb = "replaced" if r["replaced"] else "loaded"
        out.print(f"{verb} {r['file']} → source {r['id']} ({r['claims']} claims, {r['triples']} triples)", highlight=False)
        for warning in r["warnings"]:
            out.print(f"  warning: {warning}", highlight=False)
    out.print(f"inferred graph: {results[-1]['inferred']} triples" if results else "nothing to load", highlight=False)


@contextmanager
def _about(path: Path) -> Iterator[None]:
    """Name ``path`` in any error raised while reading or writing it."""
    try:
        yield
    except FimigraphError as exc:
        if str(path) not in exc.detail:
            exc.detail = f"{path}: {exc.detail}"
        raise


@contextmanager
def _removed_on_failure(store: Path) -> Iterator[None]:
    """If the command fails, a store folder it created goes again: a failed command leaves nothing behind."""
    created = not store.exists()
    try:
        yield
    except BaseException:
        if created:
            shutil.rmtree(store, ignore_errors=True)
        raise


def _document(path: Path, limits: Limits, *, owl_check: bool = False) -> SourceDocument:
    """Read, parse (within ``limits``) and validate one file (``owl_check``: and check it against the ontology's OWL axioms)."""
    with _about(path):
        doc = read_document(_read_file(path), media_type=media_type_for(path.name, None), limits=limits)
        if owl_check:
            check_consistency(doc.metadata + doc.claims)
        return doc


def _write_all(graph_store: GraphStore, documents: list[tuple[Path, SourceDocument]], settings: Settings, *,
               replace: bool) -> list[dict[str, Any]]:
    """Write validated documents in order; if one fails, undo those written before it and re-raise."""
    written: list[tuple[SourceDocument, tuple[Any, Any] | None]] = []  # each with the version it replaced
    results = []
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err,
                      transient=True) as progress:
            task = progress.add_task("loading", total=len(documents))
            for path, doc in documents:
                progress.update(task, description=f"loading {path.name}")
                previous = graph_store.source_graphs(doc.id) if replace and graph_store.has_source(doc.source_iri) else None
                with _about(path):
                    result = write_document(graph_store, doc, replace=replace, engine=settings.engine)
                written.append((doc, previous))
                results.append({"file": str(path), **result.__dict__, "warnings": list(result.warnings)})
                progress.advance(task)
    except BaseException:
        for doc, previous in reversed(written):
            if previous is None:
                retract_source(graph_store, doc.id, engine=settings.engine)
            else:
                write_document(graph_store, SourceDocument(doc.source_iri, *previous), replace=True, engine=settings.engine)
        raise
    return results


def _load_bulk(files: list[Path], settings: Settings, *, replace: bool, jobs: int, as_json: bool) -> None:
    from .bulk import bulk_format, bulk_load

    for path in files:  # a wrong file fails before the store is opened
        bulk_format(path)
        if not path.is_file():
            raise InputError(f"cannot read {path}: no such file")
    graph_store = _open(settings, recover=False)  # a bulk load rebuilds the inferred graph anyway
    with _spinner() as progress:
        task = progress.add_task("loading")
        report = bulk_load(
            graph_store, files, replace=replace, engine=settings.engine, jobs=jobs,
            progress=lambda text: progress.update(task, description=text),
        )
    graph_store.flush()
    if as_json:
        _print_json(report.as_dict())
        return
    if not report.sources:
        out.print("nothing to load", highlight=False)
        return
    replaced = f" ({report.replaced} replaced)" if report.replaced else ""
    out.print(
        f"loaded {report.sources} sources{replaced} from {len(report.files)} file(s): {report.claims} claims, {report.triples} triples",
        highlight=False,
    )
    phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.phases.items())
    out.print(f"inferred graph: {report.inferred} triples ({report.engine}); {report.seconds:.1f} s ({phases})", highlight=False)


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(metavar="FILE", help="Documents to check against the SHACL shapes.")],
    as_json: JsonOpt = False,
) -> None:
    """Check documents against the shapes without loading them (exit 3 if any breaks them)."""
    limits = _settings(None).limits
    report = []
    for path in files:
        with _about(path):  # unreadable or malformed: no report to give, the command stops here
            try:
                doc = read_document(_read_file(path), media_type=media_type_for(path.name, None), limits=limits)
                report.append({"file": str(path), "conforms": True, "source": doc.source_iri, "results": []})
            except ValidationError as exc:
                report.append({"file": str(path), "conforms": False, "detail": exc.detail, "results": exc.extra.get("results", [])})
    if as_json:
        _print_json(report)
    else:
        for r in report:
            if r["conforms"]:
                out.print(f"{r['file']}: conforms (source {r['source']})", highlight=False)
                continue
            out.print(f"{r['file']}: does not conform — {r['detail']}", highlight=False)
            for result in r["results"]:
                where = " ".join(x for x in (result.get("focus_node"), result.get("path")) if x)
                found = f" (found {result['found']})" if result.get("found") else ""
                out.print(f"  - {where + ': ' if where else ''}{result.get('message')}{found}", highlight=False)
    if not all(r["conforms"] for r in report):
        raise typer.Exit(3)


@app.command()
def infer(store: StoreOpt = None, engine: EngineOpt = None, as_json: JsonOpt = False) -> None:
    """Drop the inferred graph and rebuild it from every loaded source."""
    settings = _settings(store, engine)
    _require_store(settings)
    graph_store = _open(settings, recover=False)  # rebuilt below anyway
    with _spinner() as progress:
        task = progress.add_task(f"reasoning ({settings.engine})")
        report = reason.infer(
            graph_store,
            engine=settings.engine,
            on_pass=lambda n, triples: progress.update(task, description=f"reasoning ({settings.engine}): pass {n}, {triples} triples"),
        )
    graph_store.flush()
    if as_json:
        _print_json(report.__dict__)
    else:
        out.print(f"inferred {report.triples} triples with {report.engine} in {report.seconds:.2f} s ({report.passes} passes)", highlight=False)


_QUERY_FORMATS = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
_GRAPH_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "ntriples": ox.RdfFormat.N_TRIPLES, "jsonld": ox.RdfFormat.JSON_LD}
_QUERY_FILES = (".rq", ".sparql")


@app.command()
def query(
    sparql: Annotated[str, typer.Argument(metavar="QUERY", help="A SPARQL query, or the path of a .rq file (e.g. data/queries/01-links-to-state-by-grade.rq).")],
    store: StoreOpt = None,
    output: Annotated[str, typer.Option("--format", "-f", metavar=choices(("table", *_QUERY_FORMATS, *_GRAPH_FORMATS)),
                                        help="table, json, xml, csv, tsv (SELECT/ASK); turtle, ntriples, jsonld (CONSTRUCT/DESCRIBE).")] = "table",
) -> None:
    """Run a SPARQL query over the union of all graphs (fimi:, rdfs:, skos:, … prefixes are predeclared)."""
    path = Path(sparql)
    # A name ending in .rq is a file, present or not: a missing one is not a query text.
    text = _read_file(path).decode() if path.suffix.lower() in _QUERY_FILES or _is_file(path) else sparql
    settings = _settings(store)
    check_query(text, max_depth=settings.max_depth)  # as /sparql does: no crash on a deep query, no SERVICE
    graph_store = _open(settings, read_only=True)
    results = graph_store.query(text, prefixes=PREFIXES)
    if isinstance(results, ox.QueryTriples):
        fmt = _GRAPH_FORMATS.get(output if output != "table" else "turtle")
        if fmt is None:
            raise InputError(f"--format {output} does not fit a graph result; use turtle, ntriples or jsonld")
        sys.stdout.write(ox.serialize(results, format=fmt).decode())
        return
    if isinstance(results, ox.QueryBoolean):
        out.print("true" if bool(results) else "false")
        return
    if output != "table":
        if output not in _QUERY_FORMATS:
            raise InputError(f"--format {output} does not fit a SELECT result; use table, json, xml, csv or tsv")
        sys.stdout.write(results.serialize(format=_QUERY_FORMATS[output]).decode())
        return
    names = [v.value for v in results.variables]
    table = Table(*names, show_lines=False)
    for column in table.columns:
        column.overflow = "fold"
    count = 0
    for row in results:
        table.add_row(*(_cell(row[name]) for name in names))
        count += 1
    out.print(table)
    out.print(f"{count} row(s)", highlight=False)


def _is_file(path: Path) -> bool:
    """Whether ``path`` names a file (a long query is no file name: the system refuses to look it up)."""
    try:
        return path.is_file()
    except OSError:
        return False


def _cell(term: Any) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return compact(term.value)
    return term.value if isinstance(term, ox.Literal) else str(term)


@app.command()
def attribution(
    subject: Annotated[str, typer.Argument(help="IRI of an account, actor or campaign.")],
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    as_stix: Annotated[bool, typer.Option("--stix", help="Print a STIX 2.1 bundle (attributed-to relationships).")] = False,
) -> None:
    """Graded links of a subject to states, negative findings and conflicts."""
    graph_store = _open(_settings(store), read_only=True)
    if as_stix:
        from .stix import export_attribution  # stix2 loads only when asked for

        _print_json(export_attribution(graph_store, subject))
        return
    result = attribution_of(graph_store, subject)
    if as_json:
        _print_json(result)
        return
    out.print(f"[bold]{result['label'] or subject}[/bold]  <{subject}>", highlight=False)
    if not result["links"]:
        out.print("no attribution link (unknown: no source links it to a state)", highlight=False)
    for link in result["links"]:
        via = " → ".join(label or iri for label, iri in zip(link["via_labels"], link["via"]))
        out.print(
            f"• {link['grade']} to {link['state_label'] or link['state']} — {link['directness']}"
            + (f" via {via}" if via else "")
            + f"; confidence {link['confidence']} ({link['confidence_label']}); {link['marking']}"
            + (f"; valid {link['valid_from'] or '…'} to {link['valid_until'] or '…'}" if link["valid_from"] or link["valid_until"] else ""),
            highlight=False,
        )
        named = Counter(s["label"] or s["source"] for s in link["sources"])
        sources = ", ".join(name + (f" (×{n})" if n > 1 else "") for name, n in named.items())
        count = link["derivations"] or 1
        out.print(f"    {count} derivation{'s' if count > 1 else ''}; sources: {sources or '—'}; rule: {link['rule_label']}; "
                  f"explain: fimigraph explain {link['link']}", highlight=False)
    for finding in result["not_directly_linked"]:
        out.print(
            f"• not directly linked to {finding['state_label'] or finding['state']} "
            f"(per {finding['source_label'] or finding['source']}): “{finding['quote']}”",
            highlight=False,
        )
    for conflict in result["conflicts"]:
        sides = "; ".join(
            f"{side['type']} per " + ", ".join(s["source_label"] or s["source"] for s in side["sources"]) for side in conflict["sides"]
        )
        out.print(f"• conflict ({conflict['kind']}): {sides}", highlight=False)


@app.command()
def explain(
    node: Annotated[str, typer.Argument(help="IRI of an attribution link, negative finding, conflict or claim.")],
    store: StoreOpt = None,
    all_derivations: Annotated[bool, typer.Option("--all", help="List every other derivation, not only the five most confident.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The proof of a conclusion: a summary, its best derivation's tree down to sources and quotes, its other derivations."""
    tree = explain_node(_open(_settings(store), read_only=True), node, all_derivations=all_derivations)
    if as_json:
        _print_json(tree)
    else:
        sys.stdout.write(render_text(tree))


@app.command()
def sources(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """List loaded sources."""
    infos = _open(_settings(store), read_only=True).sources()
    if as_json:
        _print_json([{**i.__dict__, "types": list(i.types)} for i in infos])
        return
    table = Table("id", "title", "publisher", "issued", "claims")
    for i in infos:
        table.add_row(i.id, i.title or "", i.publisher or "", i.issued or "", str(i.claims))
    out.print(table)


def _compact(graph_store: GraphStore) -> tuple[int, float]:
    """Compact the store; the changes it compacted, and its seconds."""
    started = time.perf_counter()
    changes = graph_store.optimize()
    return changes, time.perf_counter() - started


def _compact_if_due(graph_store: GraphStore, settings: Settings) -> None:
    """After a command's changes: flush, and compact if the store's changes (by any process) reached the setting."""
    graph_store.flush()
    if not compaction_due(graph_store, after=settings.compact_after):
        return
    try:
        with _spinner() as progress:
            progress.add_task("compacting the store")
            changes, seconds = _compact(graph_store)
    except StoreError as exc:
        # The changes are made: a failed compaction is housekeeping, not the command's failure.
        err.print(f"fimigraph: warning: {exc}; the changes are made; the next change tries again", highlight=False)
        return
    err.print(f"compacted the store after {changes} changes in {seconds:.1f} s", highlight=False)


def _size_on_disk(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


@app.command("compact")
def compact_store(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Compact the on-disk store: retracted and replaced sources leave deletion markers that slow every lookup until then."""
    settings = _settings(store)
    _require_store(settings)  # not _open: compacting needs no inference check, nor a new empty store
    before = _size_on_disk(settings.store)
    graph_store = GraphStore(settings.store)
    with _spinner() as progress:
        progress.add_task("compacting")
        changes, seconds = _compact(graph_store)
    graph_store.flush()
    after = _size_on_disk(settings.store)
    if as_json:
        _print_json({"store": str(settings.store), "bytes_before": before, "bytes_after": after, "changes": changes,
                     "seconds": round(seconds, 3)})
    else:
        out.print(f"compacted {settings.store}: {before / 1e6:.1f} → {after / 1e6:.1f} MB after {changes} changes in {seconds:.1f} s",
                  highlight=False)


@app.command()
def retract(
    source_id: Annotated[str, typer.Argument(metavar="ID", help="Id (or IRI) of a loaded source.")],
    store: StoreOpt = None,
    engine: EngineOpt = None,
    compact_after: CompactAfterOpt = None,
) -> None:
    """Remove a source; inferences that rested on it go too."""
    settings = _settings(store, engine, compact_after=compact_after)
    _require_store(settings)
    graph_store = _open(settings)
    info, _ = retract_source(graph_store, source_id, engine=settings.engine)
    _compact_if_due(graph_store, settings)
    out.print(f"retracted {info.id} ({info.iri})", highlight=False)


_GENERATED = (".nq", ".nq.gz")  # what `generate` writes and `load --bulk` reads


@app.command()
def generate(
    output: Annotated[Path, typer.Option("--output", "-o", metavar="PATH", help="File to write (.nq, or .nq.gz; - for standard output); with --layout documents, a folder.")],
    triples: Annotated[str, typer.Option("--triples", metavar="N", help="About how many triples: 10000, 100k, 1M, 10M (±5 %).")] = "10k",
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Same seed, same bytes.")] = 0,
    layout: Annotated[str, typer.Option("--layout", metavar=choices(get_args(Layout)), help="nquads: one file to bulk-load (the store's graph layout); documents: one Turtle source document per file, for `fimigraph load`.")] = "nquads",
    as_json: JsonOpt = False,
) -> None:
    """Write a synthetic, realistic FIMI graph (fictional states and actors), streamed."""
    from .generate import generate as generate_graph, parse_count

    if layout not in get_args(Layout):
        raise InputError(f"--layout must be one of {', '.join(get_args(Layout))}, not {layout!r}")
    if layout == "nquads" and str(output) != "-" and not output.name.lower().endswith(_GENERATED):
        raise InputError(f"--output {output}: `load --bulk` reads N-Quads files named .nq or .nq.gz; "
                         f"write to {output}.nq (or {output}.nq.gz, compressed)")
    try:
        count = parse_count(triples)
    except ValueError as exc:
        raise InputError(f"--triples: {exc}") from exc
    stats = generate_graph(output, triples=count, seed=seed, layout=layout)  # type: ignore[arg-type]
    if as_json:
        _print_json(stats.as_dict())
    else:
        out.print(f"wrote {stats.triples} triples in {stats.sources} sources to {output} ({stats.seconds:.1f} s)", highlight=False)


@app.command()
def serve(
    store: StoreOpt = None,
    engine: EngineOpt = None,
    compact_after: CompactAfterOpt = None,
    host: Annotated[str | None, typer.Option(metavar="ADDRESS", help="Address to listen on [env: FIMIGRAPH_HOST; default 127.0.0.1].", show_default=False)] = None,
    port: Annotated[int | None, typer.Option(metavar="N", help="Port to listen on [env: FIMIGRAPH_PORT; default 8000].", show_default=False)] = None,
    query_timeout: Annotated[float | None, typer.Option(metavar="SECONDS", help="Seconds a /sparql query may take before it is stopped "
                                                        "[env: FIMIGRAPH_QUERY_TIMEOUT; default 30].", show_default=False)] = None,
    query_workers: Annotated[int | None, typer.Option(metavar="N", help="Processes answering /sparql queries, how many run at once "
                                                      "[env: FIMIGRAPH_QUERY_WORKERS; default: min(4, cores)].", show_default=False)] = None,
) -> None:
    """Run the HTTP API (OpenAPI docs at /docs); more limits in FIMIGRAPH_* settings (README)."""
    import uvicorn

    from .api.app import create_app

    settings = _settings(store, engine, compact_after=compact_after, host=host, port=port,
                         query_timeout=query_timeout, query_workers=query_workers)
    # Take the address before opening the store: a busy port fails before any store is created,
    # and nobody can take the port between this check and the server's start.
    listener = _listen(settings.host, settings.port)
    graph_store = _open(settings)  # open now, so a locked or bad store fails before serving
    err.print(f"fimigraph {__version__}: serving {settings.store} on http://{settings.host}:{settings.port} "
              "(the workbench at /, API docs at /docs)", highlight=False)
    config = uvicorn.Config(create_app(settings, store=graph_store), host=settings.host, port=settings.port, log_level="info",
                            timeout_graceful_shutdown=settings.shutdown_timeout)
    uvicorn.Server(config).run(sockets=[listener])


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` for the server; AddressInUse if another program holds it."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: a restart need not wait out TIME_WAIT
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        if exc.errno == errno.EADDRINUSE:
            raise AddressInUse(f"cannot serve on {host}:{port}: another program listens there; "
                               "choose another port (--port, FIMIGRAPH_PORT)") from exc
        raise ConfigError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from exc
    return listener


@app.command("disarm-incidents")
def disarm_incidents(
    incidents: Annotated[Path | None, typer.Argument(metavar="CSV", help="DISARM's incidents.csv [default: the copy in data/disarm/].", show_default=False)] = None,
    techniques: Annotated[Path | None, typer.Option("--techniques", metavar="CSV", help="DISARM's incidenttechniques.csv [default: the copy beside the incidents' default].", show_default=False)] = None,
    store: StoreOpt = None,
    engine: EngineOpt = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace the incidents if they are loaded already.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Load DISARM's incidents as one source: each a campaign, with the countries it is attributed to and the techniques it used."""
    from .disarm import default_paths, load_incidents

    shipped = default_paths()
    settings = _settings(store, engine)
    graph_store = _open(settings)
    result = load_incidents(graph_store, incidents or shipped[0], techniques or (shipped[1] if incidents is None else None),
                            replace=replace, engine=settings.engine)
    graph_store.flush()
    if as_json:
        _print_json({**result.__dict__, "warnings": list(result.warnings)})
        return
    verb = "replaced" if result.replaced else "loaded"
    out.print(f"{verb} DISARM incidents → source {result.id} ({result.claims} claims, {result.triples} triples)", highlight=False)
    for warning in result.warnings:
        out.print(f"  warning: {warning}", highlight=False)


@app.command()
def check(
    file: Annotated[Path | None, typer.Argument(metavar="FILE", help="A source document to check (not loaded); none: the ontology alone.", show_default=False)] = None,
    source: Annotated[str | None, typer.Option("--source", metavar="ID", help="Id (or IRI) of a loaded source to check instead.", show_default=False)] = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check the ontology plus one source with the OWL reasoner HermiT (exit 3 if they contradict each other)."""
    from .consistency import check as check_graph, check_source, classify
    from .ingest import parse_document

    if file is not None and source is not None:
        raise InputError("give a FILE or --source, not both")
    with _spinner() as progress:
        progress.add_task("reasoning (HermiT)")
        if source is not None:
            report = check_source(_open(_settings(store), read_only=True), source)
            what = f"source {source}"
        elif file is not None:
            report = check_graph(parse_document(_read_file(file), media_type=media_type_for(file.name, None))[0])
            what = str(file)
        else:
            started = time.perf_counter()
            classes = classify()
            unsatisfiable = sorted(compact(c) for c in classes.unsatisfiable if not c.endswith("#Nothing"))
            result = {"consistent": not unsatisfiable, "unsatisfiable": unsatisfiable, "seconds": time.perf_counter() - started}
    if file is None and source is None:
        if as_json:
            _print_json(result)
        else:
            words = "no unsatisfiable class" if not unsatisfiable else "unsatisfiable: " + ", ".join(unsatisfiable)
            out.print(f"ontology: {words} (HermiT, {result['seconds']:.1f} s)", highlight=False)
        if unsatisfiable:
            raise typer.Exit(3)
        return
    if as_json:
        _print_json(report.as_dict())
    elif report.consistent:
        out.print(f"{what}: consistent with the ontology (HermiT, {report.individuals} individuals, {report.seconds:.1f} s)", highlight=False)
    else:
        out.print(f"{what}: contradicts the ontology — {report.other or f'{len(report.violations)} violation(s)'}", highlight=False)
        for v in report.violations:
            out.print(f"  - <{v.individual}>{f' ({v.label})' if v.label else ''} breaks {v.axiom}", highlight=False)
            for reason_line in v.because:
                out.print(f"      because {reason_line}", highlight=False)
    if not report.consistent:
        raise typer.Exit(3)


tokens_app = typer.Typer(
    cls=_Commands, no_args_is_help=True, rich_markup_mode=None,
    help="API tokens: each with a role (reader, editor, admin) and a TLP clearance; kept hashed in the store's folder.")
app.add_typer(tokens_app, name="tokens")


@tokens_app.command("add")
def tokens_add(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Who or what uses the token (shown in lists and logs).", show_default=False)],
    role: Annotated[str, typer.Option("--role", metavar=choices(ROLES), help="What the token may do: read; also write sources; also administer.")] = "reader",
    clearance: Annotated[str, typer.Option("--clearance", metavar="TLP", help="The most restrictive TLP marking the token may read: "
                                            "clear, green, amber, amber+strict or red.")] = "clear",
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Make a token and print it, this once: only its hash is kept."""
    token, secret = Tokens(_settings(store).store).add(name, role=role, clearance=clearance)
    if as_json:
        _print_json({**token.public(), "token": secret})
    else:
        out.print(f"{secret}\n", highlight=False)
        err.print(f"token {token.id} for {token.name}: {token.role}, cleared for {token.clearance}. "
                  "It is shown this once; keep it secret (HTTP: Authorization: Bearer <token>).", highlight=False)


@tokens_app.command("list")
def tokens_list(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """List the tokens (never the tokens themselves): id, name, role, clearance, when made and revoked."""
    tokens = Tokens(_settings(store).store).list()
    if as_json:
        _print_json([t.public() for t in tokens])
        return
    table = Table("id", "name", "role", "clearance", "created", "revoked", box=None)
    for t in tokens:
        table.add_row(t.id, t.name, t.role, t.clearance, t.created, t.revoked or "")
    out.print(table if tokens else "no tokens: reads are open to anonymous TLP:CLEAR readers unless closed; "
                                   "`fimigraph tokens add NAME --role editor` makes one", highlight=False)


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id (see `fimigraph tokens list`).", show_default=False)],
    store: StoreOpt = None,
) -> None:
    """Revoke a token: a running server refuses it from its next request."""
    token = Tokens(_settings(store).store).revoke(token_id)
    out.print(f"revoked token {token.id} ({token.name}) at {token.revoked}", highlight=False)


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


def main() -> None:
    """Entry point of the ``fimigraph`` script: one-line errors, meaningful exit codes."""
    quiet_literal_warnings()
    try:
        app()
    except FimigraphError as exc:
        err.print(f"fimigraph: error: {exc.detail}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
