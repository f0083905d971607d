"""Fixtures: every test gets its own store; the seed case is reasoned once and copied."""

from __future__ import annotations

import gc
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fimigraph.api.app import create_app
from fimigraph.ingest import ingest
from fimigraph.settings import Settings
from fimigraph.store import GraphStore

from support import SEED_FILES, make_token


@pytest.fixture(scope="session")
def seed_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the seed case with its inferences, built once per run (never used directly)."""
    path = tmp_path_factory.mktemp("seed-template") / "store"
    store = GraphStore(path)
    for file in SEED_FILES:
        ingest(store, file.read_bytes(), media_type="text/turtle")
    store.flush()
    del store
    gc.collect()  # pyoxigraph releases RocksDB's lock only when the Store object goes away
    return path


@pytest.fixture
def seed_store_path(seed_template: Path, tmp_path: Path) -> Path:
    """A private copy of the seeded store on disk."""
    target = tmp_path / "seed-store"
    shutil.copytree(seed_template, target)
    return target


@pytest.fixture
def seed_store(seed_store_path: Path) -> Iterator[GraphStore]:
    """The seeded store, opened."""
    store = GraphStore(seed_store_path)
    yield store
    store.flush()


@pytest.fixture
def empty_store(tmp_path: Path) -> Iterator[GraphStore]:
    """A new, empty on-disk store."""
    store = GraphStore(tmp_path / "store")
    yield store
    store.flush()


def make_client(store: GraphStore, *, role: str | None = "editor", clearance: str = "red", **settings: object) -> TestClient:
    """A test client of the app serving ``store``, calling with a token of ``role`` and ``clearance`` (``role=None``: no token)."""
    headers = {"Authorization": f"Bearer {make_token(store, role=role, clearance=clearance)}"} if role else {}
    return TestClient(create_app(Settings(store=store.path, **settings), store=store), headers=headers)


@pytest.fixture
def client(empty_store: GraphStore) -> Iterator[TestClient]:
    """The API over an empty store."""
    with make_client(empty_store) as c:
        yield c


@pytest.fixture
def seed_client(seed_store: GraphStore) -> Iterator[TestClient]:
    """The API over the seeded store."""
    with make_client(seed_store) as c:
        yield c
