"""Hostile callers against a really started server (``fimigraph serve`` on a private copy of the seed store).

Each request here once crashed, hung or borrowed the server: a query or document nested
thousands deep (SIGSEGV), an XML "billion laughs" (memory until the kernel killed it), a cross
product built in memory, queries that never stopped, SERVICE to any address. Each now gets a
4xx naming its limit, and the server lives on; what a test measures is what a user sees.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from time import monotonic

import httpx
import pytest
from support import Server, served

PROBLEM = "application/problem+json"
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
"""Billions of rows on the seed store: runs until it is stopped."""


def sparql(server: Server, query: str, accept: str = "*/*") -> httpx.Response:
    return httpx.post(f"{server.url}/sparql", content=query.encode(), timeout=60,
                      headers={"Content-Type": "application/sparql-query", "Accept": accept})


def post_source(server: Server, body: bytes | str, media: str) -> httpx.Response:
    return httpx.post(f"{server.url}/sources", content=body, headers={"Content-Type": media, **server.editor}, timeout=60)


def assert_refused(response: httpx.Response, status: int, limit: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    if limit is not None:
        assert response.json()["limit"] == limit


def assert_alive(server: Server) -> None:
    assert server.process.poll() is None, "".join(server.log)
    assert httpx.get(f"{server.url}/health", timeout=30).json()["status"] == "ok"


def memory_kb(pid: int, field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of a process, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def until(condition: object, deadline: float = 30.0) -> None:
    """Poll ``condition()`` until it is true; fail after ``deadline`` seconds (no sleeping in between)."""
    end = monotonic() + deadline
    while not condition():  # type: ignore[operator]
        assert monotonic() < end, "condition not reached before the deadline"


@contextmanager
def listener() -> Iterator[tuple[str, list[tuple[str, int]]]]:
    """A loopback TCP port that records every connection made to it: the URL, and the list of peers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    peers: list[tuple[str, int]] = []

    def accept() -> None:
        while True:
            try:
                conn, peer = sock.accept()
            except OSError:
                return  # closed
            peers.append(peer)
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/", peers
    finally:
        sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        sock.close()
        thread.join()


@pytest.fixture
def server(seed_store_path: Path) -> Iterator[Server]:
    with served(seed_store_path) as running:
        yield running


def test_what_crashed_the_server_is_refused_and_it_lives_on(server: Server) -> None:
    idle = memory_kb(server.process.pid, "VmRSS")
    deep_query = "SELECT * WHERE " + "{" * 2500 + "?s ?p ?o" + "}" * 2500
    assert_refused(sparql(server, deep_query), 400, "max_depth")
    assert_refused(httpx.get(f"{server.url}/sparql", params={"query": deep_query}, timeout=60), 400, "max_depth")
    deep_parentheses = "SELECT * WHERE { FILTER(?a<" + "(" * 10_000 + "1" + ")" * 10_000 + ">?b) }"
    assert_refused(sparql(server, deep_parentheses), 400, "max_depth")
    deep_jsonld = '{"@id":"urn:a","urn:p":' * 5000 + '"x"' + "}" * 5000
    assert_refused(post_source(server, deep_jsonld, "application/ld+json"), 400, "max_depth")
    deep_stix = '{"type":"bundle","id":"bundle--1","objects":' + "[" * 5000 + "]" * 5000 + "}"
    assert_refused(post_source(server, deep_stix, "application/stix+json"), 400, "max_depth")
    entities = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 11))
    laughs = (f'<?xml version="1.0"?><!DOCTYPE rdf:RDF [{entities}]><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
              ' xmlns:e="urn:e#"><rdf:Description rdf:about="urn:a"><e:p>&a10;</e:p></rdf:Description></rdf:RDF>')
    assert_refused(post_source(server, laughs, "application/rdf+xml"), 400, "xml_dtd")
    deep_xml = ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="urn:e#">'
                + '<rdf:Description rdf:about="urn:a"><e:p>' * 50_000 + "x" + "</e:p></rdf:Description>" * 50_000 + "</rdf:RDF>")
    assert_refused(post_source(server, deep_xml, "application/rdf+xml"), 400, "max_depth")
    assert_alive(server)
    assert memory_kb(server.process.pid, "VmHWM") - idle < 1024 * 1024  # the peak stayed within 1 GB of idle


def test_a_cross_product_stops_at_the_row_limit(server: Server) -> None:
    refused = sparql(server, "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }")
    assert_refused(refused, 422, "max_result_rows")
    assert "20000 rows" in refused.json()["detail"]
    graph = sparql(server, "CONSTRUCT { ?a ?b ?f } WHERE { ?a ?b ?c . ?d ?e ?f }", accept="text/turtle")
    assert_refused(graph, 422, "max_result_rows")
    assert sparql(server, "SELECT * WHERE { ?s ?p ?o } LIMIT 3", accept="text/csv").text.count("\n") == 4
    assert_alive(server)


def test_nothing_makes_the_server_reach_out(server: Server) -> None:
    with listener() as (url, peers):
        for query in (f"SELECT ?x WHERE {{ SERVICE <{url}> {{ ?a ?b ?x }} }}",
                      f"SELECT ?x WHERE {{ SERVICE SILENT <{url}> {{ ?a ?b ?x }} }}",
                      f"SELECT ?x WHERE {{ ?a ?b ?c .SERVICE<{url}>{{ ?a ?b ?x }} }}",
                      f"SELECT ?x WHERE {{ BIND(<{url}> AS ?u) service ?u {{ ?a ?b ?x }} }}"):
            assert_refused(sparql(server, query), 400)
            assert "SERVICE is refused" in sparql(server, query).json()["detail"]
        assert_refused(sparql(server, f"SELECT ?x WHERE {{ \\u0053ERVICE <{url}> {{ ?a ?b ?x }} }}"), 400)
        assert_refused(sparql(server, f"LOAD <{url}>"), 400)
        assert_refused(httpx.post(f"{server.url}/sparql", data={"update": f"LOAD <{url}>"}, timeout=60), 400)
        remote_context = f'{{"@context": "{url}context.jsonld", "@id": "urn:a", "p": "x"}}'
        assert_refused(post_source(server, remote_context, "application/ld+json"), 400)
        external = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "{url}x">]>'
                    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="urn:e#">'
                    '<rdf:Description rdf:about="urn:a"><e:p>&x;</e:p></rdf:Description></rdf:RDF>')
        assert_refused(post_source(server, external, "application/rdf+xml"), 400, "xml_dtd")
        assert peers == []
    assert_alive(server)


def test_a_query_stops_at_its_timeout_and_memory_limit(seed_store_path: Path) -> None:
    with served(seed_store_path, "--query-timeout", "1", env={"FIMIGRAPH_QUERY_MEMORY_MB": "200"}) as server:
        assert_refused(sparql(server, SLOW), 422, "query_timeout")
        hungry = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?f ?c ?i"  # sorts 700M rows before the first
        assert_refused(sparql(server, hungry), 422, "query_memory_mb")
        assert sparql(server, "ASK { ?s ?p ?o }").json() == {"head": {}, "boolean": True}  # the workers were replaced
        assert_alive(server)


def test_a_query_whose_client_goes_away_is_stopped(seed_store_path: Path) -> None:
    """One worker, no queue: while the slow query runs, others get 503; once its client hangs up, they run."""
    with served(seed_store_path, "--query-workers", "1", "--query-timeout", "120", env={"FIMIGRAPH_QUERY_QUEUE": "0"}) as server:
        until(lambda: sparql(server, "ASK {}").status_code == 200)  # the worker started
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as client:
            body = SLOW.encode()
            client.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                           b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            until(lambda: sparql(server, "ASK {}").status_code == 503)  # the slow query holds the worker
        # Hung up: its worker is stopped and replaced long before the query's 120 s.
        until(lambda: sparql(server, "ASK {}").status_code == 200)


def test_queries_beyond_the_workers_and_queue_get_503_health_answers_and_sigterm_ends_it(seed_store_path: Path) -> None:
    with served(seed_store_path, "--query-workers", "1", "--query-timeout", "120", env={"FIMIGRAPH_QUERY_QUEUE": "2"}) as server:
        assert sparql(server, "ASK {}").status_code == 200  # the worker started
        with ThreadPoolExecutor(max_workers=8) as pool:
            slow = [pool.submit(sparql, server, SLOW) for _ in range(8)]
            until(lambda: sum(1 for f in slow if f.done()) >= 5)  # 1 running, 2 waiting, 5 turned away
            refused = [future.result() for future in slow if future.done()]
            assert len(refused) == 5
            for response in refused:
                assert_refused(response, 503)
                assert response.headers["retry-after"] == "1"
            assert_alive(server)  # /health answers while every worker is busy
            server.process.send_signal(signal.SIGTERM)
            server.process.wait(timeout=20)  # ends within its graceful wait (3 s), not after the queries' 120 s
            for future in slow:
                with suppress(httpx.HTTPError):  # cut off by the shutdown: what matters is that it ended
                    future.result()
    assert not [pid for pid in os.listdir("/proc") if pid.isdigit() and _is_worker_of(pid, str(seed_store_path))]


def _is_worker_of(pid: str, store: str) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"fimigraph.querypool" in command and store.encode() in command
