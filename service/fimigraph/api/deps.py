"""Dependencies shared by the routers, as ``Annotated`` types."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..compaction import Compactor
from ..errors import PayloadTooLarge
from ..settings import Settings
from ..store import GraphStore


def get_store(request: Request) -> GraphStore:
    """The store the app was started with."""
    return request.app.state.store


def get_settings(request: Request) -> Settings:
    """The settings the app was started with."""
    return request.app.state.settings


def get_compactor(request: Request) -> Compactor:
    """What compacts the store after changes."""
    return request.app.state.compactor


StoreDep = Annotated[GraphStore, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
CompactorDep = Annotated[Compactor, Depends(get_compactor)]


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it passes ``limit`` bytes."""
    declared = int(request.headers.get("content-length") or 0)
    if declared > limit:
        raise PayloadTooLarge(f"the document has {declared} bytes; the limit is {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"the document is over the limit of {limit} bytes")
    return bytes(body)
