"""Every example of ``docs/writing-sources.md`` loads, and answers as the guide says.

The guide's sections (``##`` and ``###`` headings) are read in order. In a section, consecutive
```` ```turtle ```` blocks make one source document, and a ```` ```json ```` block is a STIX
bundle; each is loaded, in its own store per section, when the section shows the answer that
follows (a ```` ```json answer ```` block: part of ``fimigraph attribution --json``). The answer's
links are compared on state, grade and directness, its negative findings on their state, its
conflicts on their kind: the rest of the answer is not the guide's to pin.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from support import REPO

from fimigraph.attribution import attribution
from fimigraph.ingest import STIX_MEDIA_TYPE, ingest
from fimigraph.store import GraphStore

GUIDE = REPO / "docs" / "writing-sources.md"
_FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
_HEADING = re.compile(r"^#{2,3} (.+)$", re.M)


@dataclass
class Section:
    """One section of the guide: its heading and its fenced blocks, in order."""

    title: str
    blocks: list[tuple[str, str]] = field(default_factory=list)

    @property
    def loads(self) -> bool:
        """Whether the section holds an example to load."""
        return any(info in ("turtle", "json") for info, _ in self.blocks)


def sections() -> list[Section]:
    """The guide's sections that hold fenced blocks."""
    text = GUIDE.read_text(encoding="utf-8")
    found: list[Section] = []
    starts = [(m.start(), m.group(1)) for m in _HEADING.finditer(text)] + [(len(text), "")]
    for (start, title), (end, _next) in zip(starts, starts[1:]):
        blocks = [(m.group("info").strip(), m.group("body")) for m in _FENCE.finditer(text, start, end)]
        if blocks:
            found.append(Section(title, blocks))
    return found


def steps(section: Section) -> Iterator[tuple[str, Any]]:
    """("load", (media type, bytes)) and ("answer", dict) in the order the section shows them."""
    document: list[str] = []
    for info, body in section.blocks:
        if info == "turtle":
            document.append(body)
            continue
        if document:  # a document ends where anything else begins
            yield "load", ("text/turtle", "\n".join(document).encode())
            document = []
        if info == "json":
            yield "load", (STIX_MEDIA_TYPE, body.encode())
        elif info == "json answer":
            yield "answer", json.loads(body)
    if document:
        yield "load", ("text/turtle", "\n".join(document).encode())


def matches(expected: list[dict[str, Any]], actual: list[dict[str, Any]], keys: tuple[str, ...]) -> bool:
    """Whether the two lists hold the same entries, compared on ``keys`` (as sets: how many links one
    conclusion makes, one per derivation or one in all, is not the guide's to say)."""
    return {tuple(e.get(k) for k in keys) for e in expected} == {tuple(e.get(k) for k in keys) for e in actual}


SECTIONS = [s for s in sections() if s.loads]


def test_the_guide_has_examples_for_every_link_kind_and_stix() -> None:
    """The parser finds the guide's examples (a guide without them would pass every test below)."""
    text = " ".join(body for s in SECTIONS for info, body in s.blocks if info in ("turtle", "json"))
    kinds = ["operates", "conducts", "usesAccount", "affiliatedWith", "employedBy", "contractedBy", "controlledBy", "organOf",
             "rulingPartyOf", "officialChannelOf", "promotes", "targets", "usesTechnique", "attributedTo",
             "notDirectlyLinkedTo", "disputes", "respondsTo", "contextOf"]
    assert [k for k in kinds if f"fimi:{k}" not in text] == []
    assert any(info == "json" for s in SECTIONS for info, _ in s.blocks), "no STIX example"


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.title)
def test_each_example_loads_and_answers_as_the_guide_says(section: Section, tmp_path: Path) -> None:
    store = GraphStore(tmp_path / "store")
    answers = 0
    for kind, value in steps(section):
        if kind == "load":
            media_type, data = value
            ingest(store, data, media_type=media_type)
            continue
        answers += 1
        got = attribution(store, value["subject"])
        assert matches(value["links"], got["links"], ("state", "grade", "directness")), got["links"]
        assert matches(value["not_directly_linked"], got["not_directly_linked"], ("state",)), got["not_directly_linked"]
        assert matches(value["conflicts"], got["conflicts"], ("kind",)), got["conflicts"]
    assert answers, f"section {section.title!r} loads examples but shows no answer to check them against"
