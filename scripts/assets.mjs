// What the collector's and the dashboard's publish scripts share: the `_headers` and
// `.assetsignore` of the assets folder (both scripts write the same complete files, so either
// can run alone), and how long a replaced build stays.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Loader cache: short, so a new deploy reaches visitors within the hour. */
export const CACHE_LOADER = "public, max-age=3600, stale-while-revalidate=86400";
/** Content-named files (collector modules, dashboard builds): a new build is a new name. */
export const CACHE_IMMUTABLE = "public, max-age=31536000, immutable";
/** A replaced build stays this long: longer than a loader can be cached (1 h + 1 day), and
 * long enough for a dashboard tab left open over a deploy to keep loading its screens. */
export const KEEP_DAYS = 7;
/** The newest builds kept whatever their age. */
export const KEEP_BUILDS = 3;
const DAY_MS = 86_400_000;

/** Manifests of kept builds; beside the assets, never served. */
export const COLLECTOR_MANIFEST = "collector-builds.json";
export const DASHBOARD_MANIFEST = "dashboard-builds.json";

/** The dashboard's page template; its one inline script (the boot) is the same for every build. */
export const DASHBOARD_TEMPLATE = join(dirname(fileURLToPath(import.meta.url)), "..", "dashboard-leptos", "static", "index.html");

/** The CSP source allowing exactly the boot script of `template`, by its SHA-256. */
export function bootScriptSource(template = readFileSync(DASHBOARD_TEMPLATE, "utf8")) {
  const scripts = [...template.matchAll(/<script[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
  if (scripts.length !== 1 || scripts[0].includes("__BUILD__")) {
    throw new Error("the dashboard template must have exactly one inline script, the same for every build");
  }
  return `'sha256-${createHash("sha256").update(scripts[0]).digest("base64")}'`;
}

/** The dashboard's policy. Scripts: its own files, WebAssembly, and the boot script by hash —
 * never inline or eval'd code, so an HTML injection cannot run script. Styles allow inline
 * `style` attributes (bar widths, the chart tooltip's position), which cannot run code.
 * Nothing may frame it (clickjacking); requests go to its own origin only. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src 'self' 'wasm-unsafe-eval' ${bootScriptSource()}`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** HSTS: a year. Browsers ignore it over plain http (wrangler dev), so it costs nothing there. */
export const HSTS = "max-age=31536000";

export const HEADERS = `# Written by scripts/assets.mjs (through publish-collector.mjs and publish-dashboard.mjs).
# The loader and its module are fetched by pages on other origins (the wasm with fetch(), in
# CORS mode; the loader by a <script> tag, which pages with Cross-Origin-Embedder-Policy:
# require-corp accept only with CORP cross-origin).
/v.js
  Cache-Control: ${CACHE_LOADER}
  Access-Control-Allow-Origin: *
  Cross-Origin-Resource-Policy: cross-origin
  Content-Type: text/javascript; charset=utf-8
/collector/*
  Cache-Control: ${CACHE_IMMUTABLE}
  Access-Control-Allow-Origin: *
  Cross-Origin-Resource-Policy: cross-origin
/*
  X-Content-Type-Options: nosniff
  Strict-Transport-Security: ${HSTS}
# The dashboard: index.html names its build, revalidated on every load; a build's files
# (app/<build>/…) never change.
/
  Cache-Control: no-cache
  Content-Security-Policy: ${DASHBOARD_CSP}
  X-Frame-Options: DENY
  Referrer-Policy: same-origin
/index.html
  Cache-Control: no-cache
  Content-Security-Policy: ${DASHBOARD_CSP}
  X-Frame-Options: DENY
  Referrer-Policy: same-origin
/app/*
  Cache-Control: ${CACHE_IMMUTABLE}
`;

export function writeAssetRules(assets) {
  writeFileSync(join(assets, "_headers"), HEADERS);
  writeFileSync(join(assets, ".assetsignore"), `${COLLECTOR_MANIFEST}\n${DASHBOARD_MANIFEST}\n`);
}

/** Records `build` as the newest in `assets/manifest` and removes what no kept build needs:
 * `files(build)` lists a build's paths relative to `assets`. Returns the kept builds. */
export function retainBuilds(assets, manifest, build, same, files, now = Date.now()) {
  const manifestPath = join(assets, manifest);
  let builds = existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, "utf8")) : [];
  builds = builds.filter((b) => !same(b, build));
  for (const b of builds) b.replaced_at ??= now;
  builds.push({ ...build, published_at: now, replaced_at: null });
  const keep = builds.filter((b, i) => i >= builds.length - KEEP_BUILDS || now - b.replaced_at < KEEP_DAYS * DAY_MS);
  const kept = new Set(keep.flatMap(files));
  for (const b of builds) for (const f of files(b)) if (!kept.has(f)) rmSync(join(assets, f), { force: true, recursive: true });
  writeFileSync(manifestPath, JSON.stringify(keep, null, 1) + "\n");
  return keep;
}

/** The command line of a publish script: when `moduleUrl` is the script node was started with,
 * runs `publish(input, template, assets)` with the arguments (assets defaulting to `dist/`) and
 * prints the build it published. */
export function publishFromCommandLine(moduleUrl, usage, publish) {
  if (process.argv[1] !== fileURLToPath(moduleUrl)) return;
  const [input, template, assets = join(dirname(fileURLToPath(moduleUrl)), "..", "dist")] = process.argv.slice(2);
  if (!input || !template) {
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  console.log(JSON.stringify(publish(input, template, assets)));
}
