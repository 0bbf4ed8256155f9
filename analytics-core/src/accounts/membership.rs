//! Accounts and who may join a site: invitations to a site (a person joins only by accepting),
//! how many sites a plain user may own, the public links' rate limit, and the mails that tell
//! an account's owner about a password change or a new API token.

use jiff::Timestamp;

use crate::error::ApiError;
use crate::governance::compliance::escape_html;
use crate::routes::Role;
use crate::util::email::{check_address, EmailMessage};
use api_types::sites::Invited;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// How long an invitation to a site waits for its answer.
pub const SITE_INVITE_TTL_MS: i64 = 14 * DAY_MS;
/// Pending invitations one site may hold: an admin cannot fill the table (or anyone's
/// invitation list) without bound.
pub const MAX_PENDING_INVITES_PER_SITE: i64 = 50;
/// Sites a user who is not an instance admin may own (each site they create makes them its
/// owner). Instance admins are not bounded. `VIGIA_MAX_SITES_PER_USER` may change it.
pub const MAX_SITES_PER_USER: i64 = 10;
/// Requests one address may make with public links (the site lookup and stats read through
/// `X-Vigia-Share`, valid token or not) per rate window (`rate_limit::RATE_WINDOW_MS`). A
/// shared dashboard makes about ten per view; guessing a 128-bit token stays hopeless.
/// `VIGIA_SHARE_REQUESTS_PER_MINUTE` may change it.
pub const SHARE_REQUESTS_PER_WINDOW: i64 = 240;

/// Counts one public-link request of an address fingerprint in a window and answers the
/// window's count. Binds: window start (ms), fingerprint.
pub const COUNT_SHARE_REQUEST_SQL: &str = "INSERT INTO share_rate (win, fingerprint, requests) \
     VALUES (?1, ?2, 1) ON CONFLICT (win, fingerprint) DO UPDATE SET \
     requests = share_rate.requests + 1 RETURNING requests";

/// The key a public-link request is counted under: a keyed hash of the address and the
/// window, so the stored counts neither hold an address nor link one window to the next.
pub fn share_fingerprint(key: &[u8], window_start_ms: i64, ip: Option<std::net::IpAddr>) -> String {
    use hmac::{Hmac, Mac};
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    let ip = ip.map(|ip| ip.to_string()).unwrap_or_default();
    mac.update(format!("share\n{window_start_ms}\n{ip}").as_bytes());
    crate::util::hex::encode(&mac.finalize().into_bytes()[..8])
}

/// Whether the `count`-th request of a window is over `limit`.
pub fn over_limit(count: i64, limit: i64) -> bool {
    count > limit
}

/// An email as it is stored: trimmed, and strictly checked (no CR/LF, spaces, angle brackets,
/// commas or semicolons, so it can never add a header or a recipient to a mail).
pub fn clean_email(email: &str) -> Result<String, ApiError> {
    let email = email.trim();
    check_address(email)?;
    Ok(email.to_string())
}

/// The one answer to `PUT /api/sites/{site}/members` from someone who is not an instance admin:
/// the same whether an account has this email or not, so it tells nothing about who exists.
pub fn invite_answer(email: &str, role: Role) -> Invited {
    Invited {
        email: email.into(),
        role,
        status: "invited".into(),
        message: "invitation recorded: if this email has an account, its owner sees it in the dashboard and becomes a member on accepting".into(),
    }
}

/// A role named in a request.
pub fn parse_role(text: &str) -> Result<Role, ApiError> {
    Role::parse(text)
        .ok_or_else(|| ApiError::bad_request("bad_role", "role is owner, admin, auditor or viewer"))
}

/// Who may set which role: only owners may make or unmake owners (`from` is the member's role
/// now, `to` the one asked for; `None` for no membership).
pub fn check_may_change(
    caller: Role,
    from: Option<Role>,
    to: Option<Role>,
) -> Result<(), ApiError> {
    if (from == Some(Role::Owner) || to == Some(Role::Owner)) && caller < Role::Owner {
        return Err(ApiError::forbidden(
            "only an owner may add or change an owner",
        ));
    }
    Ok(())
}

/// A site keeps at least one owner: without one, only an instance admin could see or manage
/// it, and its creator would have freed a place under the sites limit.
pub fn last_owner() -> ApiError {
    ApiError::new(
        409,
        "last_owner",
        "this is the site's only owner: make someone else an owner first, or delete the site",
    )
}

/// The site holds `MAX_PENDING_INVITES_PER_SITE` invitations already.
pub fn too_many_invitations() -> ApiError {
    ApiError::new(
        409,
        "too_many_invitations",
        format!("this site has {MAX_PENDING_INVITES_PER_SITE} invitations waiting for an answer; wait until some are accepted or expire"),
    )
}

/// How many sites a user may own: `configured` (`VIGIA_MAX_SITES_PER_USER`), or no bound for
/// an instance admin.
pub fn sites_limit(instance_admin: bool, configured: i64) -> Option<i64> {
    (!instance_admin).then_some(configured)
}

/// The owner's sites limit was reached.
pub fn too_many_sites(limit: i64) -> ApiError {
    ApiError::new(
        403,
        "too_many_sites",
        format!("an account may own at most {limit} sites and you own that many; delete one or ask an instance admin"),
    )
}

/// A site id: 1-`MAX_SITE_ID_BYTES` letters, digits, '-', '_' or '.', and not only dots (a URL
/// parser resolves `.` and `..` as path segments, so such a site could never be addressed).
pub fn check_site_id(id: &str) -> Result<(), ApiError> {
    let ok = !id.is_empty()
        && id.len() <= crate::limits::MAX_SITE_ID_BYTES
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !id.chars().all(|c| c == '.');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "bad_site_id",
            "a site id is 1-64 letters, digits, '-', '_' or '.', not only dots",
        ))
    }
}

/// Longest host name (RFC 1035).
pub const MAX_HOSTNAME_BYTES: usize = 253;
/// Longest label of a host name (RFC 1035).
pub const MAX_HOSTNAME_LABEL_BYTES: usize = 63;

/// A plausible host name: labels of 1-63 letters, digits or '-' (not at either end), joined by
/// single dots; so no empty label, and never `.` or `..`. Expects it lower-cased already.
pub fn is_hostname(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= MAX_HOSTNAME_BYTES
        && h.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= MAX_HOSTNAME_LABEL_BYTES
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// What a mail to an account's owner is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice<'a> {
    PasswordChanged,
    TokenCreated {
        name: &'a str,
        site: Option<&'a str>,
        expires_at: i64,
    },
}

fn utc(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// The mail that tells `to` about a change to their account at `at_ms`. It names what changed
/// and when, never a password or a token, and says what to do if it was not them.
pub fn notice_mail(from: &str, to: &str, base: &str, notice: Notice, at_ms: i64) -> EmailMessage {
    let when = utc(at_ms);
    let (subject, what) = match notice {
        Notice::PasswordChanged => (
            "Your Vigia password was changed".to_string(),
            format!(
                "The password of your Vigia account {to} was changed at {when}. Your other sessions were logged out and your API tokens revoked."
            ),
        ),
        Notice::TokenCreated {
            name,
            site,
            expires_at,
        } => (
            "A new API token was created on your Vigia account".to_string(),
            format!(
                "An API token named \"{name}\" was created on your Vigia account {to} at {when}. It reads {} and expires {}.",
                site.map(|s| format!("the site {s} only"))
                    .unwrap_or_else(|| "every site you can read".into()),
                utc(expires_at)
            ),
        ),
    };
    let advice = format!(
        "If this was not you, log in at {} and change your password (that revokes every API token), or ask an instance admin for help.",
        base.trim_end_matches('/')
    );
    EmailMessage {
        from: from.into(),
        to: to.into(),
        subject,
        text: format!("{what}\n\n{advice}\n"),
        html: format!(
            "<p>{}</p><p>{}</p>",
            escape_html(&what),
            escape_html(&advice)
        ),
        headers: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_ids_and_hostnames_of_only_dots_are_refused() {
        for bad in [".", "..", "...", "", "a/b", "a b"] {
            assert_eq!(
                check_site_id(bad).unwrap_err().error,
                "bad_site_id",
                "{bad:?}"
            );
        }
        for good in ["demo", "example.com", "a.b-c_d", ".a", "a.."] {
            assert!(check_site_id(good).is_ok(), "{good:?}");
        }
        for bad in [
            ".",
            "..",
            "",
            "a..b",
            ".example.com",
            "example.com.",
            "-a.example",
            "a-.example",
            "a_b.example",
        ] {
            assert!(!is_hostname(bad), "{bad:?}");
        }
        for good in [
            "example.com",
            "localhost",
            "127.0.0.1",
            "a-b.example",
            "xn--bcher-kva.example",
        ] {
            assert!(is_hostname(good), "{good:?}");
        }
    }

    #[test]
    fn emails_are_trimmed_and_header_injection_refused() {
        assert_eq!(clean_email("  a@example.com ").unwrap(), "a@example.com");
        for bad in [
            "a@example.com\r\nBcc: x@evil.example",
            "a@example.com\nBcc: x@evil.example",
            "A <a@example.com>",
            "a@example.com,b@example.com",
            "a@example.com;b@example.com",
            "a@b@example.com",
        ] {
            assert_eq!(clean_email(bad).unwrap_err().error, "bad_email", "{bad:?}");
        }
    }

    #[test]
    fn the_invite_answer_names_no_account() {
        let known = serde_json::to_value(invite_answer("bob@example.com", Role::Owner)).unwrap();
        let unknown =
            serde_json::to_value(invite_answer("nobody@example.com", Role::Owner)).unwrap();
        assert_eq!(
            known.to_string().replace("bob@", "nobody@"),
            unknown.to_string()
        );
        assert_eq!(known["status"], "invited");
        assert!(known.get("user_id").is_none());
    }

    #[test]
    fn only_owners_make_or_unmake_owners() {
        use Role::*;
        assert!(check_may_change(Admin, Some(Viewer), Some(Admin)).is_ok());
        assert!(check_may_change(Admin, None, Some(Viewer)).is_ok());
        assert!(check_may_change(Admin, Some(Viewer), None).is_ok());
        for (from, to) in [
            (Some(Owner), Some(Admin)),
            (None, Some(Owner)),
            (Some(Owner), None),
        ] {
            assert_eq!(check_may_change(Admin, from, to).unwrap_err().status, 403);
            assert!(check_may_change(Owner, from, to).is_ok());
        }
        assert_eq!(parse_role("auditor").unwrap(), Auditor);
        assert_eq!(parse_role("root").unwrap_err().error, "bad_role");
        assert_eq!(parse_role("Owner").unwrap_err().error, "bad_role");
    }

    #[test]
    fn limits_answer_their_own_codes() {
        assert_eq!(sites_limit(true, 3), None);
        assert_eq!(sites_limit(false, 3), Some(3));
        let e = too_many_sites(3);
        assert_eq!((e.status, e.error), (403, "too_many_sites"));
        assert!(e.message.contains("at most 3 sites"));
        let e = too_many_invitations();
        assert_eq!((e.status, e.error), (409, "too_many_invitations"));
        assert!(e.message.contains("50 invitations"));
        assert_eq!(last_owner().error, "last_owner");
    }

    #[test]
    fn share_fingerprints_hide_the_address_and_change_every_window() {
        let ip = Some("198.51.100.20".parse().unwrap());
        let a = share_fingerprint(b"k", 0, ip);
        assert_eq!(a, share_fingerprint(b"k", 0, ip));
        assert_eq!(a.len(), 16);
        assert!(!a.contains("198"));
        assert_ne!(a, share_fingerprint(b"k", 60_000, ip));
        assert_ne!(a, share_fingerprint(b"other", 0, ip));
        assert_ne!(
            a,
            share_fingerprint(b"k", 0, Some("198.51.100.21".parse().unwrap()))
        );
    }

    #[test]
    fn limits_are_named() {
        assert_eq!(MAX_SITES_PER_USER, 10);
        assert_eq!(SHARE_REQUESTS_PER_WINDOW, 240);
        assert_eq!(MAX_PENDING_INVITES_PER_SITE, 50);
        assert_eq!(SITE_INVITE_TTL_MS, 14 * 86_400_000);
        assert!(!over_limit(
            SHARE_REQUESTS_PER_WINDOW,
            SHARE_REQUESTS_PER_WINDOW
        ));
        assert!(over_limit(
            SHARE_REQUESTS_PER_WINDOW + 1,
            SHARE_REQUESTS_PER_WINDOW
        ));
    }

    #[test]
    fn notices_say_what_and_when_but_carry_no_secret() {
        let m = notice_mail(
            "Vigia <v@x.example>",
            "mo@example.com",
            "https://v.example/",
            Notice::TokenCreated {
                name: "nightly <export>",
                site: Some("shop"),
                expires_at: 86_400_000,
            },
            0,
        );
        assert_eq!(m.to, "mo@example.com");
        assert!(m.subject.contains("API token"));
        assert!(m.text.contains("\"nightly <export>\"") && m.text.contains("1970-01-01 00:00 UTC"));
        assert!(m.text.contains("the site shop only") && m.text.contains("1970-01-02"));
        assert!(m.html.contains("nightly &lt;export&gt;") && !m.html.contains("<export>"));
        assert!(m
            .text
            .contains("https://v.example and change your password"));
        let p = notice_mail(
            "f@x.example",
            "mo@example.com",
            "https://v.example",
            Notice::PasswordChanged,
            0,
        );
        assert!(p.subject.contains("password") && p.text.contains("API tokens revoked"));
    }
}
