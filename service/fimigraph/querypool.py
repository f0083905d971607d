"""Callers' SPARQL runs in worker processes, so that a query can be stopped: past its time, when its client goes, or over its memory.

pyoxigraph's ``Store.query`` has no timeout and no cancel, and an aggregate or ORDER BY evaluates
in full before its first row, so nothing inside the server can stop a query; a process can be
ended. The server keeps ``query_workers`` processes, each holding the store open read-only
(``Store.read_only`` opens while the server holds the store, in 9 ms at 100k triples, and sees what
was written before it opened). The server counts the changes it acknowledges
(:meth:`QueryPool.store_changed`); a worker opens the store again before a query when a change
came since it last did, so every query sees every change acknowledged before it arrived.

A worker checks the query first (:func:`fimigraph.sparql.check_query`: nesting, SERVICE), then
evaluates it into a line-based form (TSV for solutions, N-Triples for graphs: one line a row)
while counting rows and bytes, and stops at the first over ``max_result_rows`` or
``max_result_bytes``; results stream out of pyoxigraph, so only what fits the limits is ever held.
Only then is the status known; the answer, in the media type negotiated, then streams to the
client. Its memory is capped (``RLIMIT_DATA``): a query over it fails an allocation and ends the
process. It also arms an alarm of its own, so a query whose server is gone ends too.

Protocol, on the worker's stdin and stdout: frames of a tag byte, a 4-byte length and a payload.
The server sends a job (JSON); the worker answers ``R`` (ready, once), then per job ``H`` (the
answer's media type), ``D`` (a chunk of it)…, ``E`` (end), or ``X`` (a pickled FimigraphError).

Run as ``python -m fimigraph.querypool STORE MEMORY_MB``; light imports (no rdflib), so a worker
starts in about 50 ms and idles at about 30 MB.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pickle
import resource
import signal
import struct
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, BinaryIO

import pyoxigraph as ox

from .errors import FimigraphError, NotAcceptable, QueryError, QueryLimitExceeded, StoreError, TooManyQueries
from .sparql import check_query, dataset

log = logging.getLogger("fimigraph.querypool")

RESULT_FORMATS = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
"""Media types of SELECT and ASK answers, the default first."""
GRAPH_FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/ld+json": ox.RdfFormat.JSON_LD,
}
"""Media types of CONSTRUCT and DESCRIBE answers, the default first."""

_HEADER = struct.Struct(">cI")
_CHUNK = 64 * 1024
_ATTEMPTS = 10
"""Times a worker opens the store and runs a query before it gives up (see :func:`worker`)."""
_MIN_TIME = 0.1
"""Seconds a query must have left when it gets a worker; less, and it is turned away as if none were free."""
_ALARM_GRACE = 5.0
"""Seconds a worker gives its server past the query's deadline before its own alarm ends it."""


# ==========================================================================================
# The worker process


def _send(out: BinaryIO, tag: bytes, payload: bytes = b"") -> None:
    out.write(_HEADER.pack(tag, len(payload)) + payload)
    out.flush()


def _receive(stream: BinaryIO) -> bytes | None:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None  # the server closed the pipe: it is gone
    _, size = _HEADER.unpack(header)
    return stream.read(size)


class _Bounded:
    """A write-only buffer that refuses to grow past the answer's limits (rows: lines past ``header_lines``)."""

    def __init__(self, job: dict[str, Any], *, header_lines: int | None) -> None:
        self.data = bytearray()
        self.lines = 0
        self.job = job
        self.header_lines = header_lines

    def write(self, chunk: bytes) -> int:
        self.data += chunk
        if len(self.data) > self.job["max_bytes"]:
            raise QueryLimitExceeded(f"the answer is over the limit of {self.job['max_bytes']} bytes "
                                     "(FIMIGRAPH_MAX_RESULT_BYTES)", limit="max_result_bytes", value=self.job["max_bytes"])
        if self.header_lines is not None:
            self.lines += chunk.count(b"\n")
            if self.lines - self.header_lines > self.job["max_rows"]:
                raise QueryLimitExceeded(f"the answer has more than {self.job['max_rows']} rows (FIMIGRAPH_MAX_RESULT_ROWS)",
                                         limit="max_result_rows", value=self.job["max_rows"])
        return len(chunk)

    def flush(self) -> None:
        """Nothing to flush: pyoxigraph may ask."""


def _over_memory(memory_mb: int) -> QueryLimitExceeded:
    return QueryLimitExceeded(f"the query needed more than {memory_mb} MiB of memory (FIMIGRAPH_QUERY_MEMORY_MB) and was stopped",
                              limit="query_memory_mb", value=memory_mb)


def _media(job: dict[str, Any], kind: str, offered: dict[str, Any]) -> str:
    media = job[kind]
    if media is None:
        raise NotAcceptable(f"cannot answer in {job['accept']!r}; available: {', '.join(offered)}")
    return media


def _evaluate(store: ox.Store, job: dict[str, Any]) -> tuple[str, bytes | bytearray]:
    """Run a job's query within its limits; its answer's media type and bytes."""
    query = job["query"]
    check_query(query, max_depth=job["max_depth"])
    try:
        results = store.query(query, base_iri=job["base_iri"], **dataset(query, job["default_graph"], job["named_graphs"]))
        if isinstance(results, ox.QueryBoolean):
            media = _media(job, "solutions", RESULT_FORMATS)
            return media, results.serialize(format=RESULT_FORMATS[media])
        answer = _Bounded(job, header_lines=None)
        if isinstance(results, ox.QuerySolutions):
            media = _media(job, "solutions", RESULT_FORMATS)
            lines = _Bounded(job, header_lines=1)  # TSV: a line of variables, then a line a row
            results.serialize(lines, format=ox.QueryResultsFormat.TSV)
            if media == "text/tab-separated-values":
                return media, lines.data
            ox.parse_query_results(bytes(lines.data), format=ox.QueryResultsFormat.TSV).serialize(answer, format=RESULT_FORMATS[media])
        else:
            media = _media(job, "graph", GRAPH_FORMATS)
            lines = _Bounded(job, header_lines=0)  # N-Triples: a line a triple
            ox.serialize(results, lines, format=ox.RdfFormat.N_TRIPLES)
            if media == "application/n-triples":
                return media, lines.data
            ox.serialize(ox.parse(bytes(lines.data), format=ox.RdfFormat.N_TRIPLES), answer, format=GRAPH_FORMATS[media])
        return media, answer.data
    except SyntaxError as exc:
        raise QueryError(f"malformed SPARQL: {exc}") from exc
    except (ValueError, TypeError) as exc:
        raise QueryError(f"cannot run this query: {exc}") from exc


def worker(path: str, memory_mb: int) -> None:
    """A worker's life: open the store read-only, answer jobs from stdin on stdout until the server closes the pipe."""
    hard = resource.getrlimit(resource.RLIMIT_DATA)[1]
    memory = memory_mb * 1024 * 1024 if hard == resource.RLIM_INFINITY else min(memory_mb * 1024 * 1024, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (memory, hard))
    out, jobs = sys.stdout.buffer, sys.stdin.buffer
    sys.stdout = sys.stderr  # the pipe carries frames only
    stores: dict[str, tuple[ox.Store, int]] = {}  # by folder (the store, or one of its need-to-know views)
    _send(out, b"R")
    while (frame := _receive(jobs)) is not None:
        job = json.loads(frame)
        # SIGALRM's default action ends the process: a hard stop that needs no server.
        signal.setitimer(signal.ITIMER_REAL, job["timeout"] + _ALARM_GRACE)
        try:
            for attempt in range(1, _ATTEMPTS + 1):
                where = job.get("path") or path
                try:
                    if where not in stores or stores[where][1] != job["generation"]:
                        stores.pop(where, None)  # the older snapshot goes first
                        stores[where] = (ox.Store.read_only(where), job["generation"])
                    media, body = _evaluate(stores[where][0], job)
                    break
                except (OSError, RuntimeError) as exc:
                    # Opened beside a server that compacts, a snapshot may name files just removed
                    # ("Corruption: … No such file"; 1 or 2 retries in 5 of 12 opens measured): open again.
                    stores.pop(where, None)
                    if attempt == _ATTEMPTS:
                        raise StoreError(f"the store could not be read: {exc}") from exc
            _send(out, b"H", media.encode())
            view = memoryview(body)
            for start in range(0, len(view), _CHUNK):
                _send(out, b"D", view[start:start + _CHUNK].tobytes())
            _send(out, b"E")
        except FimigraphError as exc:
            _send(out, b"X", pickle.dumps(exc))
        except MemoryError:  # Python's side of the answer hit the limit (pyoxigraph's side aborts: see _why_it_ended)
            _send(out, b"X", pickle.dumps(_over_memory(memory_mb)))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)


# ==========================================================================================
# The server's side


class ClientGone(Exception):
    """The client closed its connection before the answer was ready (its query was stopped)."""


class _Worker:
    """One worker process and its pipes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    def send(self, job: dict[str, Any]) -> None:
        payload = json.dumps(job).encode()
        assert self.process.stdin is not None
        self.process.stdin.write(_HEADER.pack(b"J", len(payload)) + payload)

    async def frame(self) -> tuple[bytes, bytes]:
        assert self.process.stdout is not None
        tag, size = _HEADER.unpack(await self.process.stdout.readexactly(_HEADER.size))
        return tag, await self.process.stdout.readexactly(size)


class Answer:
    """A query's answer as its worker streams it; :meth:`close` returns the worker to the pool (or stops it) whatever happened."""

    def __init__(self, pool: QueryPool, worker: _Worker, media: str, deadline: float) -> None:
        self.pool, self.worker, self.media, self.deadline = pool, worker, media, deadline
        self._complete = self._closed = False

    async def chunks(self) -> AsyncIterator[bytes]:
        """The answer's bytes, chunk by chunk; stops (raising TimeoutError) at the query's deadline."""
        async with asyncio.timeout_at(self.deadline):
            while True:
                tag, payload = await self.worker.frame()
                if tag == b"E":
                    self._complete = True
                    return
                yield payload

    def close(self) -> None:
        """Give the worker back if the answer went out whole, else stop it (it may be mid-answer)."""
        if not self._closed:
            self._closed = True
            (self.pool._release if self._complete else self.pool._discard)(self.worker)


class QueryPool:
    """The worker processes answering the callers' SPARQL of one store, started on the first query."""

    def __init__(self, store: Path | None, *, workers: int, queue: int, timeout: float, memory_mb: int, max_depth: int,
                 max_rows: int, max_bytes: int) -> None:
        self.store, self.size, self.queue, self.timeout = store, workers, queue, timeout
        self.limits = {"max_depth": max_depth, "max_rows": max_rows, "max_bytes": max_bytes}
        self.memory_mb = memory_mb
        self.generation = 0
        self._generation_lock = threading.Lock()  # changes are noted from request threads too
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._all: set[_Worker] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._waiting = 0
        self._started = self._closed = False

    def store_changed(self) -> None:
        """Note a change to the store (acknowledged or undone): each worker opens it again before its next query."""
        with self._generation_lock:
            self.generation += 1

    async def run(self, job: dict[str, Any], *, gone: Callable[[], Awaitable[None]]) -> Answer:
        """Run one query: its Answer once it is evaluated within its limits, or the FimigraphError that stopped it.

        ``gone`` returns when the client disconnects: the query is then stopped (ClientGone).
        """
        if self.store is None:
            raise StoreError("the SPARQL endpoint needs a store on disk: its queries run in processes of their own")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        worker = await self._acquire(deadline)
        if deadline - loop.time() < _MIN_TIME:  # waited all its time for a worker
            self._release(worker)
            raise self._busy(f"no query worker was free within {self.timeout:g} s (FIMIGRAPH_QUERY_TIMEOUT)")
        try:
            worker.send({**job, **self.limits, "generation": self.generation, "timeout": deadline - loop.time()})
            tag, payload = await self._first_frame(worker, deadline, gone)
        except BaseException:
            self._discard(worker)
            raise
        if tag == b"H":
            return Answer(self, worker, payload.decode(), deadline)
        self._release(worker)
        raise pickle.loads(payload)  # noqa: S301 -- our own worker's FimigraphError

    async def close(self) -> None:
        """Stop every worker (on shutdown)."""
        self._closed = True
        workers = list(self._all)
        for worker in workers:
            self._stop(worker)
        for task in list(self._tasks):  # workers starting, and reapers
            task.cancel()
        await asyncio.gather(*(worker.process.wait() for worker in workers), return_exceptions=True)

    # -- workers --------------------------------------------------------------------------

    async def _acquire(self, deadline: float) -> _Worker:
        if not self._started:
            self._started = True
            for _ in range(self.size):
                self._spawn()
        if self._idle.empty() and self._waiting >= self.queue:
            raise self._busy(f"{self.size} queries are running and {self._waiting} waiting: the most this server takes "
                             "(FIMIGRAPH_QUERY_WORKERS, FIMIGRAPH_QUERY_QUEUE)")
        self._waiting += 1
        try:
            async with asyncio.timeout_at(deadline):
                while True:
                    worker = await self._idle.get()
                    if worker.process.returncode is None:
                        return worker
                    self._discard(worker)  # ended while idle
        except TimeoutError:
            raise self._busy(f"no query worker was free within {self.timeout:g} s (FIMIGRAPH_QUERY_TIMEOUT)") from None
        finally:
            self._waiting -= 1

    @staticmethod
    def _busy(why: str) -> TooManyQueries:
        return TooManyQueries(f"{why}; try again shortly")

    async def _first_frame(self, worker: _Worker, deadline: float, gone: Callable[[], Awaitable[None]]) -> tuple[bytes, bytes]:
        """The worker's first frame, unless the deadline passes or the client goes first."""
        frame = asyncio.ensure_future(worker.frame())
        watch = asyncio.ensure_future(gone())
        try:
            done, _ = await asyncio.wait({frame, watch}, timeout=max(0.0, deadline - asyncio.get_running_loop().time()),
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            watch.cancel()
            if not frame.done():
                frame.cancel()
        if frame in done:
            try:
                return frame.result()
            except asyncio.IncompleteReadError:
                raise await self._why_it_ended(worker) from None
        if watch in done:
            raise ClientGone()
        raise QueryLimitExceeded(f"the query ran past the limit of {self.timeout:g} s (FIMIGRAPH_QUERY_TIMEOUT) and was stopped",
                                 limit="query_timeout", value=self.timeout)

    async def _why_it_ended(self, worker: _Worker) -> Exception:
        code = await worker.process.wait()
        if code == -signal.SIGABRT:  # a failed allocation aborts: the memory limit
            return _over_memory(self.memory_mb)
        return RuntimeError(f"a query worker ended with exit code {code}")  # logged; the client gets a bare 500

    def _spawn(self) -> None:
        if self._closed:
            return
        task = asyncio.ensure_future(self._start_worker())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start_worker(self) -> None:
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "fimigraph.querypool", str(self.store), str(self.memory_mb),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                env={**os.environ, "RUST_BACKTRACE": "0"},  # a query over its memory prints one line, not a backtrace
            )
            worker = _Worker(process)
            self._all.add(worker)
            await worker.frame()  # ready
        except (OSError, asyncio.IncompleteReadError):
            log.exception("a query worker could not start")
            return
        self._idle.put_nowait(worker)

    def _release(self, worker: _Worker) -> None:
        self._idle.put_nowait(worker)

    def _discard(self, worker: _Worker) -> None:
        """Stop a worker whose query may still run, and start another in its place."""
        self._stop(worker)
        self._spawn()

    def _stop(self, worker: _Worker) -> None:
        if worker.process.returncode is None:
            worker.process.kill()
        self._all.discard(worker)
        # Reaped in the background: no zombie, and nobody waits for it.
        task = asyncio.ensure_future(worker.process.wait())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


if __name__ == "__main__":
    worker(sys.argv[1], int(sys.argv[2]))
