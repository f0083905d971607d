"""The workbench in a real browser (headless Chromium), against a real server on the seed case.

Each test saves a screenshot of each step in its output folder (pytest's ``tmp_path``) and runs
axe-core on each page it reaches: no serious or critical accessibility violation. The page may
reach no other host than its server: every other request is refused and reported.
"""

from __future__ import annotations

import json
import shutil
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser import axe_violations, chromium, launch
from support import AZERBAIJAN, CAMPAIGN, SAMPLES, running_server

BROWSER = chromium()
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no Chromium browser on this machine (Debian's package chromium; .ci/run installs it)")

if BROWSER is not None:
    from playwright.sync_api import Page, expect, sync_playwright

    expect.set_options(timeout=20_000)  # a deadline for each condition, on a shared 2-core machine

VIGINUM_QUOTE = "However, Viginum said it had not been able to link the campaign directly to the Azerbaijani authorities."


@pytest.fixture(scope="module")
def server(seed_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``fimigraph serve`` on a free loopback port, on a copy of the seeded store."""
    store = tmp_path_factory.mktemp("workbench") / "store"
    shutil.copytree(seed_template, store)
    with running_server(store) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium, one for the module."""
    with sync_playwright() as playwright:
        chrome = launch(playwright, BROWSER)
        yield chrome
        chrome.close()


class Visit:
    """One browser tab on the workbench, with what it asked of the network and what went wrong on it."""

    def __init__(self, browser: Any, server: str, out: Path) -> None:
        self.server, self.out, self.step = server, out, 0
        self.context = browser.new_context(viewport={"width": 1440, "height": 1000})
        self.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.elsewhere: list[str] = []
        self.errors: list[str] = []
        self.requests: list[Any] = []
        self.page.route("**/*", self._only_the_server)
        self.page.on("request", lambda request: self.requests.append(request))
        self.page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        self.page.on("console", lambda m: self.errors.append(m.text) if "Content Security Policy" in m.text else None)

    def _only_the_server(self, route: Any) -> None:
        if route.request.url.startswith(self.server + "/") or route.request.url.startswith("data:"):
            route.continue_()
        else:
            self.elsewhere.append(route.request.url)
            route.abort()

    def open(self, fragment: str = "") -> Page:
        """Open the workbench (at a view of it)."""
        self.page.goto(f"{self.server}/{fragment}")
        return self.page

    def shot(self, name: str) -> None:
        """A screenshot of the whole page as it is, numbered in the order of the steps."""
        self.step += 1
        self.page.screenshot(path=self.out / f"{self.step:02d}-{name}.png", full_page=True)

    def accessible(self) -> None:
        """No serious or critical accessibility violation on the page as it is."""
        assert axe_violations(self.page) == []

    def close(self) -> None:
        """Close the tab; nothing was fetched from elsewhere and nothing broke."""
        self.context.close()
        assert self.elsewhere == [], "the page tried to reach other hosts"
        assert self.errors == []


@pytest.fixture
def visit(browser: Any, server: str, tmp_path: Path) -> Iterator[Visit]:
    """A new tab, its screenshots in this test's output folder."""
    tab = Visit(browser, server, tmp_path)
    yield tab
    tab.close()


def _api(server: str, path: str, accept: str = "application/json") -> Any:
    """What the API itself answers, to compare the page with."""
    with urllib.request.urlopen(urllib.request.Request(server + path, headers={"Accept": accept}), timeout=30) as r:
        body = r.read().decode()
    return json.loads(body) if accept.endswith("json") else body


def _offers(server: str, path: str) -> bool:
    return path in _api(server, "/openapi.json")["paths"]


def test_the_seed_campaign_its_graph_and_its_explanation(visit: Visit, server: str) -> None:
    """Find the campaign, see the party-linked edge to Azerbaijan and Viginum's finding, open the explanation, copy it."""
    page = visit.open()
    expect(page.get_by_role("heading", name="Find")).to_be_visible()
    page.get_by_label("Search entities by label or IRI").fill("boycott")
    option = page.get_by_role("option").first  # the best match first
    expect(option).to_contain_text("#boycottparis2024 campaign")
    expect(option.locator(".kind-badge")).to_have_text("campaign")
    expect(page.locator("#recent-sources")).to_contain_text("Viginum report on the #boycottparis2024 campaign")
    missing = [path for path in ("/conflicts", "/changes") if not _offers(server, path)]
    for path in missing:  # a server without these says so, rather than breaking
        expect(page.locator(f"#{path[1:]}")).to_contain_text(f"This server has no {path} endpoint")
    visit.shot("find")
    visit.accessible()

    option.click()
    expect(page.locator("main[data-state=ready]")).to_be_attached()
    expect(page.get_by_role("heading", level=1)).to_contain_text("#boycottparis2024 campaign")
    row = page.locator("table.links tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Azerbaijan")
    expect(row).to_contain_text("party-linked")
    expect(row).to_contain_text("inferred")
    expect(row).to_contain_text("32 (Med)")
    expect(row).to_contain_text("2023-07-26 – 2023-07-27")
    expect(row).to_contain_text("TLP:CLEAR")
    expect(page.locator("table.findings")).to_contain_text(VIGINUM_QUOTE)
    # What the graph draws: a dashed edge graded party-linked to Azerbaijan, and Viginum's finding as its own marker.
    drawn = page.evaluate("""() => {
        const cy = document.querySelector('.graph').cy;
        const edge = cy.edges('.conclusion').filter(e => e.data('grade') === 'party-linked')[0];
        const marker = cy.nodes('.negative')[0];
        const toState = cy.edges('.negative-edge.to-state')[0];
        const mid = edge.renderedMidpoint();
        return { target: edge.target().id(), label: edge.data('label'), line: edge.style('line-style'),
                 marker: marker.data('label'), markerShape: marker.style('shape'), markerTo: toState.target().id(),
                 arrow: toState.style('target-arrow-shape'), x: mid.x, y: mid.y };
    }""")
    assert (drawn["target"], drawn["label"], drawn["line"]) == (str(AZERBAIJAN), "party-linked · 32", "dashed")
    assert "not directly linked" in drawn["marker"] and "Viginum report" in drawn["marker"]
    assert (drawn["markerShape"], drawn["markerTo"], drawn["arrow"]) == ("octagon", str(AZERBAIJAN), "tee")
    page.get_by_text("The graph in words").click()
    words = page.locator(".in-words")
    expect(words).to_contain_text("#boycottparis2024 campaign → Azerbaijan: party-linked, inferred (dashed line)")
    expect(words).to_contain_text("not directly linked to the Azerbaijani authorities (negative finding, per Viginum report")
    visit.shot("entity")
    visit.accessible()

    # A click on the edge itself, where the graph draws it, opens its explanation.
    graph = page.locator(".graph").bounding_box()
    assert graph is not None
    page.mouse.click(graph["x"] + drawn["x"], graph["y"] + drawn["y"])
    panel = page.locator("#explanation")
    expect(panel).to_have_attribute("data-state", "ready")
    link = urllib.parse.parse_qs(page.url.split("?", 1)[1])["link"][0]
    text = _api(server, "/explanations?" + urllib.parse.urlencode({"link": link}), accept="text/plain")
    # It reads as `fimigraph explain` does: the same paragraph, the proof down to the sources' words.
    expect(panel.locator(".summary")).to_have_text(text.split("\n\n")[0])
    expect(panel).to_contain_text(VIGINUM_QUOTE)
    expect(panel.locator(".proof")).to_contain_text("with links to the Azeri presidential party")
    expect(panel.locator(".proof .rule").first).to_contain_text("rule: chain")
    expect(panel).to_contain_text("If one claim were retracted")
    visit.shot("explanation")
    visit.accessible()

    panel.get_by_role("button", name="Copy as text").click()
    expect(panel.locator(".copy-status")).to_have_text("Copied the explanation as text.")
    assert page.evaluate("() => navigator.clipboard.readText()") == text

    why_not = "/explanations/why-not"
    panel.get_by_role("button", name="Ask", exact=True).click()
    answer = panel.locator(".why-not-answer")
    if _offers(server, why_not):
        expect(answer.locator(".summary")).not_to_be_empty()
    else:
        expect(answer).to_contain_text(f"This server has no {why_not} endpoint")
    visit.shot("why-not")


def test_a_shipped_question_runs_in_the_sparql_editor(visit: Visit) -> None:
    """The SPARQL page opens on the first shipped question; running it lists the campaign's party-linked link."""
    page = visit.open("#/sparql")
    expect(page.locator("main[data-state=ready]")).to_be_attached()
    expect(page.locator(".question")).to_contain_text("which subjects (campaigns, accounts, actors, parties) are linked to a state")
    expect(page.get_by_role("tab")).to_have_count(len(_api(visit.server, "/queries")))
    page.locator(".yasqe_queryButton").click()
    results = page.locator(".yasr table tbody")
    expect(results).to_contain_text("#boycottparis2024 campaign")
    expect(results).to_contain_text("party-linked")
    expect(results).to_contain_text("Azerbaijan")
    visit.shot("sparql")
    visit.accessible()


def test_a_broken_document_is_refused_field_by_field_and_a_good_one_loaded(visit: Visit, server: str) -> None:
    """Upload a document that breaks the shapes: the report, by field; then a valid one: what it added."""
    page = visit.open("#/ingest")
    page.get_by_label("Source document").set_input_files(SAMPLES / "invalid-claim.ttl")
    expect(page.get_by_label("Format")).to_have_value("text/turtle")
    page.get_by_role("button", name="Upload", exact=True).click()
    result = page.locator("#ingest-result")
    expect(result).to_have_attribute("data-state", "refused")
    expect(result).to_contain_text("It breaks the SHACL shapes 3 times; nothing was written.")
    rows = result.locator("table.shacl-report tbody tr")
    expect(rows).to_have_count(3)
    report = [[cell.strip() for cell in row] for row in rows.evaluate_all("rows => rows.map(r => [...r.cells].map(c => c.innerText))")]
    assert [(r[0], r[1], r[3]) for r in report] == [
        ("bad-claim", "fimi:confidence", '"150"^^xsd:integer'),
        ("bad-claim", "fimi:quote", "(nothing)"),
        ("bad-claim", "fimi:validFrom", '"2024-13-45"^^xsd:date'),
    ]
    assert report[1][2] == "A claim quotes its source verbatim (fimi:quote): none is given."
    visit.shot("ingest-refused")
    visit.accessible()

    page.get_by_label("Source document").set_input_files(SAMPLES / "minimal-source.ttl")
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(result).to_have_attribute("data-state", "loaded")
    expect(result).to_contain_text("1 claim, 18 triples")
    if _offers(server, "/changes"):
        expect(result.locator(".change-item")).to_contain_text("loaded")
    else:
        expect(result).to_contain_text("This server has no /changes endpoint")
    visit.shot("ingest-loaded")


def test_the_token_pasted_goes_with_every_call_until_forgotten(visit: Visit) -> None:
    """Need-to-know: the page asks the API as the caller whose token is pasted (kept for this tab only), or anonymously."""
    page = visit.open()
    page.get_by_label("API token").fill("analyst-token")
    page.get_by_role("button", name="Use", exact=True).click()
    expect(page.locator("#token-state")).to_have_text("token in use")
    assert page.evaluate("() => sessionStorage.getItem('fimigraph.token')") == "analyst-token"
    visit.requests.clear()
    page.goto(f"{visit.server}/#/entity?{urllib.parse.urlencode({'iri': str(CAMPAIGN)})}")
    expect(page.locator("main[data-state=ready]")).to_be_attached()
    api = [r for r in visit.requests if "/attribution?" in r.url or "/entities?" in r.url]
    assert api and all(r.headers.get("authorization") == "Bearer analyst-token" for r in api)
    visit.shot("token")
    page.get_by_role("link", name="SPARQL").click()  # the editor asks /sparql as the same caller
    page.locator(".yasqe_queryButton").click()
    expect(page.locator(".yasr table tbody")).to_contain_text("party-linked")
    queries = [r for r in visit.requests if r.url.startswith(f"{visit.server}/sparql")]
    assert queries and all(r.headers.get("authorization") == "Bearer analyst-token" for r in queries)

    page.get_by_role("button", name="Forget", exact=True).click()
    expect(page.locator("#token-state")).to_have_text("anonymous")
    visit.requests.clear()
    page.go_back()  # to the campaign's page, asked again, anonymously
    expect(page.get_by_role("heading", level=1)).to_contain_text("#boycottparis2024 campaign")
    expect(page.locator("main[data-state=ready]")).to_be_attached()
    api = [r for r in visit.requests if "/attribution?" in r.url]
    assert api and all("authorization" not in r.headers for r in api)
