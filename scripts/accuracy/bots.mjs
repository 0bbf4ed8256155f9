// Bot yardsticks. A module here exports `title` and `yardsticks(root)`: a list of
// { name, source, byConstruction?, groupLabel?, cases: [{ input, expected, group }], grade(case, prediction, which) }
// where `input` is one enrich-predict case (enrich-score/src/main.rs) and `which` is
// "previous" or "now".
//
// Every case is `{"kind":"bot","user_agent":…}`: the other request signals are those of a real
// browser's beacon, so only what the user agent says is scored. Expected is a boolean (crawler
// or not); both implementations answer `{bot}`, so the grade is the same for both. Label
// mapping: isbot's crawlers.yml and device-detector's bots.yml are all bots (true); isbot's
// browsers.yml and device-detector's desktop/smartphone/tablet fixtures are all people
// (false) — device-detector's rows whose `client.type` is not "browser" (apps, media players,
// libraries) are left out of the negatives, since an HTTP library there is not a person;
// device-detector's feed_reader.yml are feed readers, which device-detector counts as clients
// but a web analytics tool must not count as visitors (true).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

export const title = "Bots: crawlers flagged, browsers not";

const ISBOT = "omrilotan/isbot fixtures @ 344052da (2026-07-20), Unlicense";
const DD = "matomo-org/device-detector Tests/fixtures @ 3856a286 (2026-08-19), LGPL-3.0";
const CUA = "monperrus/crawler-user-agents `instances` @ 7c7f9f25 (2026-07-02), MIT";

const bot = (userAgent, expected, group) => ({
  input: { kind: "bot", user_agent: userAgent },
  expected,
  group,
});

const grade = (c, p) => p.bot === c.expected;

function yaml(root, ...path) {
  return parse(readFileSync(join(root, ...path), "utf8"), { maxAliasCount: -1 });
}

/** isbot's fixtures: `name: [user agents]` maps. */
function isbotCases(root, file, expected, group) {
  const data = yaml(root, "tests/yardsticks/isbot", file);
  return Object.values(data)
    .flat()
    .filter((ua) => typeof ua === "string" && ua.length)
    .map((ua) => bot(ua, expected, group));
}

export function yardsticks(root) {
  const ddBots = yaml(root, "tests/yardsticks/device-detector/bots.yml")
    .filter((r) => typeof r.user_agent === "string")
    .map((r) => bot(r.user_agent, true, r.bot?.category || "(no category)"));
  const ddBrowsers = ["desktop.yml", "smartphone.yml", "tablet.yml"].flatMap((f) =>
    yaml(root, "tests/yardsticks/device-detector", f)
      .filter((r) => typeof r.user_agent === "string" && r.client?.type === "browser")
      .map((r) => bot(r.user_agent, false, f.replace(".yml", ""))),
  );
  const ddFeeds = yaml(root, "tests/yardsticks/device-detector/feed_reader.yml")
    .filter((r) => typeof r.user_agent === "string")
    .map((r) => bot(r.user_agent, true, "feed reader"));
  const crawlerList = JSON.parse(
    readFileSync(join(root, "analytics-core/data/crawler-user-agents/crawler-user-agents.json"), "utf8"),
  ).flatMap((e) => (e.instances ?? []).map((ua) => bot(ua, true, (e.tags ?? [])[0] ?? "(no tag)")));
  return [
    {
      name: "isbot crawlers.yml (bots flagged)",
      source: ISBOT,
      cases: isbotCases(root, "crawlers.yml", true, "crawler"),
      grade,
    },
    {
      name: "isbot browsers.yml (people not flagged)",
      source: ISBOT,
      cases: isbotCases(root, "browsers.yml", false, "browser"),
      grade,
    },
    {
      name: "device-detector bots.yml (bots flagged, per category)",
      source: DD,
      groupLabel: "category",
      cases: ddBots,
      grade,
    },
    {
      name: "device-detector feed_reader.yml (feed readers flagged)",
      source: DD,
      cases: ddFeeds,
      grade,
    },
    {
      name: "device-detector desktop/smartphone/tablet browsers (people not flagged)",
      source: DD,
      groupLabel: "fixture",
      cases: ddBrowsers,
      grade,
    },
    {
      name: "crawler-user-agents instances (bots flagged, per tag)",
      source: CUA,
      byConstruction: true,
      groupLabel: "tag",
      cases: crawlerList,
      grade,
    },
  ];
}
