// Building DOM from data. Text always goes in as text nodes (never as HTML): labels, quotes and
// messages come from sources anyone may have written.

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** An element with attributes (`on…` ones become listeners, `false`/`null` ones are left out) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

/** Append children (text, nodes, nested lists) to an element. */
export function append(el: Element, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace an element's content. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** The last path segment of an IRI, for when nothing better names it. */
export function shortIri(iri: string): string {
  const tail = iri.replace(/[/#]+$/, "").split(/[/#]/).pop();
  return tail || iri;
}

/** The workbench's own link to an entity's page. */
export function entityHref(iri: string, link?: string): string {
  const params = new URLSearchParams({ iri });
  if (link) params.set("link", link);
  return `#/entity?${params}`;
}

/** The workbench's own link to a source's page. */
export function sourceHref(idOrIri: string): string {
  return `#/source?${new URLSearchParams({ id: idOrIri })}`;
}

/** "2023-07-26 – 2023-07-27", "from 2023-07-26", or "—" when no bound is known. */
export function interval(from: string | null | undefined, until: string | null | undefined): string {
  if (from && until) return `${from} – ${until}`;
  if (from) return `from ${from}`;
  if (until) return `until ${until}`;
  return "—";
}

/** A TLP marking as a badge coloured the way FIRST's TLP 2.0 prescribes. */
export function marking(value: string | null | undefined): HTMLElement {
  const text = value ?? "TLP:CLEAR";
  const cls = "tlp tlp-" + text.replace(/^TLP:/, "").toLowerCase().replace(/[^a-z]+/g, "-");
  return h("span", { class: cls }, text);
}

/** A paragraph that says what is going on (loading, empty, failed), read out by screen readers. */
export function note(text: string, kind: "info" | "error" | "warning" = "info"): HTMLElement {
  return h("p", { class: `note note-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}
