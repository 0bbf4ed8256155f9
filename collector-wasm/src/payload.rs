//! Building the batch body by hand: serde would cost kilobytes the visitor downloads. The
//! format is `analytics_core::wire`'s; a native test parses our output with the real parser.

/// Appends `text` as a JSON string literal.
pub fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                let v = c as u32;
                out.push(hex_digit(v >> 4));
                out.push(hex_digit(v & 15));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn hex_digit(v: u32) -> char {
    char::from_digit(v, 16).unwrap_or('0')
}

fn push_u32(out: &mut String, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for d in &digits[i..] {
        out.push(*d as char);
    }
}

/// One event as a JSON object.
pub struct Event<'a> {
    pub kind: &'a str,
    pub url: &'a str,
    pub referrer: &'a str,
    pub name: &'a str,
    pub screen_width: u32,
}

pub fn event_json(e: &Event) -> String {
    let mut out = String::with_capacity(64 + e.url.len() + e.referrer.len());
    out.push_str("{\"kind\":");
    push_json_string(&mut out, e.kind);
    out.push_str(",\"url\":");
    push_json_string(&mut out, e.url);
    if !e.referrer.is_empty() {
        out.push_str(",\"referrer\":");
        push_json_string(&mut out, e.referrer);
    }
    if !e.name.is_empty() {
        out.push_str(",\"name\":");
        push_json_string(&mut out, e.name);
    }
    if e.screen_width > 0 {
        out.push_str(",\"screen_width\":");
        push_u32(&mut out, e.screen_width);
    }
    out.push('}');
    out
}

/// The whole body: `{"site":…,"events":[…]}`.
pub fn batch_json(site: &str, events: &[String]) -> String {
    let mut out = String::with_capacity(32 + events.iter().map(|e| e.len() + 1).sum::<usize>());
    out.push_str("{\"site\":");
    push_json_string(&mut out, site);
    out.push_str(",\"events\":[");
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(e);
    }
    out.push_str("]}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worker_parses_what_the_collector_builds() {
        let pv = event_json(&Event {
            kind: "pageview",
            url: "https://example.com/a\"b\\c\u{1}?q=1",
            referrer: "https://duckduckgo.com/",
            name: "",
            screen_width: 1280,
        });
        let custom = event_json(&Event {
            kind: "custom",
            url: "https://example.com/",
            referrer: "",
            name: "sign\nup",
            screen_width: 0,
        });
        let body = batch_json("demo", &[pv, custom]);
        let batch = analytics_core::wire::parse_batch(body.as_bytes()).unwrap();
        assert_eq!(batch.site, "demo");
        assert_eq!(batch.events[0].url, "https://example.com/a\"b\\c\u{1}?q=1");
        assert_eq!(batch.events[0].screen_width, Some(1280));
        assert_eq!(batch.events[1].name.as_deref(), Some("sign\nup"));
        assert_eq!(batch.events[1].referrer, None);
    }

    #[test]
    fn numbers_print_like_integers() {
        for n in [0u32, 7, 10, 1280, u32::MAX] {
            let mut s = String::new();
            push_u32(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }
}
