// Small renderers shared by the pages: answers whose shape this version of the workbench does
// not know in detail (a newer server's) are still shown whole, as nested lists.

import { h, shortIri } from "./dom";

/** "valid_from" → "valid from". */
export function humanize(key: string): string {
  return key.replace(/_/g, " ");
}

/** Any JSON value as readable nested lists: keys as terms, IRIs as text, nothing dropped. */
export function renderValue(value: unknown, depth = 0): Node {
  if (value === null || value === undefined) return document.createTextNode("—");
  if (Array.isArray(value)) {
    if (value.length === 0) return document.createTextNode("none");
    if (depth > 6) return document.createTextNode(`${value.length} items`);
    return h("ul", { class: "plain" }, value.map((v) => h("li", null, renderValue(v, depth + 1))));
  }
  if (typeof value === "object") {
    if (depth > 6) return document.createTextNode("…");
    return h("dl", { class: "kv" }, Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => [
      h("dt", null, humanize(k)), h("dd", null, renderValue(v, depth + 1)),
    ]));
  }
  return document.createTextNode(String(value));
}

/** A label with its IRI at hand (as a tooltip), or the IRI's last segment when there is no label. */
export function named(iri: string | null | undefined, label?: string | null): HTMLElement {
  if (!iri) return h("span", null, label ?? "—");
  return h("span", { class: "named", title: iri }, label || shortIri(iri));
}

/** A quote exactly as the source has it. */
export function quote(text: string | null | undefined): HTMLElement {
  return text ? h("blockquote", { class: "quote" }, `“${text}”`) : h("p", { class: "muted" }, "(no quote)");
}
