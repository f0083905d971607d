// The explanation panel: why a conclusion holds (GET /explanations), the proof down to the
// sources' own words, the other ways it is derived, what retracting one claim would leave,
// and what a stronger grade would need (GET /explanations/why-not, where the server has it).

import { call, explainError, getJSON, hasEndpoint } from "./api";
import { entityHref, h, interval, marking, note, replace, sourceHref } from "./dom";
import { quote, renderValue } from "./render";
import { GRADES, type ClaimNode, type ConclusionNode, type Derivation, type Explanation } from "./types";

export interface ExplainContext {
  /** The conclusion's subject, state and grade, when it is an attribution link (for why-not). */
  subject?: string;
  state?: string;
  grade?: string;
  onClose: () => void;
}

/** Fill the panel with the explanation of one conclusion (link, negative finding or conflict). */
export async function showExplanation(panel: HTMLElement, node: string, context: ExplainContext, all = false): Promise<void> {
  panel.hidden = false;
  panel.dataset.state = "loading";
  panel.dataset.node = node;
  replace(panel, h("h2", { id: "explanation-title", tabindex: "-1" }, "Explanation"), note("Loading the explanation…"));
  let tree: Explanation;
  try {
    tree = await getJSON<Explanation>("explanations", { link: node, all: all || undefined });
  } catch (err) {
    if (panel.dataset.node !== node) return;
    replace(panel, h("h2", { id: "explanation-title", tabindex: "-1" }, "Explanation"), note(explainError(err), "error"));
    panel.dataset.state = "error";
    return;
  }
  if (panel.dataset.node !== node) return; // another conclusion was clicked meanwhile: its answer is the one to show
  const copyStatus = h("span", { role: "status", class: "copy-status" });
  const textBox = h("div", { class: "copy-fallback" });
  const title = h("h2", { id: "explanation-title", tabindex: "-1" }, `Explanation: ${headline(tree)}`);
  replace(panel,
    h("div", { class: "panel-head" },
      title,
      h("div", { class: "panel-actions" },
        h("button", { type: "button", onclick: () => copyText(node, all, copyStatus, textBox) }, "Copy as text"),
        h("button", { type: "button", onclick: context.onClose, "aria-label": "Close the explanation" }, "Close"),
        copyStatus)),
    textBox,
    h("p", { class: "summary" }, tree.summary),
    figures(tree),
    h("h3", null, "Proof"),
    h("p", { class: "muted" }, "The best derivation, down to the claims and the sources' own words. A conclusion that appears twice is expanded once."),
    h("div", { class: "proof" }, tree.best_derivation ? derivation(tree.best_derivation, 0) : note("No derivation is recorded for this conclusion.")),
    findings(tree),
    others(panel, node, tree, context),
    retracted(tree),
    whyNotSection(tree, context),
  );
  panel.dataset.state = "ready";
  title.focus();
}

function headline(t: ConclusionNode): string {
  const subject = t.subject_label ?? t.subject;
  const target = t.target_label ?? t.target ?? "";
  if (t.type === "attribution-link") return `${subject} → ${target}, ${t.grade}`;
  if (t.type === "negative-finding") return `${subject} not directly linked to ${target}`;
  return `conflict (${t.conflict_kind}) about ${subject}`;
}

function figures(t: Explanation): HTMLElement {
  const rows: [string, Node | string][] = [];
  if (t.grade) rows.push(["grade", t.grade]);
  if (t.directness) rows.push(["directness", t.directness]);
  if (t.confidence !== null && t.confidence !== undefined) rows.push(["confidence", `${t.confidence} (${t.confidence_label})`]);
  rows.push(["interval", interval(t.valid_from, t.valid_until)]);
  rows.push(["marking", marking(t.marking)]);
  if (t.via && t.via.length) rows.push(["via", t.via.map((v, i) => t.via_labels?.[i] ?? v).join(" → ")]);
  rows.push(["derivations", String(t.derivations ?? 0)]);
  if (t.sources?.length) rows.push(["sources", h("span", null, t.sources.map((s, i) => [i ? "; " : "", h("a", { href: sourceHref(s.source) }, s.label ?? s.source)]))]);
  return h("dl", { class: "figures" }, rows.flatMap(([k, v]) => [h("dt", null, k), h("dd", null, v)]));
}

/** One rule application: the rule, then its premises (claims, and conclusions with their own proof). */
function derivation(d: Derivation, depth: number): HTMLElement {
  return h("div", { class: "derivation" },
    h("p", { class: "rule" }, "rule: ", h("strong", { title: d.rule }, d.rule_label ?? d.rule),
      d.confidence !== null ? ` — confidence ${d.confidence} (${d.confidence_label})` : ""),
    d.rule_comment ? h("details", { class: "rule-comment" }, h("summary", null, "what this rule does"), h("p", null, d.rule_comment)) : null,
    h("ul", { class: "premises" }, d.premises.map((p) => h("li", null, p.type === "claim" ? claim(p as ClaimNode) : conclusion(p as ConclusionNode, depth + 1)))),
  );
}

function conclusion(c: ConclusionNode, depth: number): HTMLElement {
  const head = `${c.subject_label ?? c.subject} → ${c.target_label ?? c.target ?? ""}` +
    (c.grade ? `: ${c.grade}` : "") + (c.directness ? `, ${c.directness}` : "") +
    (c.confidence !== null && c.confidence !== undefined ? `, confidence ${c.confidence}` : "");
  const kind = c.type === "negative-finding" ? "not directly linked: " : c.type === "conflict" ? "conflict: " : "";
  if (c.expanded_above) return h("div", { class: "conclusion shared" }, h("p", null, kind + head, h("span", { class: "muted" }, " — its proof is shown above")));
  if (!c.best_derivation) return h("div", { class: "conclusion" }, h("p", null, kind + head, h("span", { class: "muted" }, " (proof in its own explanation)")));
  return h("details", { class: "conclusion", open: depth < 6 },
    h("summary", null, kind + head, c.via?.length ? h("span", { class: "muted" }, ` via ${c.via.map((v, i) => c.via_labels?.[i] ?? v).join(" → ")}`) : ""),
    derivation(c.best_derivation, depth));
}

function claim(c: ClaimNode): HTMLElement {
  const source = c.source.label ?? c.source.title ?? c.source.iri;
  return h("div", { class: "claim" + (c.disputed_by.length ? " disputed" : "") },
    h("p", { class: "statement" }, h("span", { class: "tag" }, "claim"), " ",
      h("a", { href: entityHref(c.subject) }, c.subject_label ?? c.subject), ` ${c.predicate_label ?? c.predicate} `,
      h("a", { href: entityHref(c.object) }, c.object_label ?? c.object)),
    quote(c.quote),
    h("p", { class: "claim-meta" },
      "source: ", h("a", { href: sourceHref(c.source.id ?? c.source.iri) }, source),
      c.source.publisher_label ? ` — ${c.source.publisher_label}` : "",
      ` · confidence ${c.confidence ?? "—"} (${c.confidence_label ?? "—"}) · ${c.evidence_type ?? "evidence type not given"} · `,
      marking(c.marking),
      c.valid_from || c.valid_until ? ` · valid ${interval(c.valid_from, c.valid_until)}` : "",
      c.role ? ` · role: ${c.role}` : "", c.claimed_grade ? ` · claimed grade: ${c.claimed_grade}` : ""),
    c.disputed_by.map((d) => h("div", { class: "dispute", role: "note" },
      h("strong", null, "⚠ Disputed"), ` by ${d.source_label ?? d.source}: `, quote(d.quote))),
  );
}

function findings(t: Explanation): HTMLElement | null {
  if (!t.not_directly_linked?.length) return null;
  return h("section", null, h("h3", null, "Not directly linked, say the sources"),
    h("ul", { class: "plain" }, t.not_directly_linked.map((f) => h("li", null, h("a", { href: sourceHref(f.source) }, f.source_label ?? f.source), quote(f.quote)))));
}

function others(panel: HTMLElement, node: string, t: Explanation, context: ExplainContext): HTMLElement | null {
  if (!t.other_derivations.length) return null;
  return h("section", null,
    h("h3", null, `Other derivations (${t.other_derivations.length + t.other_derivations_not_shown}), most confident first`),
    h("ol", { class: "others" }, t.other_derivations.map((d) => h("li", null,
      h("strong", null, d.rule_label ?? d.rule), ` — confidence ${d.confidence} (${d.confidence_label}): `,
      d.premises.map((p, i) => [i ? "; " : "", p.type === "claim" ? (p as ClaimNode).statement
        : `${p.subject_label ?? p.subject} → ${p.target_label ?? p.target ?? ""}${p.grade ? ` (${p.grade}, ${p.confidence})` : ""}`])))),
    t.other_derivations_not_shown ? h("button", { type: "button", onclick: () => showExplanation(panel, node, context, true) },
      `Show all (${t.other_derivations_not_shown} more)`) : null);
}

function retracted(t: Explanation): HTMLElement | null {
  if (!t.if_retracted?.length) return null;
  return h("section", null, h("h3", null, "If one claim were retracted"),
    h("table", null,
      h("thead", null, h("tr", null, h("th", { scope: "col" }, "without the claim"), h("th", { scope: "col" }, "strongest link left"))),
      h("tbody", null, t.if_retracted.map((r) => h("tr", null, h("td", null, r.statement),
        h("td", null, r.strongest_remaining_grade ?? "none (no link left)"))))));
}

/** What a stronger grade than this link's would need, asked of the server for the grade the user picks. */
function whyNotSection(t: Explanation, context: ExplainContext): HTMLElement | null {
  if (t.type !== "attribution-link" || !context.subject || !context.state || !context.grade) return null;
  const stronger = GRADES.slice(0, Math.max(0, GRADES.indexOf(context.grade as (typeof GRADES)[number])));
  const out = h("div", { class: "why-not-answer", "aria-live": "polite" });
  if (!stronger.length) return h("section", null, h("h3", null, "Why not stronger?"), h("p", null, `${context.grade} is the strongest grade there is.`));
  const select = h("select", { id: "why-not-grade" }, stronger.slice().reverse().map((g) => h("option", { value: g }, g)));
  const ask = async () => {
    replace(out, note("Asking the server…"));
    if (!(await hasEndpoint("explanations/why-not"))) {
      replace(out, note("This server has no /explanations/why-not endpoint (it would answer 404): its version cannot say what a stronger grade would need.", "warning"));
      return;
    }
    try {
      const answer = await getJSON<unknown>("explanations/why-not", { subject: context.subject, state: context.state, grade: select.value });
      replace(out, whyNot(answer));
    } catch (err) {
      replace(out, note(explainError(err), "error"));
    }
  };
  return h("section", null, h("h3", null, "Why not stronger?"),
    h("form", { class: "inline", onsubmit: (e: Event) => { e.preventDefault(); void ask(); } },
      h("label", { for: "why-not-grade" }, "What would make it "), select,
      h("button", { type: "submit" }, "Ask")),
    out);
}

/** The why-not answer: its summary, what a stronger link would need, what stands against it, then all it said. */
function whyNot(answer: unknown): HTMLElement {
  const a = (answer ?? {}) as Record<string, unknown>;
  const needed = Array.isArray(a.needed) ? a.needed as Record<string, unknown>[] : [];
  const against = (a.against ?? {}) as Record<string, unknown>;
  const findings = Array.isArray(against.not_directly_linked) ? against.not_directly_linked as Record<string, string | null>[] : [];
  return h("div", null,
    typeof a.summary === "string" ? h("p", { class: "summary" }, a.summary) : null,
    needed.length ? [h("h4", null, "It would need"), h("ul", null, needed.map((n) => h("li", null, typeof n.text === "string" ? n.text : renderValue(n))))] : null,
    findings.length ? [h("h4", null, "Against it"), h("ul", { class: "plain" }, findings.map((f) => h("li", null,
      f.source ? h("a", { href: sourceHref(f.source) }, f.source_label ?? f.source) : "", " could not link them directly: ", quote(f.quote))))] : null,
    h("details", null, h("summary", null, "Everything the server answered"), renderValue(a)));
}

/** Put the report text (GET /explanations as text/plain) on the clipboard; show it to copy by hand where the browser refuses. */
async function copyText(node: string, all: boolean, status: HTMLElement, fallback: HTMLElement): Promise<void> {
  try {
    const text = await (await call("explanations", { params: { link: node, all: all || undefined }, accept: "text/plain" })).text();
    try {
      await navigator.clipboard.writeText(text);
      status.textContent = "Copied the explanation as text.";
      replace(fallback);
    } catch {
      status.textContent = "The browser refused the clipboard: select the text below and copy it.";
      const area = h("textarea", { rows: 12, readonly: true, "aria-label": "The explanation as text" });
      area.value = text;
      replace(fallback, area);
      area.select();
    }
  } catch (err) {
    status.textContent = explainError(err);
  }
}

