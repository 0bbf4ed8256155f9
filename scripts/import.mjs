// `./vigia import`: sends another tool's export (or Vigia's own) to a Vigia instance, one CSV
// file per request, to POST /api/sites/{site}/import. A Plausible export zip is read here
// (stored or deflated entries, with Node's zlib; no ZIP64: Plausible's archives are far
// smaller), a directory is read for its .csv files, a .csv file is sent as is.
//
//   ./vigia import --site ID [--url http://127.0.0.1:8787] [--token TOKEN] [--format plausible|vigia] PATH...
//
// The token (an API token of a site admin, `vgt_…`) may come from VIGIA_TOKEN instead, so it
// stays out of the shell history. Exit status 1 when any file was refused.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { inflateRawSync } from "node:zlib";

const USAGE =
  "usage: ./vigia import --site ID [--url URL] [--token TOKEN] [--format plausible|vigia] PATH...\n" +
  "  PATH: a Plausible export .zip, a directory of .csv files, or .csv files";

function parseArgs(argv) {
  const opts = { url: `http://127.0.0.1:${process.env.VIGIA_PORT || 8787}`, format: "plausible", token: process.env.VIGIA_TOKEN ?? "", paths: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value\n${USAGE}`);
      return argv[++i];
    };
    if (a === "--site") opts.site = value();
    else if (a === "--url") opts.url = value().replace(/\/+$/, "");
    else if (a === "--token") opts.token = value();
    else if (a === "--format") opts.format = value();
    else if (a === "-h" || a === "--help") { console.log(USAGE); process.exit(0); }
    else if (a.startsWith("--")) throw new Error(`unknown option ${a}\n${USAGE}`);
    else opts.paths.push(a);
  }
  if (!opts.site || opts.paths.length === 0) throw new Error(USAGE);
  if (!opts.token) throw new Error(`an API token is needed: --token or VIGIA_TOKEN\n${USAGE}`);
  return opts;
}

/** The entries of a zip archive: [{name, data}] for files (directories left out). */
export function unzip(buf) {
  // End of central directory: the last record with the signature, at most 64 KiB + 22 from the end.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new Error("not a zip archive (no end of central directory)");
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || at === 0xffffffff) throw new Error("ZIP64 archives are not supported");
  const out = [];
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(at) !== 0x02014b50) throw new Error("corrupt zip central directory");
    const method = buf.readUInt16LE(at + 10);
    const compressed = buf.readUInt32LE(at + 20);
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    const local = buf.readUInt32LE(at + 42);
    const name = buf.subarray(at + 46, at + 46 + nameLen).toString("utf8");
    at += 46 + nameLen + extraLen + commentLen;
    if (name.endsWith("/")) continue;
    if (buf.readUInt32LE(local) !== 0x04034b50) throw new Error(`corrupt zip entry ${name}`);
    // The local header's own name and extra lengths (they may differ from the central ones).
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(start, start + compressed);
    let data;
    if (method === 0) data = raw;
    else if (method === 8) data = inflateRawSync(raw);
    else throw new Error(`zip entry ${name}: compression method ${method} is not supported`);
    out.push({ name, data });
  }
  return out;
}

/** The CSV files a path names: [{name, data}]. */
export function filesOf(path) {
  const st = statSync(path);
  if (st.isDirectory()) {
    return readdirSync(path).filter((f) => f.endsWith(".csv")).sort()
      .map((f) => ({ name: f, data: readFileSync(join(path, f)) }));
  }
  const data = readFileSync(path);
  if (path.endsWith(".zip") || data.readUInt32LE(0) === 0x04034b50) {
    return unzip(data).filter((e) => e.name.endsWith(".csv")).sort((a, b) => (a.name < b.name ? -1 : 1));
  }
  return [{ name: basename(path), data }];
}

async function send(opts, file) {
  const query = new URLSearchParams({ format: opts.format });
  if (opts.format === "plausible") query.set("table", basename(file.name));
  const r = await fetch(`${opts.url}/api/sites/${encodeURIComponent(opts.site)}/import?${query}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${opts.token}`, "Content-Type": "text/csv" },
    body: file.data,
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch {}
  return { status: r.status, json, text };
}

async function main() {
  let opts;
  try { opts = parseArgs(process.argv.slice(2)); } catch (e) { console.error(e.message); process.exit(2); }
  let files;
  try { files = opts.paths.flatMap(filesOf); } catch (e) { console.error(e.message); process.exit(2); }
  if (files.length === 0) { console.error("no .csv files found"); process.exit(2); }
  let failed = 0;
  for (const file of files) {
    let answer;
    try {
      answer = await send(opts, file);
    } catch (e) {
      console.error(`${file.name}: could not reach ${opts.url} (${e.cause?.code ?? e.message}); is Vigia running there?`);
      process.exit(1);
    }
    const { status, json, text } = answer;
    if (status === 200 && json) {
      const skipped = json.rows_skipped
        ? ` (${json.rows_skipped} skipped: ${Object.entries(json.skipped_reasons).map(([k, v]) => `${k} ${v}`).join(", ")})`
        : "";
      const span = json.from ? `, ${json.days} days ${json.from}..${json.to}` : "";
      console.log(`${file.name}: ${json.rows_imported} rows imported into ${json.table}${span}${skipped}`);
    } else {
      failed++;
      console.error(`${file.name}: refused (${status}) ${json ? `${json.error}: ${json.message}` : text.slice(0, 200)}`);
    }
  }
  console.log(`${files.length - failed} of ${files.length} files imported`);
  process.exit(failed ? 1 : 0);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
