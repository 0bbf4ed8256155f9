// Publishes a built dashboard into an assets folder (dist/ by default):
// - every file of the build (wasm-bindgen glue, the main wasm, the split-off chunks and their
//   loader, the stylesheet) under app/<build>/, <build> a hash of all of them, cached for a
//   year as immutable: a tab opened before a deploy keeps loading the chunks of its own build;
// - index.html naming that build (<meta name="vigia-build">), revalidated on every load;
// - older builds kept for KEEP_DAYS after they were replaced (and the newest KEEP_BUILDS), then
//   removed: a tab older than that is told Vigia was updated and offered a reload.
//
//   node scripts/publish-dashboard.mjs <built-dir> <index.html template> [assets-dir]
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DASHBOARD_MANIFEST, publishFromCommandLine, retainBuilds, writeAssetRules } from "./assets.mjs";

/** What the browser fetches before the overview can draw (index.html aside); every other file
 * of a build is a split-off chunk, fetched when its screen first opens. */
export const ENTRY_FILES = ["style.css", "dashboard.js", "__wasm_split.js", "dashboard_bg.wasm"];

export function publish(built, template, assets, now = Date.now()) {
  const names = readdirSync(built).sort();
  const hash = createHash("sha256");
  for (const name of names) hash.update(name).update("\0").update(readFileSync(join(built, name)));
  const build = { id: hash.digest("hex").slice(0, 16), files: names };
  const dir = join(assets, "app", build.id);
  mkdirSync(dir, { recursive: true });
  cpSync(built, dir, { recursive: true });
  writeFileSync(join(assets, "index.html"), readFileSync(template, "utf8").replaceAll("__BUILD__", build.id));
  retainBuilds(assets, DASHBOARD_MANIFEST, build, (a, b) => a.id === b.id, (b) => [`app/${b.id}`], now);
  writeAssetRules(assets);
  return build;
}

publishFromCommandLine(import.meta.url, "node scripts/publish-dashboard.mjs <built-dir> <index.html template> [assets-dir]", publish);
