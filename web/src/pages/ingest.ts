// Ingest: send one source document to POST /sources in the format it is written in; on a
// refusal, say why (the SHACL report field by field, or the line of a syntax error); on
// success, what it added and, where the server keeps a change log, what it changed.

import { ApiError, call, explainError, getJSON, hasEndpoint } from "../api";
import { h, note, replace, shortIri, sourceHref } from "../dom";
import { changeItem, listOf } from "./find";
import type { ShaclResult } from "../types";

const FORMATS: [string, string][] = [
  ["text/turtle", "Turtle (.ttl)"],
  ["application/trig", "TriG (.trig)"],
  ["application/ld+json", "JSON-LD (.jsonld)"],
  ["application/stix+json", "STIX 2.1 bundle (.json)"],
  ["application/n-triples", "N-Triples (.nt)"],
  ["application/n-quads", "N-Quads (.nq)"],
  ["application/rdf+xml", "RDF/XML (.rdf, .owl)"],
];

const BY_EXTENSION: Record<string, string> = {
  ttl: "text/turtle", trig: "application/trig", jsonld: "application/ld+json", nt: "application/n-triples",
  nq: "application/n-quads", rdf: "application/rdf+xml", owl: "application/rdf+xml", xml: "application/rdf+xml",
};

/** The format a file is in, from its name and, for .json, its content (a STIX bundle says "type": "bundle"). */
export async function guessFormat(file: File): Promise<string> {
  const ext = file.name.toLowerCase().split(".").pop() ?? "";
  if (BY_EXTENSION[ext]) return BY_EXTENSION[ext];
  if (ext === "json") {
    try {
      const doc = JSON.parse(await file.text());
      return doc && doc.type === "bundle" ? "application/stix+json" : "application/ld+json";
    } catch {
      return "application/ld+json";
    }
  }
  return "text/turtle";
}

export function ingestPage(main: HTMLElement): void {
  const fileInput = h("input", { id: "ingest-file", type: "file", required: true,
    accept: ".ttl,.trig,.jsonld,.json,.nt,.nq,.rdf,.owl,.xml" });
  const format = h("select", { id: "ingest-format" }, FORMATS.map(([value, label]) => h("option", { value }, label)));
  const replaceBox = h("input", { id: "ingest-replace", type: "checkbox" });
  const result = h("div", { id: "ingest-result", "aria-live": "polite" });
  fileInput.addEventListener("change", async () => {
    const file = fileInput.files?.[0];
    if (file) format.value = await guessFormat(file);
  });
  const submit = h("button", { type: "submit" }, "Upload");
  const form = h("form", { class: "ingest", onsubmit: (event: Event) => { event.preventDefault(); void upload(); } },
    h("p", null, h("label", { for: "ingest-file" }, "Source document"), fileInput),
    h("p", null, h("label", { for: "ingest-format" }, "Format"), format,
      h("span", { class: "muted" }, " (chosen from the file; change it if it is wrong)")),
    h("p", null, replaceBox, h("label", { for: "ingest-replace" }, " Replace the source if it is loaded already")),
    h("p", null, submit));

  const upload = async () => {
    const file = fileInput.files?.[0];
    if (!file) return;
    submit.disabled = true;
    result.dataset.state = "loading";
    replace(result, note(`Validating and loading ${file.name}…`));
    try {
      const response = await call("sources", { method: "POST", body: file, contentType: format.value,
        params: { replace: replaceBox.checked || undefined } });
      replace(result, ...(await loaded(await response.json(), file.name)));
      result.dataset.state = "loaded";
    } catch (err) {
      replace(result, ...refused(err, file.name));
      result.dataset.state = "refused";
    } finally {
      submit.disabled = false;
    }
  };

  replace(main, h("h1", null, "Ingest a source"),
    h("p", null, "One document per source: its claims, each with the verbatim quote it rests on (see docs/writing-sources.md). ",
      "It is checked against the SHACL shapes first; nothing is written unless all of it passes."),
    form, result);
}

interface Loaded {
  id: string; iri: string; triples: number; claims: number; replaced: boolean; inferred: number; warnings: string[];
  /** The change log's record of this upload, where the server keeps one. */
  change?: string;
}

async function loaded(body: Loaded, name: string): Promise<Node[]> {
  const out: Node[] = [
    h("h2", null, `Loaded ${name}`),
    h("p", { role: "status" }, `Source `, h("a", { href: sourceHref(body.id) }, body.id), ` (${body.iri}) ${body.replaced ? "replaced" : "added"}: `,
      `${plural(body.claims, "claim")}, ${plural(body.triples, "triple")}; the inferred graph now holds ${plural(body.inferred, "triple")}.`),
  ];
  if (body.warnings?.length) out.push(h("ul", { class: "warnings" }, body.warnings.map((w) => h("li", null, w))));
  out.push(h("h3", null, "What changed"));
  if (!(await hasEndpoint("changes"))) {
    out.push(note("This server has no /changes endpoint (it answers 404): its version does not keep a change log, so it cannot say which conclusions this source added, removed or regraded.", "warning"));
    return out;
  }
  try {
    // This upload's own entry (the answer names it), else the source's latest.
    const entries = listOf(await getJSON<unknown>("changes", { source: body.id, limit: 1000 }), "changes");
    const entry = entries.find((c) => body.change && c.change === body.change) ?? entries[entries.length - 1];
    out.push(entry ? h("div", { class: "change-item" }, changeItem(entry)) : h("p", null, "The change log has no entry for this source."));
  } catch (err) {
    out.push(note(explainError(err), "error"));
  }
  return out;
}

/** Why the server refused the document, as the user can act on it. */
function refused(err: unknown, name: string): Node[] {
  if (!(err instanceof ApiError)) return [note(explainError(err), "error")];
  const heading = h("h2", null, `${name} was not loaded`);
  const results = err.problem.results as ShaclResult[] | undefined;
  if (err.status === 422 && Array.isArray(results)) {
    return [heading,
      h("p", { role: "alert" }, `It breaks the SHACL shapes ${results.length} time${results.length === 1 ? "" : "s"}; nothing was written. Fix these fields and upload it again:`),
      h("div", { class: "table-scroll" }, h("table", { class: "shacl-report" },
        h("caption", null, "SHACL report, by field"),
        h("thead", null, h("tr", null, ["focus node", "field", "problem", "found"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", null, results.map((r) => h("tr", null,
          h("td", { title: r.focus_node ?? "" }, r.focus_node ? shortIri(r.focus_node) : "—"),
          h("td", { title: r.path ?? "" }, r.path ? compact(r.path) : "—"),
          h("td", null, r.message ?? "—", r.severity && r.severity !== "Violation" ? ` (${r.severity})` : ""),
          h("td", null, r.found ?? "(nothing)"))))))];
  }
  const advice: Record<number, string> = {
    400: "The document could not be read: the line and column are named above.",
    409: "A source with this IRI is loaded already: tick “Replace” to replace it.",
    413: "The document is larger than the server accepts.",
    415: "The server does not read this format: choose the right one above.",
  };
  return [heading, note(explainError(err), "error"), advice[err.status] ? h("p", null, advice[err.status]) : null].filter(Boolean) as Node[];
}

const PREFIXES: [string, string][] = [
  ["fimi:", "https://w3id.org/fimigraph/ontology#"], ["dcterms:", "http://purl.org/dc/terms/"],
  ["rdfs:", "http://www.w3.org/2000/01/rdf-schema#"], ["rdf:", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"],
];

/** fimi:confidence for the ontology's IRI: the name a source's author writes. */
function compact(iri: string): string {
  for (const [prefix, ns] of PREFIXES) if (iri.startsWith(ns)) return prefix + iri.slice(ns.length);
  return iri;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
