// Builds the workbench into the Python package (service/fimigraph/web/dist), where the
// service serves it at / and pip installs it: no npm at install or run time.
import { readFileSync, existsSync, readdirSync } from "node:fs";
import { join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";

const WEB = fileURLToPath(new URL(".", import.meta.url));
const OUT = resolve(WEB, "../service/fimigraph/web/dist");

/** The package.json folder of a bundled module under node_modules (scoped packages included). */
function packageRoot(id: string): string | null {
  const marker = `${sep}node_modules${sep}`;
  const at = id.lastIndexOf(marker);
  if (at < 0) return null;
  const rest = id.slice(at + marker.length).split(sep);
  const name = rest[0].startsWith("@") ? rest.slice(0, 2).join(sep) : rest[0];
  return id.slice(0, at + marker.length) + name;
}

/** A package's folder and those of everything it depends on, transitively (npm's nested, then hoisted, layout). */
function withDependencies(root: string, found: Set<string>): void {
  if (found.has(root)) return;
  found.add(root);
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
    const nested = join(root, "node_modules", dep);
    const hoisted = join(WEB, "node_modules", dep);
    const where = existsSync(join(nested, "package.json")) ? nested : existsSync(join(hoisted, "package.json")) ? hoisted : null;
    if (where) withDependencies(where, found);
  }
}

const MIT = `Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, including without limitation the
rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit
persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of the
Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE
WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.`;

type Person = string | { name?: string; email?: string };
const person = (p: Person) => (typeof p === "string" ? p : [p.name, p.email && `<${p.email}>`].filter(Boolean).join(" "));

/** What stands for a licence file where a package ships none: its package.json's licence, authors and repository (and MIT's text). */
function withoutLicenceFile(pkg: { license?: string; author?: Person; contributors?: Person[]; repository?: string | { url?: string } }): string {
  const holders = [pkg.author, ...(pkg.contributors ?? [])].filter(Boolean).map((p) => person(p as Person));
  const repo = typeof pkg.repository === "string" ? pkg.repository : pkg.repository?.url;
  return [`(The package ships no licence file; its package.json says: licence ${pkg.license ?? "not given"}` +
    (holders.length ? `; copyright holders ${holders.join(", ")}` : "") + (repo ? `; source ${repo}` : "") + ".)",
    pkg.license === "MIT" ? `\nCopyright (c) ${holders.join(", ")}\n\n${MIT}` : ""].join("\n");
}

/** Writes THIRD-PARTY-LICENSES.txt: name, version, licence and licence text of every package whose code is in the bundle.
 *
 * A package that ships pre-bundled (YASGUI's build carries jQuery, DataTables, CodeMirror…) holds
 * code of its dependencies: every package a bundled one depends on is listed too. */
function thirdPartyLicenses(): Plugin {
  return {
    name: "third-party-licenses",
    generateBundle(_options, bundle) {
      const roots = new Set<string>();
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== "chunk") continue;
        for (const id of chunk.moduleIds) {
          const root = packageRoot(id.replace(/^\0/, "").split("?")[0]);
          if (root && existsSync(join(root, "package.json"))) withDependencies(root, roots);
        }
      }
      const entries = [...roots].map((root) => {
        const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
        const file = readdirSync(root).find((f: string) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
        const text = file ? readFileSync(join(root, file), "utf8").trim() : withoutLicenceFile(pkg);
        return { name: pkg.name as string, version: pkg.version as string, license: String(pkg.license ?? "see text"), text };
      }).sort((a, b) => a.name.localeCompare(b.name));
      const header = "Third-party software bundled in the fimigraph workbench (service/fimigraph/web/dist),\n" +
        "built from web/package-lock.json. Each package's name, version, licence and licence text.\n";
      const body = entries.map((e) => `${"=".repeat(78)}\n${e.name} ${e.version} (${e.license})\n${"=".repeat(78)}\n${e.text}\n`).join("\n");
      this.emitFile({ type: "asset", fileName: "THIRD-PARTY-LICENSES.txt", source: `${header}\n${body}` });
      this.emitFile({ type: "asset", fileName: "third-party-packages.json",
        source: JSON.stringify(entries.map(({ name, version, license }) => ({ name, version, license })), null, 1) + "\n" });
    },
  };
}

export default defineConfig({
  root: WEB,
  // Relative asset URLs: the page works wherever the service is mounted (e.g. behind a proxy under a path).
  base: "./",
  plugins: [thirdPartyLicenses()],
  build: {
    outDir: OUT,
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
    target: "es2022",
  },
  server: {
    // `npm exec vite` during development: the API of a `fimigraph serve` running on the default port.
    proxy: Object.fromEntries(["/attribution", "/explanations", "/entities", "/queries", "/sources", "/sparql",
      "/changes", "/conflicts", "/health", "/openapi.json"].map((p) => [p, "http://127.0.0.1:8000"])),
  },
});
