// Find: search entities by label or IRI as you type (GET /entities), the latest sources, the
// conflicts waiting for review (GET /conflicts) and the latest changes (GET /changes).

import { call, explainError, getJSON, hasEndpoint } from "../api";
import { entityHref, h, note, replace, shortIri, sourceHref } from "../dom";
import { quote, renderValue } from "../render";
import type { Entity } from "../types";

const SOURCES_GRAPH = "https://w3id.org/fimigraph/graph/sources";
const RECENT = 10;

export function findPage(main: HTMLElement): void {
  replace(main,
    h("h1", null, "Find"),
    search(),
    h("div", { class: "find-columns" },
      section("recent-sources", "Latest sources", recentSources),
      section("conflicts", "Conflicts waiting for review", conflicts),
      section("changes", "Latest changes", changes)));
}

function section(id: string, title: string, fill: (box: HTMLElement) => Promise<void>): HTMLElement {
  const box = h("div", { "aria-live": "polite" }, note("Loading…"));
  void fill(box).then(() => { box.dataset.state = "ready"; }, (err) => { replace(box, note(explainError(err), "error")); box.dataset.state = "error"; });
  return h("section", { id, class: "card", "aria-labelledby": `${id}-title` }, h("h2", { id: `${id}-title` }, title), box);
}

/** The type-ahead: an ARIA combobox whose options are entities; Enter or a click opens one. */
function search(): HTMLElement {
  const input = h("input", {
    id: "find-input", type: "search", role: "combobox", "aria-autocomplete": "list", "aria-expanded": "false",
    "aria-controls": "find-options", autocomplete: "off", spellcheck: "false", placeholder: "a label (e.g. boycott, Azerbaijan) or an IRI",
    maxlength: 200,
  });
  const list = h("ul", { id: "find-options", role: "listbox", "aria-label": "Entities found", class: "options", hidden: true });
  const status = h("p", { class: "muted", role: "status", id: "find-status" });
  let found: Entity[] = [];
  let active = -1;
  let pending: AbortController | null = null;
  let timer: number | undefined;

  const go = (e: Entity) => { location.hash = e.kind === "source" ? sourceHref(e.iri) : entityHref(e.iri); };
  const show = () => {
    replace(list, found.map((e, i) => h("li", {
      id: `find-option-${i}`, role: "option", "aria-selected": i === active ? "true" : "false", class: "option",
      "aria-describedby": `find-option-${i}-iri`,
      onmousedown: (event: Event) => { event.preventDefault(); go(e); },
    }, h("span", { class: "option-label" }, e.label ?? shortIri(e.iri)), " ", h("span", { class: "kind-badge" }, e.kind),
      // The IRI describes the option rather than naming it: read after the label and kind, not as part of them.
      h("span", { class: "option-iri", id: `find-option-${i}-iri`, "aria-hidden": "true" }, e.iri))));
    list.hidden = found.length === 0;
    input.setAttribute("aria-expanded", found.length ? "true" : "false");
    if (active >= 0) input.setAttribute("aria-activedescendant", `find-option-${active}`);
    else input.removeAttribute("aria-activedescendant");
  };
  const ask = async (text: string) => {
    pending?.abort();
    pending = new AbortController();
    try {
      found = await getJSON<Entity[]>("entities", { q: text, limit: 12 }, pending.signal);
      active = -1;
      status.textContent = found.length ? `${found.length} found; arrow keys to choose, Enter to open.` : `Nothing found for “${text}”.`;
      show();
    } catch (err) {
      if ((err as Error).name === "AbortError") return;
      found = [];
      show();
      status.textContent = explainError(err);
    }
  };
  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    const text = input.value.trim();
    if (!text) { found = []; show(); status.textContent = ""; return; }
    // A short pause: one request per burst of typing, not per key.
    timer = window.setTimeout(() => void ask(text), 150);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" && found.length) { active = (active + 1) % found.length; show(); event.preventDefault(); }
    else if (event.key === "ArrowUp" && found.length) { active = (active - 1 + found.length) % found.length; show(); event.preventDefault(); }
    else if (event.key === "Enter") { const e = found[active >= 0 ? active : 0]; if (e) go(e); event.preventDefault(); }
    else if (event.key === "Escape") { found = []; show(); }
  });
  input.addEventListener("blur", () => { list.hidden = true; input.setAttribute("aria-expanded", "false"); });
  input.addEventListener("focus", () => { if (found.length) show(); });
  return h("div", { class: "search" }, h("label", { for: "find-input" }, "Search entities by label or IRI"), input, list, status);
}

interface SparqlJson { results: { bindings: Record<string, { value: string }>[] } }

/** The latest sources by submission time, asked of /sparql (the public API: the caller sees what it may see). */
async function recentSources(box: HTMLElement): Promise<void> {
  const query = `PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?source ?id ?submitted (SAMPLE(?name) AS ?title) WHERE {
  GRAPH <${SOURCES_GRAPH}> { ?source dcterms:dateSubmitted ?submitted ; dcterms:identifier ?id }
  OPTIONAL { GRAPH <${SOURCES_GRAPH}> { ?source rdfs:label|dcterms:title ?name } }
} GROUP BY ?source ?id ?submitted ORDER BY DESC(?submitted) ?id LIMIT ${RECENT}`;
  const answer = (await (await call("sparql", { method: "POST", body: new URLSearchParams({ query }),
    contentType: "application/x-www-form-urlencoded", accept: "application/sparql-results+json" })).json()) as SparqlJson;
  const rows = answer.results.bindings;
  if (!rows.length) {
    replace(box, h("p", null, "No source is loaded yet. ", h("a", { href: "#/ingest" }, "Ingest one"), "."));
    return;
  }
  replace(box, h("ul", { class: "plain recent" }, rows.map((r) => h("li", null,
    h("a", { href: sourceHref(r.id.value) }, r.title?.value ?? r.source.value), h("br"),
    h("span", { class: "muted" }, `${r.id.value} · submitted ${r.submitted.value}`)))));
}

/** GET /conflicts, where the server has it: each conflict with its sides, their sources and quotes. */
async function conflicts(box: HTMLElement): Promise<void> {
  if (!(await hasEndpoint("conflicts"))) {
    replace(box, note("This server has no /conflicts endpoint (it answers 404): its version does not list conflicts to review yet. Query 05-conflicts on the SPARQL page lists them.", "warning"));
    return;
  }
  const response = await call("conflicts", { params: { limit: RECENT } });
  const items = listOf(await response.json(), "conflicts");
  if (!items.length) { replace(box, h("p", null, "No conflict to review.")); return; }
  const total = Number(response.headers.get("X-Total-Count") ?? items.length);
  replace(box, total > items.length ? h("p", { class: "muted" }, `${items.length} of ${total} conflicts; open a subject to see all of its own.`) : null,
    h("ul", { class: "plain" }, items.slice(0, RECENT).map((c) => h("li", { class: "conflict-item" }, conflictItem(c)))));
}

function conflictItem(c: Record<string, unknown>): Node[] {
  const subject = (c.subject as string | undefined) ?? undefined;
  const head = h("p", null, h("strong", null, String(c.kind ?? "conflict")),
    subject ? [" about ", h("a", { href: entityHref(subject, c.conflict as string | undefined) }, String(c.subject_label ?? shortIri(subject)))] : "",
    c.state ? ` and ${c.state_label ?? shortIri(String(c.state))}` : "");
  const sides = Array.isArray(c.sides) ? c.sides as Record<string, unknown>[] : null;
  if (!sides) return [head, renderValue(c)];
  return [head, h("details", null, h("summary", null, `both sides, with their sources (${sides.length} sides)`),
    h("ul", { class: "plain sides" }, sides.map((s) => h("li", null, h("span", { class: "tag" }, String(s.type ?? "side")),
      (Array.isArray(s.sources) ? s.sources as Record<string, string | null>[] : []).map((src) =>
        h("div", null, src.source ? h("a", { href: sourceHref(src.source) }, src.source_label ?? shortIri(src.source)) : "", quote(src.quote)))))))];
}

/** GET /changes, where the server has it: the latest changes, newest first (the log runs oldest first). */
async function changes(box: HTMLElement): Promise<void> {
  if (!(await hasEndpoint("changes"))) {
    replace(box, note("This server has no /changes endpoint (it answers 404): its version does not keep a change log yet.", "warning"));
    return;
  }
  const first = await call("changes", { params: { limit: 1 } });
  const total = Number(first.headers.get("X-Total-Count") ?? "0");
  const answer = total > 1 ? await getJSON<unknown>("changes", { limit: RECENT, offset: Math.max(0, total - RECENT) }) : await first.json();
  const items = listOf(answer, "changes");
  if (!items.length) { replace(box, h("p", null, "No change recorded yet.")); return; }
  replace(box, h("ul", { class: "plain" }, items.slice(-RECENT).reverse().map((c) => h("li", { class: "change-item" }, changeItem(c)))));
}

interface Effect { effect?: string; text?: string; conclusion?: string; subject?: string | null }

/** One change-log entry: what happened to which source, when and by whom, then what it changed in the conclusions. */
export function changeItem(c: Record<string, unknown>): Node[] {
  const sourceId = (c.source_id ?? c.source) as string | undefined;
  const verb = ({ ingest: "loaded", replace: "replaced", retract: "retracted" } as Record<string, string>)[String(c.kind)] ?? String(c.kind ?? "changed");
  const when = (c.started ?? c.at) as string | undefined;
  const effects = Array.isArray(c.effects) ? c.effects as Effect[] : null;
  if (!effects) return [h("p", null, String(c.summary ?? "")), renderValue(c)];
  const shown = effects.slice(0, 8);
  return [
    h("p", null, h("strong", null, verb), " ",
      sourceId && c.kind !== "retract" ? h("a", { href: sourceHref(sourceId) }, String(c.source_label ?? sourceId)) : String(c.source_label ?? sourceId ?? ""),
      h("span", { class: "muted" }, `${when ? ` · ${when.slice(0, 19).replace("T", " ")} UTC` : ""}${c.actor ? ` · by ${c.actor}` : ""}`)),
    effects.length ? h("ul", { class: "effects" }, shown.map((e) => h("li", null,
      // A conclusion that was added or changed can be opened; one that was removed is gone.
      e.subject && e.conclusion && e.effect !== "removed" ? h("a", { href: entityHref(e.subject, e.conclusion) }, e.text ?? e.effect ?? "")
        : e.text ?? e.effect ?? "")),
      effects.length > shown.length ? h("li", { class: "muted" }, `and ${effects.length - shown.length} more`) : null)
      : h("p", { class: "muted" }, "No conclusion changed."),
  ];
}

/** The list an answer carries: the answer itself, or its field of that name. */
export function listOf(answer: unknown, field: string): Record<string, unknown>[] {
  if (Array.isArray(answer)) return answer as Record<string, unknown>[];
  const inner = (answer as Record<string, unknown> | null)?.[field];
  return Array.isArray(inner) ? inner as Record<string, unknown>[] : [];
}
