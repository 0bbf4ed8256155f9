// What the collector's and the dashboard's publish scripts share: the `_headers` and
// `.assetsignore` of the assets folder (both scripts write the same complete files, so either
// can run alone), and how long a replaced build stays.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

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

export const HEADERS = `# Written by scripts/assets.mjs (through publish-collector.mjs and publish-dashboard.mjs).
# The loader and its module are fetched by pages on other origins (the wasm with fetch(), in
# CORS mode; the loader by a <script> tag, which pages with Cross-Origin-Embedder-Policy:
# require-corp accept only with CORP cross-origin).
/v.js
  Cache-Control: ${CACHE_LOADER}
  Access-Control-Allow-Origin: *
  Cross-Origin-Resource-Policy: cross-origin
  Content-Type: text/javascript; charset=utf-8
  X-Content-Type-Options: nosniff
/collector/*
  Cache-Control: ${CACHE_IMMUTABLE}
  Access-Control-Allow-Origin: *
  Cross-Origin-Resource-Policy: cross-origin
  X-Content-Type-Options: nosniff
# The dashboard: index.html names its build, revalidated on every load; a build's files
# (app/<build>/…) never change.
/
  Cache-Control: no-cache
/index.html
  Cache-Control: no-cache
/app/*
  Cache-Control: ${CACHE_IMMUTABLE}
  X-Content-Type-Options: nosniff
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
