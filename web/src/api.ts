// The workbench's only way to the data: the service's public HTTP API, as the caller whose
// token the user pasted (or anonymously). Whatever the API would not show that caller, the
// page cannot show either.

const TOKEN_KEY = "fimigraph.token";

/** The bearer token the user pasted for this browser tab's session (null: anonymous). */
export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Keep a token for this tab's session (sessionStorage: gone when the tab closes), or forget it. */
export function setToken(value: string | null): void {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** The Authorization header to send, if the user gave a token. */
export function authHeaders(): Record<string, string> {
  const t = token();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

/** An RFC 9457 problem the API answered with (or a network failure, status 0). */
export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  [key: string]: unknown;
}

/** An error answer of the API. `missingEndpoint`: the server has no such route at all (it predates the feature). */
export class ApiError extends Error {
  constructor(readonly path: string, readonly status: number, readonly problem: Problem, readonly missingEndpoint = false) {
    super(problem.detail || problem.title || `HTTP ${status}`);
  }
}

/** A URL of the API, relative to the page: the workbench works wherever the service is mounted. */
export function apiUrl(path: string, params?: Record<string, string | number | boolean | string[] | undefined | null>): string {
  const url = new URL(path.replace(/^\//, ""), document.baseURI);
  for (const [key, value] of Object.entries(params ?? {})) {
    if (value === undefined || value === null) continue;
    for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(v));
  }
  return url.toString();
}

interface CallOptions {
  params?: Record<string, string | number | boolean | string[] | undefined | null>;
  accept?: string;
  method?: string;
  body?: BodyInit;
  contentType?: string;
  signal?: AbortSignal;
}

/** Call the API; resolve with the response when it is 2xx, reject with an ApiError otherwise. */
export async function call(path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: options.accept ?? "application/json", ...authHeaders() };
  if (options.contentType) headers["Content-Type"] = options.contentType;
  let response: Response;
  try {
    response = await fetch(apiUrl(path, options.params), { method: options.method ?? "GET", headers, body: options.body, signal: options.signal });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError(path, 0, { status: 0, title: "No answer", detail: `the server did not answer (${(err as Error).message})` });
  }
  if (response.ok) return response;
  let problem: Problem = { status: response.status, title: response.statusText };
  try {
    problem = { ...problem, ...(await response.json()) };
  } catch {
    // Not problem JSON (a proxy's page, say): keep the status line.
  }
  throw new ApiError(path, response.status, problem, response.status === 404 && !(await hasEndpoint(path)));
}

/** GET a JSON answer of the API. */
export async function getJSON<T>(path: string, params?: CallOptions["params"], signal?: AbortSignal): Promise<T> {
  return (await call(path, { params, signal })).json() as Promise<T>;
}

let endpoints: Promise<RegExp[] | null> | null = null;

/** The paths the server's OpenAPI description lists, as patterns (null: the server does not publish one). */
function knownEndpoints(): Promise<RegExp[] | null> {
  endpoints ??= fetch(apiUrl("openapi.json"), { headers: authHeaders() })
    .then((r) => (r.ok ? r.json() : null))
    .then((doc) => (doc && doc.paths ? Object.keys(doc.paths).map(pathPattern) : null))
    .catch(() => null);
  return endpoints;
}

/** "/sources/{source_id}/original" as a pattern that "/sources/abc/original" matches. */
function pathPattern(template: string): RegExp {
  const parts = template.split(/\{[^}]+\}/).map((part) => part.replace(/[.*+?^$()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join("[^/]+")}$`);
}

/** Whether this server offers an endpoint (e.g. "/changes"): features another version adds are shown only where they exist. */
export async function hasEndpoint(path: string): Promise<boolean> {
  const known = await knownEndpoints();
  const wanted = "/" + path.replace(/^\//, "").split("?")[0];
  // Without a description, assume it does: the call itself will tell (a 404).
  return known === null || known.some((pattern) => pattern.test(wanted));
}

/** What to tell the user about a failed call, in one sentence. */
export function explainError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.missingEndpoint) return `This server has no /${err.path.replace(/^\//, "")} endpoint (it answered 404): its version does not offer this yet.`;
    if (err.status === 401) return `The server wants a token to answer this (401): paste one under “API token”. ${err.problem.detail ?? ""}`.trim();
    if (err.status === 403) return `Your token does not allow this (403). ${err.problem.detail ?? ""}`.trim();
    return `${err.problem.title ?? "Error"} (${err.status || "no answer"}): ${err.message}`;
  }
  return `Unexpected error: ${(err as Error)?.message ?? String(err)}`;
}
