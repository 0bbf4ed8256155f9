// Referrer yardsticks. A module here exports `title` and `yardsticks(root)`: a list of
// { name, source, byConstruction?, groupLabel?, cases: [{ input, expected, group }], grade(case, prediction, which) }
// where `input` is one enrich-predict case (enrich-score/src/main.rs) and `which` is
// "previous" or "now" (the previous implementation used other channel names).

export const title = "Referrers: channel (medium) per referrer";

export function yardsticks(_root) {
  return [];
}
