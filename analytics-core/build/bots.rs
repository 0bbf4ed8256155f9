//! Build step for `enrich::bot`: turns the vendored crawler list and hosting-ASN list into
//! static tables (`$OUT_DIR/bots_data.rs`), so the Worker spends nothing on them at startup.
//!
//! crawler-user-agents' patterns are regular expressions, but nearly all of them are literals
//! with escapes, a `^`/`$` anchor, a character class of two cases (`[wW]get`) or a group of
//! alternatives (`(sistrix|SISTRIX)`). Those are expanded here into plain literals with anchor
//! flags, sorted and bucketed by their first bytes, and matched at run time by one pass over
//! the user agent. The few true regexes left (`[\s\S]*`, `\d+`, `([^-]|$)`) are kept as regex
//! text with a literal the user agent must contain first; `regex-lite` compiles one only when
//! that literal shows up.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

/// Patterns of the list left out, because they match browsers people use (checked against
/// isbot's and device-detector's browser fixtures): a real person would be hidden.
const EXCLUDED_PATTERNS: &[&str] = &[
    // An Android build id: every phone on that firmware.
    "AP3A\\.240617\\.008",
    // Viber's and Facebook's in-app browsers, Sogou Mobile Browser, Fluid (a Mac site browser).
    "Viber",
    "MetaIAB Facebook",
    "Sogou",
    "Fluid",
    // Slack's desktop app ("Sonic"), VS Code's and Trae's web views.
    "Sonic",
    "Code\\/1\\.",
    "Trae\\/",
];

/// Most literals one pattern may expand to before it is kept as a regex instead.
const MAX_EXPANSION: usize = 64;
/// Bytes of a literal's start used as its bucket key (shorter literals go to a short list).
pub const KEY: usize = 3;

/// One way a pattern can match: a literal, optionally anchored at the start or end.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Alt {
    text: String,
    start: bool,
    end: bool,
}

/// Concatenates two sets of alternatives; combinations an anchor makes impossible are dropped.
fn concat(left: &[Alt], right: &[Alt]) -> Vec<Alt> {
    let mut out = Vec::new();
    for a in left {
        for b in right {
            if (b.start && !a.text.is_empty()) || (a.end && !b.text.is_empty()) {
                continue;
            }
            out.push(Alt {
                text: format!("{}{}", a.text, b.text),
                start: a.start || b.start,
                end: a.end || b.end,
            });
        }
    }
    out
}

/// Expands a pattern into literal alternatives, or `None` when it needs a real regex.
fn expand(pattern: &str) -> Option<Vec<Alt>> {
    let chars: Vec<char> = pattern.chars().collect();
    let (alts, rest) = alternation(&chars, 0)?;
    if rest != chars.len() {
        return None;
    }
    (alts.len() <= MAX_EXPANSION).then_some(alts)
}

/// Parses `branch (| branch)*` from `i` up to an unmatched `)` or the end.
fn alternation(c: &[char], mut i: usize) -> Option<(Vec<Alt>, usize)> {
    let mut all = Vec::new();
    loop {
        let (alts, next) = sequence(c, i)?;
        all.extend(alts);
        i = next;
        if c.get(i) == Some(&'|') {
            i += 1;
            continue;
        }
        return Some((all, i));
    }
}

/// Parses one branch: literals, escapes, `[..]` sets, `(..)` groups, `^` and `$`.
fn sequence(c: &[char], mut i: usize) -> Option<(Vec<Alt>, usize)> {
    let mut acc = vec![Alt {
        text: String::new(),
        start: false,
        end: false,
    }];
    let lit = |s: String| {
        vec![Alt {
            text: s,
            start: false,
            end: false,
        }]
    };
    while let Some(&ch) = c.get(i) {
        let piece = match ch {
            '|' | ')' => break,
            '^' => {
                i += 1;
                vec![Alt {
                    text: String::new(),
                    start: true,
                    end: false,
                }]
            }
            '$' => {
                i += 1;
                vec![Alt {
                    text: String::new(),
                    start: false,
                    end: true,
                }]
            }
            '\\' => {
                let e = *c.get(i + 1)?;
                if e.is_ascii_alphanumeric() {
                    return None; // \d, \s, \b …: a real regex
                }
                i += 2;
                lit(e.to_string())
            }
            '[' => {
                let close = c[i..].iter().position(|&x| x == ']')? + i;
                let set = &c[i + 1..close];
                if set.is_empty() || set.iter().any(|&x| matches!(x, '\\' | '^' | '-' | '[')) {
                    return None;
                }
                i = close + 1;
                set.iter().map(|x| lit(x.to_string()).remove(0)).collect()
            }
            '(' => {
                let (inner, next) = alternation(c, i + 1)?;
                if c.get(next) != Some(&')') {
                    return None;
                }
                i = next + 1;
                inner
            }
            '.' | '*' | '+' | '?' | '{' | '}' | ']' => return None,
            other => {
                i += 1;
                lit(other.to_string())
            }
        };
        // A quantifier after the piece makes it a real regex.
        if matches!(c.get(i), Some('*' | '+' | '?' | '{')) {
            return None;
        }
        acc = concat(&acc, &piece);
        if acc.len() > MAX_EXPANSION {
            return None;
        }
    }
    Some((acc, i))
}

/// The literal a real-regex pattern's matches all contain: its leading literal run.
fn needle(pattern: &str) -> String {
    let mut out = String::new();
    let mut it = pattern.trim_start_matches('^').chars().peekable();
    while let Some(ch) = it.next() {
        match ch {
            '\\' => match it.peek() {
                Some(e) if !e.is_ascii_alphanumeric() => {
                    out.push(*e);
                    it.next();
                }
                _ => break,
            },
            '.' | '*' | '+' | '?' | '{' | '(' | '[' | '|' | '$' | ')' => break,
            other => out.push(other),
        }
    }
    // A quantifier makes the last character optional.
    if matches!(it.peek(), Some('*' | '?' | '{')) {
        out.pop();
    }
    out
}

/// The filter bit of a three-byte key (a multiplicative hash to 16 bits). Kept equal to
/// `enrich::bot::key_bit` (a test compares them on every key).
pub fn key_bit(key: u32) -> usize {
    (key.wrapping_mul(0x9E37_79B1) >> 16) as usize
}

fn rust_str(s: &str) -> String {
    format!("{s:?}")
}

pub fn generate(out_dir: &Path) {
    let data = Path::new("data");
    let list_path = data.join("crawler-user-agents/crawler-user-agents.json");
    let asn_path = data.join("x4bnet-lists-vpn/datacenter-ASN.txt");
    println!("cargo:rerun-if-changed={}", list_path.display());
    println!("cargo:rerun-if-changed={}", asn_path.display());
    println!("cargo:rerun-if-changed=build/bots.rs");

    let list: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&list_path).expect("crawler list"))
            .expect("crawler list is JSON");
    let mut literals: BTreeSet<Alt> = BTreeSet::new();
    let mut residual: Vec<(String, String)> = Vec::new();
    for entry in list.as_array().expect("crawler list is an array") {
        let pattern = entry["pattern"].as_str().expect("pattern");
        if EXCLUDED_PATTERNS.contains(&pattern) {
            continue;
        }
        match expand(pattern) {
            Some(alts) => {
                for a in alts {
                    assert!(
                        !a.text.is_empty(),
                        "pattern {pattern:?} matches the empty string"
                    );
                    literals.insert(a);
                }
            }
            None => residual.push((needle(pattern), pattern.to_string())),
        }
    }
    let literals: Vec<Alt> = literals.into_iter().collect();

    let mut code = String::new();
    writeln!(
        code,
        "// Generated by analytics-core/build/bots.rs; do not edit."
    )
    .unwrap();
    writeln!(
        code,
        "pub const CRAWLER_PATTERNS: usize = {};",
        list.as_array().unwrap().len()
    )
    .unwrap();
    // (literal, anchored at start, anchored at end), sorted.
    writeln!(code, "pub static LITERALS: &[(&str, bool, bool)] = &[").unwrap();
    for a in &literals {
        writeln!(code, "    ({}, {}, {}),", rust_str(&a.text), a.start, a.end).unwrap();
    }
    writeln!(code, "];").unwrap();
    // Buckets: (first KEY bytes, first index, end index) over LITERALS, sorted by key.
    let mut buckets: Vec<([u8; KEY], usize, usize)> = Vec::new();
    let mut short = Vec::new();
    for (i, a) in literals.iter().enumerate() {
        let b = a.text.as_bytes();
        if b.len() < KEY {
            short.push(i);
            continue;
        }
        let mut key = [0u8; KEY];
        key.copy_from_slice(&b[..KEY]);
        match buckets.last_mut() {
            Some(last) if last.0 == key && last.2 == i => last.2 = i + 1,
            _ => buckets.push((key, i, i + 1)),
        }
    }
    // Literals sorted as strings are sorted by their first bytes too, so keys are unique.
    assert!(buckets.windows(2).all(|w| w[0].0 < w[1].0));
    // Keys as big-endian integers (same order), and each bucket's range of LITERALS.
    let key_int = |k: &[u8; KEY]| k.iter().fold(0u32, |acc, &b| acc << 8 | b as u32);
    let keys: Vec<u32> = buckets.iter().map(|(k, _, _)| key_int(k)).collect();
    writeln!(code, "pub static BUCKET_KEYS: &[u32] = &{keys:?};").unwrap();
    let ranges: Vec<(usize, usize)> = buckets.iter().map(|&(_, s, e)| (s, e)).collect();
    writeln!(
        code,
        "pub static BUCKET_RANGES: &[(u16, u16)] = &{ranges:?};"
    )
    .unwrap();
    // A bit per hashed three-byte key that starts some literal (65,536 bits): most positions
    // of a user agent start none and are skipped with one lookup, before any search.
    let mut filter = vec![0u64; 1024];
    for key in &keys {
        let bit = key_bit(*key);
        filter[bit / 64] |= 1 << (bit % 64);
    }
    writeln!(code, "pub static KEY_FILTER: [u64; 1024] = {filter:?};").unwrap();
    writeln!(code, "pub static SHORT: &[u16] = &{short:?};").unwrap();
    // (needle, regex): the regex runs only when the user agent contains the needle.
    writeln!(code, "pub static RESIDUAL: &[(&str, &str)] = &[").unwrap();
    for (n, p) in &residual {
        writeln!(code, "    ({}, {}),", rust_str(n), rust_str(p)).unwrap();
    }
    writeln!(code, "];").unwrap();
    writeln!(
        code,
        "pub const RESIDUAL_COUNT: usize = {};",
        residual.len()
    )
    .unwrap();
    writeln!(code, "pub const KEY: usize = {KEY};").unwrap();
    writeln!(
        code,
        "pub static EXCLUDED: &[&str] = &{EXCLUDED_PATTERNS:?};"
    )
    .unwrap();

    let mut asns: Vec<u32> = std::fs::read_to_string(&asn_path)
        .expect("ASN list")
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let digits = l.strip_prefix("AS")?;
            let end = digits
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(digits.len());
            digits[..end].parse().ok()
        })
        .collect();
    asns.sort_unstable();
    asns.dedup();
    writeln!(code, "pub static HOSTING_ASNS: &[u32] = &{asns:?};").unwrap();

    std::fs::write(out_dir.join("bots_data.rs"), code).expect("write bots_data.rs");
}
