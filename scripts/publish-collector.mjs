// Publishes a built collector into an assets folder (dist/ by default) the way foreign pages
// need it:
// - the module under a content-hashed name, collector/collector.<hash>.wasm, and the opt-in
//   features as collector/extras.<hash>.js, cached for a year as immutable: a new build is a
//   new name, so a page never mixes a loader with a module it was not built with;
// - the loader v.js, minified, with that name built in, cached briefly (CACHE_LOADER) and
//   revalidated in the background (stale-while-revalidate);
// - older builds kept for KEEP_DAYS after they were replaced (and the newest KEEP_BUILDS
//   always), so a v.js cached before a deploy still finds its module;
// - `_headers` giving both CORS, Cross-Origin-Resource-Policy and the content type, since
//   static assets carry no CORS header unless told.
//
//   node scripts/publish-collector.mjs <module.wasm> <loader.js> [assets-dir]
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { transformSync } from "esbuild";

import { CACHE_LOADER, CACHE_IMMUTABLE, COLLECTOR_MANIFEST, KEEP_BUILDS, KEEP_DAYS, publishFromCommandLine, retainBuilds, writeAssetRules } from "./assets.mjs";

export { CACHE_LOADER, KEEP_BUILDS, KEEP_DAYS };
/** Module cache: its name changes with its content. */
export const CACHE_MODULE = CACHE_IMMUTABLE;
/** Which modules are kept and since when. */
export const MANIFEST = COLLECTOR_MANIFEST;
const LIMITS = join(dirname(fileURLToPath(import.meta.url)), "..", "ingest-limits", "src", "lib.rs");

/** The integer constants of ingest-limits (`pub const NAME: type = expression;`), evaluated in
 * order, so the loader checks what the Worker checks without a hand-made copy. */
export function ingestLimits(source = readFileSync(LIMITS, "utf8")) {
  const limits = {};
  for (const [, name, expression] of source.matchAll(/^pub const (\w+): \w+ = ([^;]+);/gm)) {
    const js = expression.replace(/(\d)_(?=\d)/g, "$1").replace(/[A-Z_]{2,}/g, (k) => {
      if (!(k in limits)) throw new Error(`ingest limit ${name} uses ${k}, not defined before it`);
      return String(limits[k]);
    });
    if (!/^[\d\s*+\-()<]+$/.test(js)) throw new Error(`ingest limit ${name} = ${expression}: not plain arithmetic`);
    limits[name] = Function(`return (${js})`)();
  }
  return limits;
}

const hashed = (prefix, bytes, ext) => `${prefix}.${createHash("sha256").update(bytes).digest("hex").slice(0, 16)}.${ext}`;

/** Publishes `wasmPath` + the loader (`loaderPath`, with extras.js beside it) into `assets`;
 * returns the published file names. */
export function publish(wasmPath, loaderPath, assets, now = Date.now()) {
  const limits = ingestLimits();
  const define = {
    MAX_PROPS: String(limits.MAX_PROPS),
    MAX_PROP_KEY_BYTES: String(limits.MAX_PROP_KEY_BYTES),
    MAX_PROP_VALUE_BYTES: String(limits.MAX_PROP_VALUE_BYTES),
    MAX_REVENUE_AMOUNT_BYTES: String(limits.MAX_REVENUE_AMOUNT_BYTES),
    MAX_REVENUE_UNITS: String(limits.MAX_REVENUE_MICROS / limits.REVENUE_MICROS_PER_UNIT),
  };
  const minify = (path, more = {}, format = undefined) =>
    transformSync(readFileSync(path, "utf8"), { minify: true, target: "es2018", format, define: { ...define, ...more } }).code;

  const wasm = readFileSync(wasmPath);
  const extras = minify(join(dirname(loaderPath), "extras.js"), {}, "esm");
  const build = { wasm: hashed("collector", wasm, "wasm"), extras: hashed("extras", extras, "js") };
  const dir = join(assets, "collector");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, build.wasm), wasm);
  writeFileSync(join(dir, build.extras), extras);

  // The manifest lists every build still kept, newest last, with when it was replaced.
  const files = (b) => [`collector/${b.wasm}`, `collector/${b.extras}`];
  retainBuilds(assets, MANIFEST, build, (a, b) => a.wasm === b.wasm && a.extras === b.extras, files, now);

  const loader = minify(loaderPath, { WASM_FILE: JSON.stringify(build.wasm), EXTRAS_FILE: JSON.stringify(build.extras) });
  writeFileSync(join(assets, "v.js"), loader);
  writeAssetRules(assets);
  return build;
}

publishFromCommandLine(import.meta.url, "node scripts/publish-collector.mjs <module.wasm> <loader.js> [assets-dir]", publish);
