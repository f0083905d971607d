"""The FastAPI application: ``create_app(settings)`` wires the store, routers and error mapping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .. import __version__, reason
from ..compaction import Compactor
from ..querypool import QueryPool
from ..settings import Settings, load_settings
from ..store import GraphStore
from ..validate import quiet_literal_warnings
from . import problems
from .routers import attribution, consistency, entities, explanations, health, queries, sources, sparql, workbench

DESCRIPTION = """Knowledge graph and graded attribution reasoning for analysts of foreign information
manipulation and interference (FIMI). Push sources, ask SPARQL, get graded attributions
(state-official › state-controlled › state-linked › party-linked › state-aligned) and follow
every inferred link back to the quotes it rests on. Errors are RFC 9457 problem JSON."""


def _wait_for_changes(store: GraphStore, timeout: float) -> None:
    """Wait (at most ``timeout`` s) until no change holds the store's write lock."""
    if store.write_lock.acquire(timeout=timeout):
        store.write_lock.release()


def create_app(settings: Settings | None = None, *, store: GraphStore | None = None) -> FastAPI:
    """Build the app; it opens the store on start-up unless one is given."""
    settings = settings or load_settings()
    quiet_literal_warnings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.store = store or GraphStore(settings.store)
        # Before serving: answers from a half-written inferred graph would be wrong, not slow.
        recovered = await asyncio.to_thread(
            reason.recover, app.state.store, engine=settings.engine,
            announce=lambda why: problems.log.warning("the inferred graph is %s: rebuilding it before serving", why))
        if recovered is not None:
            report = recovered[1]
            problems.log.warning("rebuilt the inferred graph: %d triples in %.1f s", report.triples, report.seconds)
        # The engine reads the store and derives everything now, rather than when the first source is posted.
        await asyncio.to_thread(reason.prepare, app.state.store, engine=settings.engine)
        app.state.compactor = Compactor(app.state.store, after=settings.compact_after)
        app.state.query_pool = QueryPool(
            app.state.store.path,
            workers=settings.query_workers, queue=settings.query_queue, timeout=settings.query_timeout,
            memory_mb=settings.query_memory_mb, max_depth=settings.max_depth, max_rows=settings.max_result_rows,
            max_bytes=settings.max_result_bytes)
        # /health's own thread: requests that fill the shared thread pool cannot keep it waiting.
        app.state.health_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fimigraph-health")
        try:
            yield
        finally:
            await app.state.query_pool.close()
            app.state.health_thread.shutdown(wait=False)
            # A change still running (past the server's graceful wait) ends before the store closes.
            await asyncio.to_thread(_wait_for_changes, app.state.store, max(settings.shutdown_timeout, 1.0))
            app.state.store.flush()
            del app.state.store, app.state.compactor, app.state.query_pool

    app = FastAPI(title="fimigraph", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    problems.install(app)
    for module in (sparql, sources, attribution, explanations, health, consistency):
        app.include_router(module.router)
    # The workbench: its page and assets (served from the package), and what it reads besides the API above.
    for module in (entities, queries, workbench):
        app.include_router(module.router)
    return app
