"""Every analyst query in data/queries is documented and answers on the seed case."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import QUERIES

from fimigraph.store import GraphStore


def test_there_are_at_least_eight_queries() -> None:
    assert len(QUERIES) >= 8


@pytest.mark.parametrize("path", QUERIES, ids=[q.stem for q in QUERIES])
def test_query_is_commented_and_returns_rows(path: Path, seed_store: GraphStore) -> None:
    text = path.read_text(encoding="utf-8")
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert len(comments) >= 3, "each query opens with comments: the question, how to read it, what to change"
    rows = list(seed_store.query(text))
    assert rows, f"{path.name} returns nothing on the seed case"
