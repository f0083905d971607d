"""The FastAPI application: ``create_app(settings)`` wires the store, routers and error mapping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .. import __version__, reason
from ..compaction import Compactor
from ..settings import Settings, load_settings
from ..store import GraphStore
from ..validate import quiet_literal_warnings
from . import problems
from .routers import attribution, changes, conflicts, explanations, health, sources, sparql

DESCRIPTION = """Knowledge graph and graded attribution reasoning for analysts of foreign information
manipulation and interference (FIMI). Push sources, ask SPARQL, get graded attributions
(state-official › state-controlled › state-linked › party-linked › state-aligned) and follow
every inferred link back to the quotes it rests on. Errors are RFC 9457 problem JSON."""


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
        try:
            yield
        finally:
            app.state.store.flush()
            del app.state.store, app.state.compactor

    app = FastAPI(title="fimigraph", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    problems.install(app)
    for module in (sparql, sources, attribution, explanations, changes, conflicts, health):
        app.include_router(module.router)
    return app
