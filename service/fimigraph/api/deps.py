"""Dependencies shared by the routers, as ``Annotated`` types.

The getters are ``async``: FastAPI runs a plain function dependency on the shared thread pool,
so a full pool would keep even /health from starting.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..callers import ANONYMOUS, Caller
from ..compaction import Compactor
from ..errors import PayloadTooLarge, Unauthorized
from ..querypool import QueryPool
from ..settings import Settings
from ..store import GraphStore


async def get_store(request: Request) -> GraphStore:
    """The store the app was started with."""
    return request.app.state.store


async def get_settings(request: Request) -> Settings:
    """The settings the app was started with."""
    return request.app.state.settings


async def get_compactor(request: Request) -> Compactor:
    """What compacts the store after changes."""
    return request.app.state.compactor


async def get_query_pool(request: Request) -> QueryPool:
    """The worker processes that answer /sparql."""
    return request.app.state.query_pool


log = logging.getLogger("fimigraph.api")

bearer = HTTPBearer(auto_error=False, scheme_name="token", description=(
    "A fimigraph token (`fimigraph tokens add NAME --role reader|editor|admin --clearance TLP`), as "
    "`Authorization: Bearer fg_…`. Without one, a caller reads as the anonymous TLP:CLEAR reader, "
    "unless reads are closed (FIMIGRAPH_READS=closed)."))


async def get_caller(request: Request,
                     credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Caller:
    """Who is calling: the caller its bearer token names, or the anonymous reader where reads are open."""
    if credentials is None:
        if request.headers.get("authorization"):
            _log_refusal(request, "an Authorization header that is not a bearer token")
            raise Unauthorized("the Authorization header must be a bearer token: Authorization: Bearer fg_…")
        if request.app.state.settings.reads == "closed":
            raise Unauthorized("reads are closed on this server: send a token (Authorization: Bearer fg_…)")
        return ANONYMOUS
    store: GraphStore = request.app.state.store
    try:
        return store.tokens.authenticate(credentials.credentials)
    except Unauthorized as exc:
        _log_refusal(request, exc.detail)
        raise


def _log_refusal(request: Request, why: str) -> None:
    """Log a failed authentication: what was asked, from where and why, never the token."""
    client = request.client.host if request.client else "unknown client"
    log.warning("authentication refused for %s %s from %s: %s", request.method, request.url.path, client, why)


async def get_view(request: Request, caller: Annotated[Caller, Depends(get_caller)]) -> GraphStore:
    """The store as the caller may read it: only what is marked within its clearance."""
    store: GraphStore = request.app.state.store
    return store.for_clearance(caller.clearance)


async def get_editor(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    """The caller, who must be an editor (or admin): writes need it."""
    caller.require("editor")
    return caller


async def read_body(request: Request, limit: int, setting: str = "max_upload_bytes") -> bytes:
    """The request's body, refused (413, naming the ``setting``) as soon as it is over ``limit`` bytes."""
    declared = request.headers.get("content-length") or ""
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body has {declared} bytes; the limit is {limit} (FIMIGRAPH_{setting.upper()})",
                              limit=setting, value=limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"the body is over the limit of {limit} bytes (FIMIGRAPH_{setting.upper()})",
                                  limit=setting, value=limit)
    return bytes(body)


StoreDep = Annotated[GraphStore, Depends(get_store)]
"""The whole store: for writes, and for what is not read back to the caller. Reads use :data:`ViewDep`."""
ViewDep = Annotated[GraphStore, Depends(get_view)]
CallerDep = Annotated[Caller, Depends(get_caller)]
EditorDep = Annotated[Caller, Depends(get_editor)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
CompactorDep = Annotated[Compactor, Depends(get_compactor)]
QueryPoolDep = Annotated[QueryPool, Depends(get_query_pool)]
