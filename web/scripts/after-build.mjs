// After `vite build`: record what was built from what (build.json, which a test checks against
// the sources), and copy axe-core, which the browser tests inject, beside them with its licence.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const DIST = resolve(WEB, "../service/fimigraph/web/dist");
const AXE_OUT = resolve(WEB, "../tests/vendor/axe-core");

/** Every file under a folder but node_modules, as sorted paths relative to it (POSIX separators). */
function files(root, dir = root) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules") return [];
    return statSync(path).isDirectory() ? files(root, path) : [relative(root, path).split("\\").join("/")];
  }).sort();
}

/** The digest tests/test_workbench.py computes the same way: path, NUL, content, NUL, for every source file. */
function sourcesDigest() {
  const hash = createHash("sha256");
  for (const path of files(WEB)) {
    hash.update(path + "\0");
    hash.update(readFileSync(join(WEB, path)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

const assets = files(DIST).filter((p) => p !== "build.json").map((path) => {
  const data = readFileSync(join(DIST, path));
  return { path, bytes: data.length, gzip_bytes: gzipSync(data, { level: 9 }).length };
});
const code = assets.filter((a) => /\.(js|css|html)$/.test(a.path));
const build = {
  sources_sha256: sourcesDigest(),
  bytes: code.reduce((n, a) => n + a.bytes, 0),
  gzip_bytes: code.reduce((n, a) => n + a.gzip_bytes, 0),
  assets,
};
writeFileSync(join(DIST, "build.json"), JSON.stringify(build, null, 1) + "\n");

mkdirSync(AXE_OUT, { recursive: true });
const axe = resolve(WEB, "node_modules/axe-core");
const version = JSON.parse(readFileSync(join(axe, "package.json"), "utf8")).version;
copyFileSync(join(axe, "axe.min.js"), join(AXE_OUT, "axe.min.js"));
copyFileSync(join(axe, "LICENSE"), join(AXE_OUT, "LICENSE"));
writeFileSync(join(AXE_OUT, "SOURCE.md"),
  `# axe-core ${version}\n\nThe accessibility engine the browser tests inject into the workbench's pages ` +
  `(\`tests/test_workbench_browser.py\`). Copied from the npm package axe-core ${version} ` +
  `(https://github.com/dequelabs/axe-core) by \`web/scripts/after-build.mjs\` at each build; ` +
  `licence: MPL-2.0 (\`LICENSE\`, beside it). Not part of the workbench's bundle.\n`);

console.log(`workbench: ${code.length} files, ${(build.bytes / 1024).toFixed(0)} KiB, ${(build.gzip_bytes / 1024).toFixed(0)} KiB gzipped`);
