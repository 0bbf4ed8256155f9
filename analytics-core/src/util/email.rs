//! Outgoing mail, whoever carries it: the message, the provider chosen by configuration, the
//! JSON an HTTP email API (Resend-compatible) takes, and signed unsubscribe links that work
//! without logging in.

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::error::ApiError;

/// Where the HTTP provider posts unless `VIGIA_EMAIL_API_URL` says otherwise.
pub const DEFAULT_HTTP_EMAIL_URL: &str = "https://api.resend.com/emails";
/// Longest address accepted (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;

#[derive(Debug, Clone, PartialEq)]
pub struct EmailMessage {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub headers: Vec<(String, String)>,
}

/// How mail leaves the Worker (`VIGIA_EMAIL_PROVIDER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// Cloudflare's `send_email` binding (`EMAIL` in wrangler.toml).
    Cloudflare,
    /// An HTTP API taking Resend's JSON (`VIGIA_EMAIL_API_URL`, secret `VIGIA_EMAIL_API_KEY`).
    Http,
}

impl Provider {
    pub fn name(self) -> &'static str {
        match self {
            Provider::Cloudflare => "cloudflare",
            Provider::Http => "http",
        }
    }

    /// `None` when mail is off (the variable unset or empty).
    pub fn from_config(value: Option<&str>) -> Result<Option<Provider>, String> {
        match value.map(str::trim).unwrap_or_default() {
            "" | "none" => Ok(None),
            "cloudflare" => Ok(Some(Provider::Cloudflare)),
            "http" => Ok(Some(Provider::Http)),
            other => Err(format!(
                "VIGIA_EMAIL_PROVIDER is {other:?}; use cloudflare, http or leave it empty"
            )),
        }
    }
}

/// The body an HTTP email API in Resend's format takes.
pub fn http_api_body(m: &EmailMessage) -> Value {
    let headers: serde_json::Map<String, Value> = m
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({
        "from": m.from,
        "to": [m.to],
        "subject": m.subject,
        "html": m.html,
        "text": m.text,
        "headers": headers,
    })
}

/// A plausible address: one `@`, something on each side, no spaces or angle brackets, not
/// too long. Good enough to refuse typos and header injection; delivery decides the rest.
/// Characters that draw nothing (zero-width, joiners, bidirectional controls, the byte-order
/// mark, the soft hyphen): an address with one looks exactly like another account's.
pub fn is_invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}')
}

/// Text safe in a mail header line (a subject): control characters (CR, LF…) become spaces,
/// so a site's name cannot start a header of its own.
pub fn header_text(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

pub fn check_address(address: &str) -> Result<(), ApiError> {
    let bad = || ApiError::bad_request("bad_email", format!("{address:?} is not an email address"));
    if address.len() > MAX_EMAIL_LEN
        || address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_invisible(c) || "<>,;\"".contains(c))
    {
        return Err(bad());
    }
    match address.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && domain.contains('.') && !domain.contains('@') =>
        {
            Ok(())
        }
        _ => Err(bad()),
    }
}

fn unsubscribe_mac(key: &[u8], site: &str, user_id: i64, kind: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(format!("unsubscribe\n{site}\n{user_id}\n{kind}").as_bytes());
    mac
}

/// The signature in an unsubscribe link for one recipient, site and kind of report.
pub fn unsubscribe_signature(key: &[u8], site: &str, user_id: i64, kind: &str) -> String {
    crate::util::hex::encode(
        &unsubscribe_mac(key, site, user_id, kind)
            .finalize()
            .into_bytes()[..16],
    )
}

/// Whether `signature` was made by `unsubscribe_signature` with this key (constant time).
pub fn unsubscribe_valid(
    key: &[u8],
    site: &str,
    user_id: i64,
    kind: &str,
    signature: &str,
) -> bool {
    let Some(bytes) = crate::util::hex::decode(signature) else {
        return false;
    };
    bytes.len() == 16
        && unsubscribe_mac(key, site, user_id, kind)
            .verify_truncated_left(&bytes)
            .is_ok()
}

/// The unsubscribe link itself, with its one-click (RFC 8058) headers.
pub fn unsubscribe_link(base: &str, key: &[u8], site: &str, user_id: i64, kind: &str) -> String {
    let sig = unsubscribe_signature(key, site, user_id, kind);
    let site: String = url::form_urlencoded::byte_serialize(site.as_bytes()).collect();
    format!(
        "{}/api/reports/unsubscribe?site={site}&user={user_id}&kind={kind}&sig={sig}",
        base.trim_end_matches('/')
    )
}

pub fn unsubscribe_headers(link: &str) -> Vec<(String, String)> {
    vec![
        ("List-Unsubscribe".into(), format!("<{link}>")),
        (
            "List-Unsubscribe-Post".into(),
            "List-Unsubscribe=One-Click".into(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn invisible_characters_and_header_breaks_are_refused_or_flattened() {
        use super::{check_address, header_text};
        for bad in [
            "a@example.com\u{200B}",
            "a\u{200D}b@example.com",
            "\u{FEFF}a@example.com",
            "a@exa\u{AD}mple.com",
            "a@example.com\u{202E}",
        ] {
            assert!(check_address(bad).is_err(), "{bad:?}");
        }
        assert!(check_address("zoë@example.com").is_ok());
        assert_eq!(header_text("Shop\r\nBcc: x@y.z"), "Shop  Bcc: x@y.z");
    }

    use super::*;

    #[test]
    fn providers_come_from_configuration() {
        assert_eq!(Provider::from_config(None), Ok(None));
        assert_eq!(
            Provider::from_config(Some(" http ")),
            Ok(Some(Provider::Http))
        );
        assert_eq!(
            Provider::from_config(Some("cloudflare")),
            Ok(Some(Provider::Cloudflare))
        );
        assert!(Provider::from_config(Some("smtp"))
            .unwrap_err()
            .contains("smtp"));
    }

    #[test]
    fn the_http_body_is_resends_shape() {
        let m = EmailMessage {
            from: "Vigia <reports@vigia.example>".into(),
            to: "owner@example.com".into(),
            subject: "s".into(),
            text: "t".into(),
            html: "<p>h</p>".into(),
            headers: unsubscribe_headers("https://x/u"),
        };
        let body = http_api_body(&m);
        assert_eq!(body["to"], json!(["owner@example.com"]));
        assert_eq!(body["headers"]["List-Unsubscribe"], "<https://x/u>");
        assert_eq!(
            body["headers"]["List-Unsubscribe-Post"],
            "List-Unsubscribe=One-Click"
        );
        assert_eq!(
            (body["html"].as_str(), body["text"].as_str()),
            (Some("<p>h</p>"), Some("t"))
        );
    }

    #[test]
    fn unsubscribe_links_are_bound_to_recipient_site_and_kind() {
        let key = b"instance key";
        let link = unsubscribe_link("https://v.example/", key, "a b.com", 7, "monthly");
        assert!(link.starts_with(
            "https://v.example/api/reports/unsubscribe?site=a+b.com&user=7&kind=monthly&sig="
        ));
        let sig = unsubscribe_signature(key, "a b.com", 7, "monthly");
        assert!(unsubscribe_valid(key, "a b.com", 7, "monthly", &sig));
        assert!(!unsubscribe_valid(key, "a b.com", 8, "monthly", &sig));
        assert!(!unsubscribe_valid(key, "a b.com", 7, "weekly", &sig));
        assert!(!unsubscribe_valid(
            b"other key",
            "a b.com",
            7,
            "monthly",
            &sig
        ));
        assert!(!unsubscribe_valid(key, "a b.com", 7, "monthly", &sig[..8]));
        assert!(!unsubscribe_valid(key, "a b.com", 7, "monthly", "zz"));
    }

    #[test]
    fn addresses_are_checked() {
        assert!(check_address("owner@example.com").is_ok());
        for bad in [
            "",
            "owner",
            "@example.com",
            "a@b",
            "a b@c.d",
            "a@b.c\r\nBcc: x@y.z",
            "<a@b.c>",
        ] {
            assert_eq!(
                check_address(bad).unwrap_err().error,
                "bad_email",
                "{bad:?}"
            );
        }
        assert!(check_address(&format!("{}@example.com", "a".repeat(MAX_EMAIL_LEN))).is_err());
    }
}
