// The subject's conclusions as a graph, read left to right: the subject, then the nodes of each
// chain (via) in the columns between, in the order of the chain, then the states. Conclusions
// arc above, one arc per conclusion, their labels stacked; chains run below; negative-finding
// markers sit under the chains, in the column before the states. Positions are computed here (a
// preset layout): a node's column says how far along a chain it is, and it costs nothing at any
// size, where a force layout of a few hundred nodes takes seconds.

import type { Core, ElementDefinition, StylesheetJson } from "cytoscape";
import type { Attribution, Link, NegativeFinding } from "./types";

/** How many conclusions the graph draws (strongest first); the table lists every one. */
export const MAX_DRAWN_LINKS = 60;
/** How many negative findings the graph draws; the table lists every one. */
export const MAX_DRAWN_FINDINGS = 30;

export const GRADE_COLOURS: Record<string, string> = {
  "state-official": "#b71c1c",
  "state-controlled": "#c43e00",
  "state-linked": "#7a5c00",
  "party-linked": "#1557a8",
  "state-aligned": "#2e6b30",
};
export const NEGATIVE_COLOUR = "#6a1b9a";
export const CONFLICT_COLOUR = "#e65100";

export const KIND_STYLE: Record<string, { shape: string; colour: string }> = {
  campaign: { shape: "star", colour: "#c2185b" },
  account: { shape: "ellipse", colour: "#0277bd" },
  actor: { shape: "round-triangle", colour: "#5d4037" },
  party: { shape: "hexagon", colour: "#f9a825" },
  organ: { shape: "barrel", colour: "#00838f" },
  state: { shape: "round-rectangle", colour: "#37474f" },
  narrative: { shape: "round-tag", colour: "#7cb342" },
  other: { shape: "ellipse", colour: "#9e9e9e" },
};

export interface GraphModel {
  elements: ElementDefinition[];
  /** The graph in words, one line per drawn conclusion or finding: its text alternative. */
  words: { text: string; node: string }[];
  drawnLinks: number;
  drawnFindings: number;
}

interface Finding { finding: string; state: string; state_label: string | null; via: string[]; sources: string[] }

/** Negative findings as the API lists them (one row per source quote) grouped into one entry per finding. */
export function groupFindings(rows: NegativeFinding[]): Finding[] {
  const byId = new Map<string, Finding>();
  for (const r of rows) {
    const f = byId.get(r.finding) ?? { finding: r.finding, state: r.state, state_label: r.state_label, via: r.via, sources: [] };
    const name = r.source_label ?? r.source;
    if (!f.sources.includes(name)) f.sources.push(name);
    byId.set(r.finding, f);
  }
  return [...byId.values()];
}

/** States about which some conflict (a direct attribution against a negative finding) stands for this subject. */
export function conflictStates(a: Attribution): Set<string> {
  return new Set(a.conflicts.filter((c) => c.state).map((c) => c.state as string));
}

function wrapLabel(text: string, max = 44): string {
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

/** The elements to draw and the same graph in words. */
export function graphModel(a: Attribution, kinds: Map<string, string>, labels: Map<string, string>, aspect = 1): GraphModel {
  const links = a.links.slice(0, MAX_DRAWN_LINKS);
  const findings = groupFindings(a.not_directly_linked).slice(0, MAX_DRAWN_FINDINGS);
  const contested = conflictStates(a);
  const disputed = a.conflicts.some((c) => !c.state);
  const name = (iri: string) => labels.get(iri) ?? iri;

  // Columns: a node sits as far left as the earliest place it has in any chain; states last,
  // with one column before them for the negative-finding markers.
  const column = new Map<string, number>([[a.subject, 0]]);
  const longest = Math.max(0, ...links.map((l) => l.via.length));
  const stateColumn = longest + 2;
  for (const l of links) {
    l.via.forEach((v, i) => {
      const earlier = column.get(v);
      if (earlier === undefined || earlier > i + 1) column.set(v, i + 1);
    });
  }
  for (const s of [...links.map((l) => l.state), ...findings.map((f) => f.state)]) column.set(s, stateColumn);

  const elements: ElementDefinition[] = [];
  const nodeIds = new Set<string>();
  const addNode = (iri: string, extra: string[] = []) => {
    if (nodeIds.has(iri)) return;
    nodeIds.add(iri);
    const kind = kinds.get(iri) ?? (column.get(iri) === stateColumn ? "state" : "other");
    elements.push({ group: "nodes", data: { id: iri, iri, kind, label: `${wrapLabel(name(iri))}\n(${kind})` },
      classes: [`kind-${kind}`, ...extra].join(" ") });
  };
  addNode(a.subject, ["subject", ...(disputed ? ["conflict"] : [])]);

  const words: GraphModel["words"] = [];
  const arcs = new Map<string, number>(); // conclusions drawn so far per state: each gets its own arc
  const steps = new Set<string>();
  for (const l of links) {
    const chain = [a.subject, ...l.via, l.state];
    chain.forEach((n) => addNode(n));
    for (let i = 0; i + 1 < chain.length && l.via.length > 0; i++) {
      const id = `step ${chain[i]} ${chain[i + 1]}`;
      if (steps.has(id)) continue;
      steps.add(id);
      elements.push({ group: "edges", data: { id, source: chain[i], target: chain[i + 1] }, classes: "step" });
    }
    const k = arcs.get(l.state) ?? 0;
    arcs.set(l.state, k + 1);
    const flagged = contested.has(l.state);
    elements.push({
      group: "edges",
      data: { id: l.link, link: l.link, source: a.subject, target: l.state, grade: l.grade, colour: GRADE_COLOURS[l.grade] ?? "#424242",
        label: `${flagged ? "⚠ " : ""}${l.grade} · ${l.confidence}`, arc: -(55 + 34 * k) },
      classes: ["conclusion", l.directness === "inferred" ? "inferred" : "direct", flagged ? "conflict" : ""].join(" "),
    });
    words.push({ node: l.link, text: linkWords(a, l, name, flagged) });
  }
  for (const f of findings) {
    addNode(f.state);
    const marker = `finding ${f.finding}`;
    const organ = f.via.length ? ` to ${f.via.map(name).join(", ")}` : "";
    elements.push({ group: "nodes", data: { id: marker, link: f.finding, kind: "negative-finding",
      label: wrapLabel(`⊘ not directly linked${organ}`, 60) + `\nper ${wrapLabel(f.sources.join("; "), 60)}` }, classes: "negative" });
    column.set(marker, stateColumn - 1);
    elements.push({ group: "edges", data: { id: `${marker} from`, source: a.subject, target: marker, link: f.finding }, classes: "negative-edge" });
    elements.push({ group: "edges", data: { id: `${marker} to`, source: marker, target: f.state, link: f.finding }, classes: "negative-edge to-state" });
    words.push({ node: f.finding, text: `${name(a.subject)} ⊘ ${name(f.state)}: not directly linked${organ} (negative finding, per ${f.sources.join("; ")}; drawn as a ⊘ marker)` });
  }
  for (const c of a.conflicts.filter((c) => !c.state)) {
    words.push({ node: c.conflict, text: `⚠ ${name(a.subject)}: a claim its conclusions rest on is disputed (${c.kind}; the subject is ringed)` });
  }
  // Read top down instead when left to right would be much wider than the box it is drawn in (a
  // long chain to one state, as in the seed case): the labels stay legible. Not with several
  // states, which stack in the last column, nor with several conclusions to one state: their
  // arcs' labels stack only when the arcs run left to right.
  const states = new Set([...links.map((l) => l.state), ...findings.map((f) => f.state)]);
  const widest = Math.max(0, ...arcs.values());
  const across = stateColumn * COLUMN / Math.max(ROW, (Math.max(1, ...countPerColumn(column).values()) - 1) * ROW);
  const down = states.size === 1 && widest <= 2 && across > 1.5 * aspect;
  position(elements, column, down);
  if (down) {
    for (const el of elements) {
      if (el.group === "nodes") el.classes = `${el.classes ?? ""} down`;
      else if (el.data.arc !== undefined) el.data.arc = -(el.data.arc as number);
    }
  }
  return { elements, words, drawnLinks: links.length, drawnFindings: findings.length };
}

function linkWords(a: Attribution, l: Link, name: (iri: string) => string, flagged: boolean): string {
  const via = l.via.length ? `, via ${l.via.map(name).join(" → ")}` : "";
  const line = l.directness === "inferred" ? "dashed line" : "solid line";
  return `${name(a.subject)} → ${name(l.state)}: ${l.grade}, ${l.directness} (${line})${via}, confidence ${l.confidence} (${l.confidence_label})` +
    (flagged ? "; ⚠ sources conflict about this subject and state" : "");
}

const COLUMN = 175;
const ROW = 95;
/** Top down, a row per step of the chains and room to the right for the labels. */
const DOWN_ROW = 110;
const DOWN_COLUMN = 300;

function countPerColumn(column: Map<string, number>): Map<number, number> {
  const counts = new Map<number, number>();
  for (const c of column.values()) counts.set(c, (counts.get(c) ?? 0) + 1);
  return counts;
}

/** Place each node in its column, top down; the markers under the tallest column, before the states (or, top down, transposed). */
function position(elements: ElementDefinition[], column: Map<string, number>, down: boolean): void {
  const at = (c: number, i: number) => (down ? { x: i * DOWN_COLUMN, y: c * DOWN_ROW } : { x: c * COLUMN, y: i * ROW });
  const byColumn = new Map<number, ElementDefinition[]>();
  for (const el of elements) {
    if (el.group !== "nodes" || el.data.kind === "negative-finding") continue;
    const c = column.get(el.data.id as string) ?? 1;
    byColumn.set(c, [...(byColumn.get(c) ?? []), el]);
  }
  let tallest = 0;
  for (const [c, nodes] of byColumn) {
    tallest = Math.max(tallest, nodes.length);
    nodes.forEach((el, i) => { el.position = at(c, i); });
  }
  const markers = elements.filter((el) => el.group === "nodes" && el.data.kind === "negative-finding");
  // A marker's label runs to four lines: more room between them than between nodes.
  markers.forEach((el, i) => { el.position = at(column.get(el.data.id as string) ?? 1, tallest + i * 1.5); });
}

export const STYLE: StylesheetJson = [
  { selector: "node", style: {
    label: "data(label)", "text-wrap": "wrap", "text-max-width": "150px", "font-size": 12, color: "#1a1a1a",
    "text-valign": "bottom", "text-margin-y": 4, width: 30, height: 30, "border-width": 1, "border-color": "#ffffff",
    "text-background-color": "#ffffff", "text-background-opacity": 0.85, "text-background-padding": "2px",
  } },
  ...Object.entries(KIND_STYLE).map(([kind, s]) => ({
    selector: `node.kind-${kind}`, style: { shape: s.shape, "background-color": s.colour },
  })) as StylesheetJson,
  { selector: "node.down", style: { "text-valign": "center", "text-halign": "right", "text-margin-x": 6, "text-margin-y": 0, "text-max-width": "220px" } },
  { selector: "node.subject", style: { width: 44, height: 44, "border-width": 3, "border-color": "#111111", "font-weight": "bold" } },
  { selector: "node.conflict", style: { "underlay-color": CONFLICT_COLOUR, "underlay-opacity": 0.5, "underlay-padding": 8, "underlay-shape": "ellipse" } },
  { selector: "node.negative", style: {
    shape: "octagon", "background-color": NEGATIVE_COLOUR, width: 24, height: 24, color: NEGATIVE_COLOUR, "font-weight": "bold",
  } },
  { selector: "edge", style: { "curve-style": "straight", width: 1.5, "line-color": "#9e9e9e", "target-arrow-shape": "triangle",
    "target-arrow-color": "#9e9e9e", "arrow-scale": 0.8 } },
  { selector: "edge.conclusion", style: {
    "curve-style": "unbundled-bezier", "control-point-distances": "data(arc)", "control-point-weights": 0.5,
    width: 4, "line-color": "data(colour)", "target-arrow-color": "data(colour)", "arrow-scale": 1.2,
    label: "data(label)", "font-size": 12, "font-weight": "bold", color: "data(colour)",
    "text-background-color": "#ffffff", "text-background-opacity": 1, "text-background-padding": "3px",
  } },
  { selector: "edge.inferred", style: { "line-style": "dashed", "line-dash-pattern": [9, 5] } },
  { selector: "edge.direct", style: { "line-style": "solid" } },
  { selector: "edge.conflict", style: { "underlay-color": CONFLICT_COLOUR, "underlay-opacity": 0.25, "underlay-padding": 3 } },
  // Dots, where inferred conclusions are dashes: a negative finding is never read as a link.
  { selector: "edge.negative-edge", style: { "line-color": NEGATIVE_COLOUR, "line-style": "dashed", width: 3, "line-cap": "round",
    "line-dash-pattern": [0.1, 7], "target-arrow-shape": "none" } },
  { selector: "edge.negative-edge.to-state", style: { "target-arrow-shape": "tee", "target-arrow-color": NEGATIVE_COLOUR, "arrow-scale": 1.4 } },
  { selector: ":selected", style: { "overlay-color": "#000000", "overlay-opacity": 0.15, "overlay-padding": 6 } },
];

type Cytoscape = typeof import("cytoscape");
let library: Promise<Cytoscape> | null = null;

/** Start loading Cytoscape.js (a third of the bundle, in its own file) while the API is being asked. */
export function loadGraphLibrary(): Promise<Cytoscape> {
  library ??= import("cytoscape").then((module) => module.default);
  return library;
}

/** Draw the model in a container; `onLink` hears which conclusion or finding was clicked, `onNode` which entity. */
export async function drawGraph(container: HTMLElement, model: GraphModel, onLink: (iri: string) => void,
  onNode: (iri: string) => void): Promise<Core> {
  const cytoscape = await loadGraphLibrary();
  const cy = cytoscape({
    container, elements: model.elements, style: STYLE, layout: { name: "preset", fit: true, padding: 40 },
    minZoom: 0.15, maxZoom: 3, boxSelectionEnabled: false,
  });
  // A small graph is not blown up past its natural size.
  if (cy.zoom() > 1.1) { cy.zoom(1.1); cy.center(); }
  cy.on("tap", "edge.conclusion, node.negative, edge.negative-edge", (event) => onLink(event.target.data("link")));
  cy.on("tap", "node[iri]", (event) => onNode(event.target.data("iri")));
  return cy;
}
