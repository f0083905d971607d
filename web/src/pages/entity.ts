// The entity page: a subject's conclusions (GET /attribution) as a graph and, beside it, as a
// table; click a conclusion in either to read its explanation.

import type { Core } from "cytoscape";
import { ApiError, explainError, getJSON } from "../api";
import { entityHref, h, interval, marking, note, replace, shortIri, sourceHref } from "../dom";
import { showExplanation } from "../explain";
import { CONFLICT_COLOUR, GRADE_COLOURS, KIND_STYLE, NEGATIVE_COLOUR, MAX_DRAWN_FINDINGS, MAX_DRAWN_LINKS,
  conflictStates, drawGraph, graphModel, groupFindings, loadGraphLibrary } from "../graph";
import { quote } from "../render";
import type { Attribution, Entity, Link } from "../types";

/** Entity lookups per request (the API takes at most 100 IRIs at a time). */
const LOOKUP_BATCH = 50;

export async function entityPage(main: HTMLElement, params: URLSearchParams): Promise<void> {
  const iri = params.get("iri");
  if (!iri) {
    replace(main, h("h1", null, "Entity"), note("No entity given: find one first.", "warning"), h("a", { href: "#/" }, "Find"));
    return;
  }
  main.dataset.state = "loading";
  void loadGraphLibrary().catch(() => undefined); // its failure is reported when the graph is drawn
  replace(main, h("h1", null, shortIri(iri)), note("Loading its conclusions…"));
  let a: Attribution;
  let entities: Map<string, Entity>;
  try {
    a = await getJSON<Attribution>("attribution", { subject: iri });
    // Kinds and labels of the nodes the graph draws that /attribution names but does not describe:
    // the subject, the chains' nodes and the organs of negative findings (states are states).
    const states = new Set([...a.links.map((l) => l.state), ...a.not_directly_linked.map((f) => f.state)]);
    const wanted = new Set([iri, ...a.links.slice(0, MAX_DRAWN_LINKS).flatMap((l) => l.via),
      ...groupFindings(a.not_directly_linked).slice(0, MAX_DRAWN_FINDINGS).flatMap((f) => f.via)]);
    entities = await lookup([...wanted].filter((x) => !states.has(x)));
  } catch (err) {
    const missing = err instanceof ApiError && err.status === 404 && !err.missingEndpoint;
    replace(main, h("h1", null, shortIri(iri)), h("p", { class: "iri" }, iri),
      note(missing ? `No source mentions this IRI (or none you may see): ${explainError(err)}` : explainError(err), "error"));
    main.dataset.state = "error";
    return;
  }
  performance.mark("fimigraph:api-answered");

  const labels = new Map<string, string>();
  const kinds = new Map<string, string>();
  for (const [node, e] of entities) {
    if (e.label) labels.set(node, e.label);
    kinds.set(node, e.kind);
  }
  if (a.label) labels.set(a.subject, a.label);
  for (const l of a.links) {
    kinds.set(l.state, "state");
    if (l.state_label) labels.set(l.state, l.state_label);
    l.via.forEach((v, i) => { const label = l.via_labels[i]; if (label) labels.set(v, label); });
  }
  for (const f of a.not_directly_linked) {
    kinds.set(f.state, "state");
    if (f.state_label) labels.set(f.state, f.state_label);
  }
  const name = (node: string) => labels.get(node) ?? shortIri(node);

  const panel = h("section", { id: "explanation", class: "panel", "aria-labelledby": "explanation-title", hidden: true });
  const graphBox = h("div", { class: "graph", role: "img", "aria-label": `Graph of the conclusions about ${a.label ?? iri}; the same in words below it` });
  const words = h("ul", { class: "words" });
  const kindBadge = h("span", { class: "kind-badge" }, kinds.get(iri) ?? "");
  const model = graphModel(a, kinds, labels, graphAspect(main));
  const rows = new Map<string, HTMLTableRowElement>();
  let cy: Core | null = null;

  const open = (node: string) => {
    const next = new URLSearchParams({ iri });
    next.set("link", node);
    if (location.hash !== `#/entity?${next}`) location.hash = `#/entity?${next}`;
    else void explainNode(node);
  };
  const explainNode = async (node: string) => {
    for (const [id, row] of rows) row.classList.toggle("selected", id === node);
    cy?.elements().unselect();
    cy?.getElementById(node).select();
    const link = a.links.find((l) => l.link === node);
    await showExplanation(panel, node, { subject: a.subject, state: link?.state, grade: link?.grade, onClose: close });
    panel.scrollIntoView({ block: "start" });
  };
  const close = () => {
    panel.hidden = true;
    location.hash = entityHref(iri);
  };

  const drawnNote = a.links.length > MAX_DRAWN_LINKS || groupFindings(a.not_directly_linked).length > MAX_DRAWN_FINDINGS
    ? note(`The graph draws the ${model.drawnLinks} strongest of ${a.links.length} conclusions and ${model.drawnFindings} negative findings; the table lists them all.`)
    : null;
  replace(main,
    h("h1", null, a.label ?? shortIri(iri), " ", kindBadge),
    h("p", { class: "iri" }, iri),
    h("div", { class: "entity-layout" },
      h("figure", { class: "graph-figure" },
        graphBox,
        h("figcaption", null, legend(), drawnNote,
          h("details", { class: "in-words" }, h("summary", null, "The graph in words"), words))),
      h("div", { class: "conclusions" },
        linksTable(a, open, rows),
        findingsTable(a, open, rows, name),
        conflictsList(a, open))),
    panel);
  for (const w of model.words) words.append(h("li", null, h("a", { href: `#/entity?${new URLSearchParams({ iri, link: w.node })}` }, w.text)));
  if (!a.links.length && !a.not_directly_linked.length) {
    graphBox.classList.add("empty");
    graphBox.removeAttribute("role");
    replace(graphBox, note("No conclusion has this entity as its subject: no source links it to a state, and no rule derived a link.", "info"),
      kinds.get(iri) === "state" ? h("p", null, "A state is where links end: the first question on the ",
        h("a", { href: "#/sparql" }, "SPARQL page"), " lists the subjects linked to a state, by grade.") : null);
    finish(main);
  } else {
    cy = await drawGraph(graphBox, model, open, (node) => { if (node !== iri) location.hash = entityHref(node); });
    // Tests and the console reach the graph through its container.
    (graphBox as HTMLElement & { cy?: Core }).cy = cy;
    cy.one("render", () => finish(main));
  }

  main.addEventListener("paramschange", (event) => {
    const link = (event as CustomEvent<URLSearchParams>).detail.get("link");
    if (link) void explainNode(link);
    else panel.hidden = true;
  });
  const first = params.get("link");
  if (first) void explainNode(first);
}

/** Width over height of the box the graph gets (as the style sheet sizes it, before it is drawn). */
function graphAspect(main: HTMLElement): number {
  const width = main.clientWidth * (window.innerWidth > 1100 ? 5 / 11 : 1);
  return Math.max(0.3, width / 620);
}

/** Mark the page drawn: for the user's tests and the bench (a performance mark after the API's answer). */
function finish(main: HTMLElement): void {
  performance.mark("fimigraph:entity-rendered");
  main.dataset.state = "ready";
}

/** Labels and kinds of IRIs, by /entities lookups of a few dozen at a time. */
async function lookup(iris: string[]): Promise<Map<string, Entity>> {
  const out = new Map<string, Entity>();
  for (let i = 0; i < iris.length; i += LOOKUP_BATCH) {
    for (const e of await getJSON<Entity[]>("entities", { iri: iris.slice(i, i + LOOKUP_BATCH) })) out.set(e.iri, e);
  }
  return out;
}

function legend(): HTMLElement {
  const swatch = (style: string) => h("span", { class: "swatch", style, "aria-hidden": "true" });
  return h("div", { class: "legend" },
    h("p", null, h("strong", null, "Grades: "), Object.entries(GRADE_COLOURS).map(([g, c]) => h("span", { class: "legend-item" }, swatch(`background:${c}`), g))),
    h("p", null, h("strong", null, "Lines: "),
      h("span", { class: "legend-item" }, swatch("border-top:3px solid #333;height:0"), "direct (a source says so)"),
      h("span", { class: "legend-item" }, swatch("border-top:3px dashed #333;height:0"), "inferred (the rules derived it)"),
      h("span", { class: "legend-item" }, swatch("border-top:2px solid #9e9e9e;height:0"), "a step of a chain"),
      h("span", { class: "legend-item" }, swatch(`background:${NEGATIVE_COLOUR};clip-path:polygon(30% 0,70% 0,100% 30%,100% 70%,70% 100%,30% 100%,0 70%,0 30%)`), "⊘ negative finding (not directly linked)"),
      h("span", { class: "legend-item" }, swatch(`background:${CONFLICT_COLOUR};opacity:.5`), "⚠ conflict")),
    h("p", null, h("strong", null, "Kinds: "), Object.entries(KIND_STYLE).filter(([k]) => k !== "other").map(([k, s]) => h("span", { class: "legend-item" }, swatch(`background:${s.colour}`), k))),
  );
}

function linksTable(a: Attribution, open: (node: string) => void, rows: Map<string, HTMLTableRowElement>): HTMLElement {
  if (!a.links.length) return h("section", null, h("h2", null, "Conclusions"), h("p", null, "No graded link to a state: no source says so, and no rule derived one (unknown, not “not linked”)."));
  const contested = conflictStates(a);
  return h("section", null, h("h2", null, `Conclusions (${a.links.length})`),
    h("div", { class: "table-scroll" }, h("table", { class: "links" },
      h("thead", null, h("tr", null, ["state", "grade", "directness", "confidence", "interval", "marking", "derivations", "sources"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, a.links.map((l) => {
        const row = linkRow(a, l, contested.has(l.state), open);
        rows.set(l.link, row);
        return row;
      })))));
}

function linkRow(a: Attribution, l: Link, contested: boolean, open: (node: string) => void): HTMLTableRowElement {
  const via = l.via.length ? ` via ${l.via.map((v, i) => l.via_labels[i] ?? shortIri(v)).join(" → ")}` : "";
  return h("tr", { "data-link": l.link },
    h("td", null, h("a", { href: entityHref(l.state) }, l.state_label ?? shortIri(l.state)), contested ? h("span", { class: "flag", title: "sources conflict about this subject and state" }, " ⚠ conflict") : ""),
    h("td", null, h("button", { type: "button", class: "grade", style: `--grade:${GRADE_COLOURS[l.grade] ?? "#424242"}`,
      "aria-label": `Explain: ${a.label ?? a.subject} ${l.grade} to ${l.state_label ?? l.state}, ${l.directness}${via}`, onclick: () => open(l.link) }, l.grade)),
    h("td", null, l.directness, l.rule_label ? h("span", { class: "muted" }, ` (${l.rule_label})`) : ""),
    h("td", null, `${l.confidence} (${l.confidence_label})`),
    h("td", null, interval(l.valid_from, l.valid_until)),
    h("td", null, marking(l.marking)),
    h("td", null, String(l.derivations ?? "—")),
    h("td", null, sourceList(l.sources)),
  );
}

/** The first few sources, the rest behind a disclosure: a conclusion can rest on dozens. */
function sourceList(sources: Link["sources"], shown = 3): Node[] {
  const link = (s: Link["sources"][number]) => h("li", null, h("a", { href: sourceHref(s.source) }, s.label ?? shortIri(s.source)));
  const list: Node[] = [h("ul", { class: "plain compact" }, sources.slice(0, shown).map(link))];
  if (sources.length > shown) {
    list.push(h("details", null, h("summary", null, `${sources.length - shown} more`), h("ul", { class: "plain compact" }, sources.slice(shown).map(link))));
  }
  return list;
}

function findingsTable(a: Attribution, open: (node: string) => void, rows: Map<string, HTMLTableRowElement>,
  name: (node: string) => string): HTMLElement | null {
  if (!a.not_directly_linked.length) return null;
  return h("section", null, h("h2", null, `Negative findings (${groupFindings(a.not_directly_linked).length})`),
    h("p", { class: "muted" }, "A source said it could not link the subject directly to the state. This stands beside any inferred link; neither cancels the other."),
    h("div", { class: "table-scroll" }, h("table", { class: "findings" },
      h("thead", null, h("tr", null, ["state", "finding", "source and quote", "confidence", "marking"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, a.not_directly_linked.map((f) => {
        const row = h("tr", { "data-link": f.finding },
          h("td", null, h("a", { href: entityHref(f.state) }, f.state_label ?? shortIri(f.state))),
          h("td", null, h("button", { type: "button", class: "grade negative", onclick: () => open(f.finding),
            "aria-label": `Explain: not directly linked to ${f.state_label ?? f.state}, per ${f.source_label ?? f.source}` }, "⊘ not directly linked"),
            h("span", { class: "muted" }, ` ${f.directness}${f.via.length ? ` (to ${f.via.map(name).join(", ")})` : ""}`)),
          h("td", null, h("a", { href: sourceHref(f.source) }, f.source_label ?? shortIri(f.source)), quote(f.quote)),
          h("td", null, String(f.confidence)),
          h("td", null, marking(f.marking)));
        if (!rows.has(f.finding)) rows.set(f.finding, row);
        return row;
      })))));
}

function conflictsList(a: Attribution, open: (node: string) => void): HTMLElement | null {
  if (!a.conflicts.length) return null;
  return h("section", null, h("h2", null, `⚠ Conflicts (${a.conflicts.length})`),
    h("ul", { class: "conflicts plain" }, a.conflicts.map((c) => h("li", { class: "conflict-item" },
      h("p", null, h("strong", null, c.kind), c.state ? ` about ${c.state_label ?? c.state}` : " (a disputed claim)", " ",
        h("button", { type: "button", onclick: () => open(c.conflict),
          "aria-label": `Explain the ${c.kind} conflict${c.state ? ` about ${c.state_label ?? c.state}` : ""}` }, "Explain")),
      h("details", { open: a.conflicts.length <= 2 }, h("summary", null, `both sides, with their sources (${c.sides.length} sides)`),
        h("ul", { class: "plain sides" }, c.sides.map((s) => h("li", null, h("span", { class: "tag" }, s.type),
          s.sources.map((src) => h("div", null, h("a", { href: sourceHref(src.source) }, src.source_label ?? shortIri(src.source)), quote(src.quote)))))))))));
}
