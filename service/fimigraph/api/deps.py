"""Dependencies shared by the routers, as ``Annotated`` types."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..compaction import Compactor
from ..settings import Settings
from ..store import GraphStore


def get_store(request: Request) -> GraphStore:
    """The store the app was started with."""
    return request.app.state.store


def get_settings(request: Request) -> Settings:
    """The settings the app was started with."""
    return request.app.state.settings


ANONYMOUS = "anonymous"
"""Who a change made through the API is recorded as, until the API knows its callers."""


def get_actor(request: Request) -> str:
    """Who makes a change through this request, for the change log (the caller, once callers present API tokens)."""
    return ANONYMOUS


def get_compactor(request: Request) -> Compactor:
    """What compacts the store after changes."""
    return request.app.state.compactor


StoreDep = Annotated[GraphStore, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
CompactorDep = Annotated[Compactor, Depends(get_compactor)]
ActorDep = Annotated[str, Depends(get_actor)]
