// Enrichment accuracy, scored against public test sets nobody here wrote (tests/yardsticks/,
// each with its project, version and licence in tests/yardsticks/README.md).
//
// Both the enrichment as it is now (enrich-score, `enrich-predict`) and as it was at the commit
// before the enrichment change (PREVIOUS, exported from git and built with
// enrich-score/legacy) answer the same cases; the table prints both side by side, per yardstick
// and per family or medium. Nothing is asserted: these are figures.
//
//   node scripts/bench-accuracy.mjs [area ...]    areas: useragents bots referrers (default: all)

import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** The last commit with the enrichment as it was before issue #14. */
export const PREVIOUS = "239be187dce3d43819505534a820f4902a10090f";
const AREAS = ["useragents", "bots", "referrers"];

function run(cmd, args, opts = {}) {
  execFileSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"], ...opts });
}

/** Builds the current predictor and the previous one; returns both binaries' paths. */
function buildPredictors() {
  run("cargo", ["build", "--quiet", "--release", "-p", "enrich-score"], { cwd: ROOT });
  const now = join(ROOT, "target/release/enrich-predict");
  const dir = join(ROOT, "target/accuracy-previous");
  const src = join(dir, "src");
  // Rebuilt when the adapter changes (its files are hashed into the stamp's name).
  const adapter = createHash("sha256");
  for (const f of ["enrich-score/src/protocol.rs", ...readdirSync(join(ROOT, "enrich-score/legacy/src")).map((f) => `enrich-score/legacy/src/${f}`)]) {
    adapter.update(readFileSync(join(ROOT, f)));
  }
  const stamp = join(dir, `built-${PREVIOUS}-${adapter.digest("hex").slice(0, 12)}`);
  const previous = join(dir, "target/release/enrich-predict-legacy");
  if (!existsSync(stamp) || !existsSync(previous)) {
    rmSync(src, { recursive: true, force: true });
    mkdirSync(src, { recursive: true });
    const tar = execFileSync("git", ["-C", ROOT, "archive", PREVIOUS], { maxBuffer: 1 << 30 });
    execFileSync("tar", ["-x", "-C", src], { input: tar });
    cpSync(join(ROOT, "enrich-score"), join(src, "enrich-score"), { recursive: true });
    run("cargo", ["build", "--quiet", "--release", "--manifest-path", join(src, "enrich-score/legacy/Cargo.toml")], {
      env: { ...process.env, CARGO_TARGET_DIR: join(dir, "target") },
    });
    writeFileSync(stamp, "");
  }
  return { now, previous };
}

function predict(binary, cases) {
  const input = cases.map((c) => JSON.stringify(c.input)).join("\n") + "\n";
  const r = spawnSync(binary, [], { input, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${binary} failed: ${r.stderr}`);
  const lines = r.stdout.toString().trim().split("\n");
  if (lines.length !== cases.length) throw new Error(`${binary}: ${lines.length} answers for ${cases.length} cases`);
  return lines.map((l) => JSON.parse(l));
}

const pct = (ok, n) => (n ? ((100 * ok) / n).toFixed(1).padStart(5) + " %" : "    –  ");

async function main() {
  const wanted = process.argv.slice(2).length ? process.argv.slice(2) : AREAS;
  const { now, previous } = buildPredictors();
  for (const area of wanted) {
    const mod = await import(join(ROOT, "scripts/accuracy", `${area}.mjs`));
    console.log(`\n## ${mod.title}\n`);
    for (const stick of mod.yardsticks(ROOT)) {
      const before = predict(previous, stick.cases);
      const after = predict(now, stick.cases);
      const groups = new Map();
      const add = (g, i, b, a) => {
        const row = groups.get(g) ?? { n: 0, before: 0, after: 0, misses: [] };
        row.n += 1;
        row.before += b ? 1 : 0;
        row.after += a ? 1 : 0;
        if (!a && row.misses.length < 3) row.misses.push(i);
        groups.set(g, row);
      };
      stick.cases.forEach((c, i) => {
        const b = stick.grade(c, before[i], "previous");
        const a = stick.grade(c, after[i], "now");
        add("(all)", i, b, a);
        add(c.group, i, b, a);
      });
      console.log(`### ${stick.name}\n${stick.source}${stick.byConstruction ? "\n(the data Vigia ships comes from this project: right by construction where it is covered)" : ""}\n`);
      console.log(`| ${stick.groupLabel ?? "group"} | cases | previous | now |`);
      console.log("|---|---:|---:|---:|");
      const rows = [...groups.entries()].sort((x, y) => (x[0] === "(all)" ? -1 : y[0] === "(all)" ? 1 : y[1].n - x[1].n));
      for (const [g, r] of rows.slice(0, stick.maxGroups ?? 25)) {
        console.log(`| ${g} | ${r.n} | ${pct(r.before, r.n)} | ${pct(r.after, r.n)} |`);
      }
      if (process.env.ACCURACY_MISSES) {
        for (const [g, r] of rows) {
          for (const i of r.misses) {
            console.error(`miss [${stick.name} / ${g}] ${JSON.stringify(stick.cases[i].input)} expected ${JSON.stringify(stick.cases[i].expected)} got ${JSON.stringify(after[i])}`);
          }
        }
      }
      console.log("");
    }
  }
}

await main();
