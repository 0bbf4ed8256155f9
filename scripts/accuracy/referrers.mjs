// Referrer yardsticks: the channel (medium) Vigia gives a referrer, scored on
// - Snowplow referer-parser's referer-tests.json: Vigia ships Snowplow's referers.yml, so this
//   one is right by construction where the data covers it;
// - Matomo's searchengine-and-social-list (a separate, CC0 project whose lists Snowplow's file
//   once started from, maintained on its own since): every host it lists as a search engine,
//   social network or AI assistant, as the referrer of a page on www.example.com.
//
// Label vocabularies differ, normalised here (never in the product):
//   expected  | now (Channel, stored text)                          | previous (before #14)
//   search    | organic_search                                       | search
//   social    | organic_social                                       | social
//   email     | email                                                | email
//   paid      | paid_search, paid_social, paid_other or display      | paid
//   chatbot   | ai_assistant                                         | (no such channel: never right)
//   unknown   | referral (a known source of no particular medium)    | referral

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

export const title = "Referrers: channel (medium) per referrer";

const PAGE = "https://www.example.com/";

const NOW = {
  search: ["organic_search"],
  social: ["organic_social"],
  email: ["email"],
  paid: ["paid_search", "paid_social", "paid_other", "display"],
  chatbot: ["ai_assistant"],
  unknown: ["referral"],
};
const PREVIOUS = {
  search: ["search"],
  social: ["social"],
  email: ["email"],
  paid: ["paid"],
  chatbot: [],
  unknown: ["referral"],
};

function grade(c, prediction, which) {
  const table = which === "previous" ? PREVIOUS : NOW;
  return (table[c.expected] ?? []).includes(prediction.channel);
}

const input = (referrer) => ({ kind: "referrer", referrer, page: PAGE, utm_medium: "" });

function snowplow(root) {
  const dir = join(root, "tests/yardsticks/snowplow-referer-parser");
  const tests = JSON.parse(readFileSync(join(dir, "referer-tests.json"), "utf8"));
  return {
    name: "Snowplow referer-tests.json",
    source:
      "snowplow-referer-parser/referer-parser resources/referer-tests.json, commit b70173e7 (2025-11-25), GPL-3.0",
    byConstruction: true,
    groupLabel: "expected medium",
    cases: tests.map((t) => ({ input: input(t.uri), expected: t.medium, group: t.medium })),
    grade,
  };
}

/** Hosts of one Matomo list. `{}` stands for "any TLD" there: scored as `.com`. */
function matomoHosts(text, searchEngines) {
  const hosts = new Set();
  for (const entries of Object.values(parse(text) ?? {})) {
    for (const entry of entries ?? []) {
      const urls = searchEngines ? entry?.urls ?? [] : [entry];
      for (const u of urls) {
        if (typeof u === "string" && u.trim()) hosts.add(u.trim().toLowerCase().replaceAll("{}", "com"));
      }
    }
  }
  return [...hosts].sort();
}

function matomo(root) {
  const dir = join(root, "tests/yardsticks/matomo-searchengine-and-social-list");
  const lists = [
    ["SearchEngines.yml", "search", true],
    ["Socials.yml", "social", false],
    ["AIAssistants.yml", "chatbot", false],
  ];
  const cases = [];
  for (const [file, medium, searchEngines] of lists) {
    for (const host of matomoHosts(readFileSync(join(dir, file), "utf8"), searchEngines)) {
      // An entry may carry a path (x.com/i/grok); the referrer is that page.
      cases.push({ input: input(`https://${host}${host.includes("/") ? "" : "/"}`), expected: medium, group: medium });
    }
  }
  return {
    name: "Matomo searchengine-and-social-list (every listed host)",
    source:
      "matomo-org/searchengine-and-social-list SearchEngines.yml, Socials.yml, AIAssistants.yml, commit 3b3a82dc (2026-07-15), CC0-1.0",
    groupLabel: "expected medium",
    cases,
    grade,
  };
}

export function yardsticks(root) {
  return [snowplow(root), matomo(root)];
}
