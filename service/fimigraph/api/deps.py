"""Dependencies shared by the routers, as ``Annotated`` types.

The getters are ``async``: FastAPI runs a plain function dependency on the shared thread pool,
so a full pool would keep even /health from starting.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..compaction import Compactor
from ..errors import PayloadTooLarge
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
SettingsDep = Annotated[Settings, Depends(get_settings)]
CompactorDep = Annotated[Compactor, Depends(get_compactor)]
QueryPoolDep = Annotated[QueryPool, Depends(get_query_pool)]
