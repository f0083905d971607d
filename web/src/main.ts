// The workbench: a few pages behind hash routes (#/, #/entity?iri=…, #/sparql, #/ingest,
// #/source?id=…), so the server serves one file and every view has a URL to share.

import "./style.css";
import { setToken, token } from "./api";
import { h, replace } from "./dom";
import { findPage } from "./pages/find";
import { entityPage } from "./pages/entity";
import { ingestPage } from "./pages/ingest";
import { sourcePage } from "./pages/source";

type Page = (main: HTMLElement, params: URLSearchParams) => void | Promise<void>;

const pages: Record<string, { nav: string; title: string; render: Page }> = {
  "": { nav: "find", title: "Find", render: findPage },
  entity: { nav: "find", title: "Entity", render: entityPage },
  source: { nav: "find", title: "Source", render: sourcePage },
  sparql: { nav: "sparql", title: "SPARQL", render: (main) => import("./pages/sparql").then((m) => m.sparqlPage(main)) },
  ingest: { nav: "ingest", title: "Ingest", render: ingestPage },
};

let main = document.getElementById("main") as HTMLElement;
let shown: string | null = null;
let routed = false;

/** Show the page the URL's hash names (a change of parameters only on the same page is the page's own business). */
function route(): void {
  const hash = location.hash.replace(/^#\/?/, "");
  const [name, query = ""] = hash.split("?");
  const page = pages[name] ?? pages[""];
  const params = new URLSearchParams(query);
  const key = `${name}?${pageKey(name, params)}`;
  if (key === shown) {
    main.dispatchEvent(new CustomEvent("paramschange", { detail: params }));
    return;
  }
  shown = key;
  document.title = `${page.title} · fimigraph workbench`;
  for (const a of document.querySelectorAll<HTMLAnchorElement>("[data-nav]")) {
    if (a.dataset.nav === page.nav) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  // A new element: none of the old page's listeners or state (data-state) carries over.
  const fresh = h("main", { id: "main", tabindex: "-1" });
  main.replaceWith(fresh);
  main = fresh;
  Promise.resolve(page.render(fresh, params)).catch((err) => replace(fresh, h("p", { role: "alert" }, String(err))));
  // Keyboard and screen-reader users land on the new page's content, not back at the top.
  if (routed) fresh.focus({ preventScroll: true });
  routed = true;
}

/** What identifies one page's content: the entity page stays put while its open explanation changes. */
function pageKey(name: string, params: URLSearchParams): string {
  return name === "entity" ? params.get("iri") ?? "" : params.toString();
}

function tokenForm(): void {
  const form = document.getElementById("token-form") as HTMLFormElement;
  const input = document.getElementById("token-input") as HTMLInputElement;
  const state = document.getElementById("token-state") as HTMLElement;
  const show = () => { state.textContent = token() ? "token in use" : "anonymous"; };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setToken(input.value.trim() || null);
    input.value = "";
    show();
    shown = null; // the same page may now show more, or less
    route();
  });
  document.getElementById("token-forget")?.addEventListener("click", () => {
    setToken(null);
    input.value = "";
    show();
    shown = null;
    route();
  });
  show();
}

tokenForm();
window.addEventListener("hashchange", route);
route();
