// User-agent yardsticks. A module here exports `title` and `yardsticks(root)`: a list of
// { name, source, byConstruction?, groupLabel?, cases: [{ input, expected, group }], grade(case, prediction, which) }
// where `input` is one enrich-predict case (enrich-score/src/main.rs) and `which` is
// "previous" (woothee's names) or "now" (uap-core's, as Vigia names them).
//
// Sets (tests/yardsticks/README.md): ua-parser-js test data (browser names, OS names, device
// types), matomo device-detector fixtures (desktop, smartphone, tablet, tv, console,
// mobile_apps, clienthints — the last with its Sec-CH-UA headers passed on), and uap-core's
// own tests (by construction). Every file is scored whole: ~11,000 cases run in seconds, so
// nothing is sampled.
//
// Names differ between vocabularies; `browserKey` and `osKey` map each to one key before
// comparing (never the other way round, and never by test string):
// - browsers: lower case; "Mobile X", "X Mobile", "X iOS" and "X Mobile iOS" builds are X
//   (Chrome Mobile, Mobile Safari, Firefox iOS …: the device class carries "mobile");
//   Microsoft Edge = Edge; Samsung Browser = Samsung Internet; IE / IEMobile / MSIE =
//   Internet Explorer; Chrome WebView / Chrome Mobile WebView = Android WebView;
//   Mobile Safari UI/WKWebView = iOS WebView; Yandex / YaBrowser = Yandex Browser;
//   UCBrowser = UC Browser; MicroMessenger / WeChat Browser = WeChat; Instagram App =
//   Instagram; Facebook App / Facebook Messenger kept apart; Opera Mobi/Mobile/Touch = Opera.
// - OS: every Windows version is Windows (woothee put the version in the name); Mac OS X,
//   Mac OS, Mac OSX, Mac and macOS are macOS; iPhone / iPad / iPod (woothee) and iPadOS are
//   iOS; GNU/Linux is Linux; Chromium OS / ChromeOS are Chrome OS; Windows Phone OS is
//   Windows Phone; BlackBerry OS is BlackBerry.
// - devices: device-detector's smartphone / phablet / feature phone and ua-parser-js's mobile
//   are mobile; tv, smarttv and console are tv (Vigia's class covers both); woothee's
//   "appliance" (consoles and TVs) is tv too; types Vigia has no class for (wearable,
//   car browser, camera …) and ua-parser-js's desktop (it leaves the type undefined) are
//   not scored.

import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

export const title = "User agents: browser, OS and device class";

const UAPJS = "faisalman/ua-parser-js test/data/ua @ 18d39b53 (2026-05-02), AGPL-3.0";
const DD = "matomo-org/device-detector Tests/fixtures @ 3856a286 (2026-08-19), LGPL-3.0";
const UAP = "ua-parser/uap-core tests @ e3c5e634 (2026-08-11), Apache-2.0";

const BROWSER_ALIASES = new Map(Object.entries({
  "microsoft edge": "edge",
  "samsung browser": "samsung internet",
  samsungbrowser: "samsung internet",
  ie: "internet explorer",
  iemobile: "internet explorer",
  msie: "internet explorer",
  "chrome webview": "android webview",
  "chrome mobile webview": "android webview",
  "mobile safari ui/wkwebview": "ios webview",
  yandex: "yandex browser",
  yabrowser: "yandex browser",
  ucbrowser: "uc browser",
  micromessenger: "wechat",
  "wechat browser": "wechat",
  "instagram app": "instagram",
  "facebook app": "facebook",
  "opera mobi": "opera",
  "opera touch": "opera",
  "huaweibrowser": "huawei browser",
  "miui browser": "mi browser",
  "qqbrowser": "qq browser",
  "mobile qq browser": "qq browser",
}));

/** One key per browser across the vocabularies (see the header comment). */
export function browserKey(name) {
  let n = String(name ?? "").trim().toLowerCase();
  if (!n || n === "unknown" || n === "other") return "unknown";
  if (BROWSER_ALIASES.has(n)) return BROWSER_ALIASES.get(n);
  // The mobile build of a browser is the browser.
  n = n.replace(/^mobile /, "").replace(/ mobile( ios)?$/, "").replace(/ ios$/, "");
  return BROWSER_ALIASES.get(n) ?? n;
}

/** One key per OS family across the vocabularies (see the header comment). */
export function osKey(name) {
  const n = String(name ?? "").trim().toLowerCase();
  if (!n || n === "unknown" || n === "other") return "unknown";
  if (/^windows phone/.test(n)) return "windows phone";
  if (/^windows (mobile|ce)/.test(n)) return "windows mobile";
  if (/^windows/.test(n)) return "windows";
  if (/^mac|^macos/.test(n)) return "macos";
  if (["iphone", "ipad", "ipod", "ios", "ipados"].includes(n)) return "ios";
  if (n === "gnu/linux") return "linux";
  if (["chrome os", "chromeos", "chromium os"].includes(n)) return "chrome os";
  if (/^blackberry/.test(n)) return "blackberry";
  return n;
}

/** One device class across the vocabularies; `null` when Vigia has no class for it. */
export function deviceKey(type) {
  const t = String(type ?? "").trim().toLowerCase();
  if (["smartphone", "phablet", "feature phone", "mobile"].includes(t)) return "mobile";
  if (["tv", "smarttv", "smart tv", "console", "appliance"].includes(t)) return "tv";
  if (["desktop", "tablet", "bot"].includes(t)) return t;
  return null;
}

const ua = (userAgent, clientHints) => ({
  kind: "ua",
  user_agent: userAgent,
  ...(clientHints ? { client_hints: clientHints } : {}),
});

const gradeBrowser = (c, p) => browserKey(p.browser) === c.expected;
const gradeBrowserMajor = (c, p) =>
  browserKey(p.browser) === c.expected.browser && String(p.browser_version ?? "") === c.expected.major;
const gradeOs = (c, p) => osKey(p.os) === c.expected;
const gradeDevice = (c, p) => deviceKey(p.device) === c.expected;

function yaml(root, ...path) {
  return parse(readFileSync(join(root, ...path), "utf8"), { maxAliasCount: -1 });
}

function json(root, ...path) {
  return JSON.parse(readFileSync(join(root, ...path), "utf8"));
}

/** The low-entropy hints of a device-detector fixture, as a browser sends them (the YAML
 * unquotes `"Android"`; the header carries the quotes). */
function lowEntropyHints(headers) {
  if (!headers) return null;
  const get = (k) => Object.entries(headers).find(([h]) => h.toLowerCase() === k)?.[1];
  const quote = (v) => (v == null ? undefined : /^".*"$/.test(v) ? v : `"${v}"`);
  const hints = {
    "sec-ch-ua": get("sec-ch-ua"),
    "sec-ch-ua-mobile": get("sec-ch-ua-mobile"),
    "sec-ch-ua-platform": quote(get("sec-ch-ua-platform")),
  };
  return Object.values(hints).some((v) => v != null) ? hints : null;
}

export function yardsticks(root) {
  const Y = (...p) => join("tests/yardsticks", ...p);
  const sticks = [];

  // ua-parser-js
  const uapjsBrowsers = json(root, Y("ua-parser-js", "browser-all.json"))
    .filter((t) => t.expect?.name && t.expect.name !== "undefined")
    .map((t) => ({ input: ua(t.ua), expected: browserKey(t.expect.name), group: browserKey(t.expect.name) }));
  sticks.push({
    name: "ua-parser-js browser-all.json: browser family",
    source: UAPJS,
    groupLabel: "browser (top 20)",
    maxGroups: 21,
    cases: uapjsBrowsers,
    grade: gradeBrowser,
  });
  const uapjsOs = readdirSync(join(root, Y("ua-parser-js", "os"))).sort().flatMap((f) =>
    json(root, Y("ua-parser-js", "os", f))
      .filter((t) => t.expect?.name && t.expect.name !== "undefined")
      .map((t) => ({ input: ua(t.ua), expected: osKey(t.expect.name), group: osKey(t.expect.name) })));
  sticks.push({
    name: "ua-parser-js os/*.json: OS family",
    source: UAPJS,
    groupLabel: "OS (top 20)",
    maxGroups: 21,
    cases: uapjsOs,
    grade: gradeOs,
  });
  const uapjsDevices = readdirSync(join(root, Y("ua-parser-js", "device"))).sort().flatMap((f) =>
    json(root, Y("ua-parser-js", "device", f))
      .map((t) => ({ t, key: deviceKey(t.expect?.type) }))
      .filter(({ key }) => key)
      .map(({ t, key }) => ({ input: ua(t.ua), expected: key, group: key })));
  sticks.push({
    name: "ua-parser-js device/*.json: device class (typed cases)",
    source: UAPJS,
    groupLabel: "device class",
    cases: uapjsDevices,
    grade: gradeDevice,
  });

  // device-detector
  const ddFiles = ["desktop", "smartphone", "tablet", "tv", "console", "mobile_apps"];
  const dd = ddFiles.flatMap((f) => yaml(root, Y("device-detector", `${f}.yml`))
    .filter((r) => typeof r.user_agent === "string")
    .map((r) => ({ ...r, file: f })));
  const ddBrowsers = dd
    .filter((r) => r.client?.name && ["browser", "mobile app"].includes(r.client.type))
    .map((r) => ({ input: ua(r.user_agent), expected: browserKey(r.client.name), group: browserKey(r.client.name) }));
  // In-app browsers of the big apps, wherever device-detector files them.
  const IN_APP = new Set(["facebook", "instagram", "tiktok", "linkedin", "wechat", "snapchat", "pinterest", "twitter", "line", "facebook messenger"]);
  sticks.push({
    name: "device-detector (desktop, smartphone, tablet, tv, console, mobile_apps): browser / app",
    source: DD,
    groupLabel: "browser (top 20)",
    maxGroups: 21,
    cases: ddBrowsers,
    grade: gradeBrowser,
  });
  const inApp = ddBrowsers.filter((c) => IN_APP.has(c.expected));
  if (inApp.length) {
    sticks.push({
      name: "device-detector: in-app browsers of social and messaging apps",
      source: DD,
      groupLabel: "app",
      cases: inApp,
      grade: gradeBrowser,
    });
  }
  sticks.push({
    name: "device-detector: OS family",
    source: DD,
    groupLabel: "OS (top 20)",
    maxGroups: 21,
    cases: dd.filter((r) => r.os?.name).map((r) => ({ input: ua(r.user_agent), expected: osKey(r.os.name), group: osKey(r.os.name) })),
    grade: gradeOs,
  });
  sticks.push({
    name: "device-detector: device class",
    source: DD,
    groupLabel: "device class",
    cases: dd
      .map((r) => ({ r, key: deviceKey(r.device?.type) }))
      .filter(({ key }) => key)
      .map(({ r, key }) => ({ input: ua(r.user_agent), expected: key, group: key })),
    grade: gradeDevice,
  });
  const ch = yaml(root, Y("device-detector", "clienthints.yml"))
    .filter((r) => typeof r.user_agent === "string" && r.client?.name && lowEntropyHints(r.headers));
  sticks.push({
    name: "device-detector clienthints.yml: browser, user agent + low-entropy hints",
    source: DD,
    groupLabel: "browser (top 20)",
    maxGroups: 21,
    cases: ch.map((r) => ({
      input: ua(r.user_agent, lowEntropyHints(r.headers)),
      expected: browserKey(r.client.name),
      group: browserKey(r.client.name),
    })),
    grade: gradeBrowser,
  });
  sticks.push({
    name: "device-detector clienthints.yml: OS family and device class, user agent + low-entropy hints",
    source: DD,
    groupLabel: "OS / device",
    cases: ch.flatMap((r) => {
      const input = ua(r.user_agent, lowEntropyHints(r.headers));
      const out = [];
      if (r.os?.name) out.push({ input, expected: { os: osKey(r.os.name) }, group: `os ${osKey(r.os.name)}` });
      const d = deviceKey(r.device?.type);
      if (d) out.push({ input, expected: { device: d }, group: `device ${d}` });
      return out;
    }),
    grade: (c, p) => ("os" in c.expected ? osKey(p.os) === c.expected.os : deviceKey(p.device) === c.expected.device),
  });

  // uap-core's own tests: the data Vigia ships, right by construction where the names match.
  const uapUa = yaml(root, Y("uap-core", "test_ua.yaml")).test_cases.filter((t) => t.user_agent_string);
  sticks.push({
    name: "uap-core tests/test_ua.yaml: browser family + major version",
    source: UAP,
    byConstruction: true,
    groupLabel: "browser (top 20)",
    maxGroups: 21,
    cases: uapUa.map((t) => ({
      input: ua(t.user_agent_string),
      expected: { browser: browserKey(t.family), major: t.major == null ? "" : String(t.major) },
      group: browserKey(t.family),
    })),
    grade: gradeBrowserMajor,
  });
  const uapOs = yaml(root, Y("uap-core", "test_os.yaml")).test_cases.filter((t) => t.user_agent_string);
  sticks.push({
    name: "uap-core tests/test_os.yaml: OS family",
    source: UAP,
    byConstruction: true,
    groupLabel: "OS (top 20)",
    maxGroups: 21,
    cases: uapOs.map((t) => ({ input: ua(t.user_agent_string), expected: osKey(t.family), group: osKey(t.family) })),
    grade: gradeOs,
  });
  return sticks;
}
