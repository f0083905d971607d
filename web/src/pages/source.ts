// A source: what the store says about it (GET /sources/{id}), its claims as Turtle, and the
// document as submitted (GET /sources/{id}/original, where the server keeps it).

import { call, explainError, getJSON, hasEndpoint } from "../api";
import { h, note, replace } from "../dom";
import type { SourceInfo } from "../types";

export async function sourcePage(main: HTMLElement, params: URLSearchParams): Promise<void> {
  const id = params.get("id");
  if (!id) { replace(main, h("h1", null, "Source"), note("No source given.", "warning")); return; }
  replace(main, h("h1", null, "Source"), note("Loading…"));
  let info: SourceInfo;
  try {
    info = await getJSON<SourceInfo>(`sources/${encodeURIComponent(id)}`);
  } catch (err) {
    replace(main, h("h1", null, "Source"), note(explainError(err), "error"));
    return;
  }
  const view = h("div", { "aria-live": "polite" });
  const show = async (path: string, accept: string) => {
    replace(view, note("Loading…"));
    try {
      const text = await (await call(path, { accept })).text();
      replace(view, h("pre", { class: "document", tabindex: "0" }, text));
    } catch (err) {
      replace(view, note(explainError(err), "error"));
    }
  };
  const original = `sources/${encodeURIComponent(info.id)}/original`;
  const hasOriginal = await hasEndpoint(original);
  const rows: [string, string | null | number][] = [
    ["id", info.id], ["IRI", info.iri], ["publisher", info.publisher], ["issued", info.issued],
    ["types", info.types.map((t) => t.replace(/^.*[#/]/, "")).join(", ")], ["claims", info.claims], ["submitted", info.submitted],
  ];
  replace(main,
    h("h1", null, info.title ?? info.id),
    h("dl", { class: "figures" }, rows.flatMap(([k, v]) => [h("dt", null, k), h("dd", null, v === null ? "—" : String(v))])),
    h("p", { class: "actions" },
      h("button", { type: "button", onclick: () => show(`sources/${encodeURIComponent(info.id)}`, "text/turtle") }, "Claims and metadata as Turtle"),
      " ",
      hasOriginal ? h("button", { type: "button", onclick: () => show(original, "*/*") }, "The document as submitted")
        : h("span", { class: "muted" }, "This server has no /sources/{id}/original endpoint: it does not keep the document as submitted.")),
    view);
}
