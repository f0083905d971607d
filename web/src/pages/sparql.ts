// SPARQL: YASGUI against this server's /sparql, one tab per analyst question shipped with
// fimigraph (GET /queries). Loaded only when this page opens: it is most of the bundle.

import Yasgui from "@zazuko/yasgui";
import "@zazuko/yasgui/build/yasgui.min.css";
import "./sparql.css";
import { apiUrl, authHeaders, explainError, getJSON } from "../api";
import { h, note, replace } from "../dom";
import type { StoredQuery } from "../types";

export async function sparqlPage(main: HTMLElement): Promise<void> {
  const question = h("p", { class: "question", "aria-live": "polite" });
  const box = h("div", { class: "yasgui-box" });
  const newTab = h("button", { type: "button" }, "New tab");
  replace(main, h("h1", null, "SPARQL"),
    h("p", null, "The questions analysts ask, ready to run against this store (the default graph is the union of all graphs). ",
      "Edit one, or open a new tab for your own; nothing here is saved. ", newTab),
    question, box);
  let queries: StoredQuery[] = [];
  try {
    queries = await getJSON<StoredQuery[]>("queries");
  } catch (err) {
    question.before(note(`The shipped questions could not be read: ${explainError(err)}`, "error"));
  }
  const endpoint = apiUrl("sparql");
  const yasgui = new Yasgui(box, {
    // This server only: no endpoint catalogue of public endpoints, no remote look-ups.
    requestConfig: { endpoint, method: "POST", headers: () => authHeaders() },
    copyEndpointOnNewTab: true,
    endpointCatalogueOptions: { getData: () => [{ endpoint }], keys: [] },
    persistenceId: null, // every visit starts from the shipped questions
    autoAddOnInit: false,
    populateFromUrl: false,
    // The class and property completers ask Linked Open Vocabularies on the internet; the others are local.
    yasqe: { autocompleters: ["prefixes", "variables"], resizeable: true, editorHeight: "320px" },
  } as ConstructorParameters<typeof Yasgui>[1]);
  newTab.addEventListener("click", () => { yasgui.addTab(true, { name: "my query" } as never); });
  accessible(box);
  const names = new Map<string, StoredQuery>();
  for (const [i, q] of queries.entries()) {
    // The first is opened: Yasgui selects a tab only from another one.
    const tab = yasgui.addTab(i === 0, { name: q.name.replace(/^\d+-/, "").replace(/-/g, " "), yasqe: { value: q.query }, requestConfig: { endpoint } } as never);
    names.set(tab.getId(), q);
  }
  if (!queries.length) yasgui.addTab(true, { name: "Query" } as never);
  const showQuestion = (id: string) => {
    const q = names.get(id);
    question.textContent = q?.question ? `${q.name}: ${q.question}` : "";
  };
  yasgui.on("tabSelect", (_y: unknown, id: string) => showQuestion(id));
  const first = [...names.keys()][0];
  if (first) showQuestion(first);
  main.dataset.state = "ready";
}

/** Names and roles YASGUI leaves out, filled in whenever it draws (a tab, an editor, a results table). */
function accessible(box: HTMLElement): void {
  const fix = () => {
    for (const tab of box.querySelectorAll<HTMLAnchorElement>("[role=tab]")) {
      // YASGUI draws a tab's panel when the tab is first opened: point at it only once it exists.
      const panel = tab.getAttribute("href")?.slice(1) ?? "";
      if (panel && document.getElementById(panel)) tab.setAttribute("aria-controls", panel);
      else tab.removeAttribute("aria-controls");
      tab.querySelector("input")?.setAttribute("aria-label", "Tab name");
    }
    const label = (selector: string, text: string) => {
      for (const el of box.querySelectorAll(selector)) if (!el.hasAttribute("aria-label")) el.setAttribute("aria-label", text);
    };
    label(".CodeMirror textarea", "SPARQL query");
    label("input.autocomplete", "SPARQL endpoint");
    label("select.tableSizer", "Rows per page");
    label(".yasr select", "Results format");
    // The editor's scrolling area (CodeMirror takes it out of the tab order), reachable by keyboard as well as its text.
    for (const el of box.querySelectorAll(".CodeMirror-scroll")) if (el.getAttribute("tabindex") !== "0") el.setAttribute("tabindex", "0");
  };
  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; fix(); });
  }).observe(box, { childList: true, subtree: true });
  fix();
}
