//! An app user's email registration (`POST /api/app/email`): the address checked strictly, the
//! consent words kept with their time, and the confirmation mail whose link alone links the
//! install to the address. Nobody can attach an install to a stranger's address: until the
//! address's owner follows the link and presses the button, nothing is linked and no report
//! goes there.

use api_types::apps::EmailRegistration;

use crate::error::ApiError;
use crate::governance::compliance::escape_html;
use crate::limits::app::MAX_CONSENT_BYTES;
use crate::util::email::{check_address, EmailMessage};

/// How long a confirmation link works.
pub const CONFIRM_TTL_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// The window of the confirmation-mail limits: a day.
pub const MAIL_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;
/// Confirmation mails one install may have sent per day (a user retyping an address).
pub const MAX_CONFIRM_MAILS_PER_INSTALL: i64 = 5;
/// Confirmation mails one address may receive per app and day: the app key is public, so
/// anyone could otherwise use Vigia to mail an address over and over.
pub const MAX_CONFIRM_MAILS_PER_ADDRESS: i64 = 3;
/// Confirmation mails one app may have sent per day, all installs and addresses together:
/// install ids cost nothing to make, so without it a public key could mail any number of
/// strangers. (A flood can use up a day's mails for the app's real users: that is the price.)
pub const MAX_CONFIRM_MAILS_PER_APP: i64 = 200;

/// A registration as checked.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRegistration {
    pub install_id: String,
    /// Lowercased: one person, one row, however they typed it.
    pub email: String,
    pub consent: String,
}

/// Checks a registration: the install id, a strict address, consent words that are there and
/// at most `MAX_CONSENT_BYTES`.
pub fn check_registration(r: EmailRegistration) -> Result<CheckedRegistration, ApiError> {
    super::batch::check_install_id(&r.install_id)?;
    let email = r.email.trim().to_lowercase();
    check_address(&email)?;
    let consent = r.consent.trim().to_string();
    if consent.is_empty() {
        return Err(ApiError::bad_request(
            "missing_consent",
            "send the words the user agreed to (consent)",
        ));
    }
    if consent.len() > MAX_CONSENT_BYTES || consent.contains('\0') {
        return Err(ApiError::bad_request(
            "bad_consent",
            format!("consent is at most {MAX_CONSENT_BYTES} bytes of text"),
        ));
    }
    Ok(CheckedRegistration {
        install_id: r.install_id,
        email,
        consent,
    })
}

/// The subject of a confirmation-mail limit: an install or an address, each as a keyed hash.
pub fn mail_subject(kind: &str, hash: &str) -> String {
    format!("{kind} {hash}")
}

/// The link the confirmation mail carries.
pub fn confirm_link(base: &str, token: &str) -> String {
    format!(
        "{}/api/app/confirm?token={token}",
        base.trim_end_matches('/')
    )
}

/// The confirmation mail (text and HTML): what the app asked, the link, and that ignoring the
/// mail changes nothing. The consent words are shown on the page the link opens, not here:
/// they are the caller's text, and the app key that sends them is public.
pub fn confirm_mail(from: &str, to: &str, app_name: &str, link: &str) -> EmailMessage {
    let days = CONFIRM_TTL_MS / (24 * 60 * 60 * 1000);
    let ask =
        format!("The app {app_name} asked to send a monthly report of your own use of it to {to}.");
    let act = format!(
        "To see what you agreed to and confirm, open this link and press the button within {days} days:"
    );
    let ignore =
        "If you did not ask for this, ignore this mail: nothing is linked to your address and you will receive nothing.";
    EmailMessage {
        from: from.into(),
        to: to.into(),
        subject: format!("Confirm your usage reports from {app_name}"),
        text: format!("{ask}\n\n{act}\n{link}\n\n{ignore}\n"),
        html: format!(
            "<p>{}</p><p>{}</p><p><a href=\"{}\">{}</a></p><p>{}</p>",
            escape_html(&ask),
            escape_html(&act),
            escape_html(link),
            escape_html(link),
            escape_html(ignore)
        ),
        headers: Vec::new(),
    }
}

/// The page the link opens (GET): what will be confirmed, and a button. Opening it changes
/// nothing (mail scanners follow links).
pub fn confirm_page(app_name: &str, email: &str, consent: &str) -> String {
    crate::util::html::page(
        "Confirm your usage reports",
        &format!(
            "<p>The app <strong>{}</strong> will send a monthly report of your use of it to \
             <strong>{}</strong>. You agreed to:</p><blockquote id=\"consent\">{}</blockquote>\
             <form method=\"post\"><button type=\"submit\" id=\"confirm\">Confirm</button></form>",
            escape_html(app_name),
            escape_html(email),
            escape_html(consent)
        ),
    )
}

/// The page after the button.
pub fn confirmed_page(app_name: &str) -> String {
    crate::util::html::page(
        "Confirmed",
        &format!(
            "<p id=\"done\">Your address is confirmed: {} will send you a monthly report of your use. \
             Each report has a link to stop them.</p>",
            escape_html(app_name)
        ),
    )
}

/// A link that does not work: wrong, used already, or expired.
pub fn link_not_valid() -> ApiError {
    ApiError::not_found(
        "this confirmation link is not valid: it was used already, has expired, or was altered",
    )
}

/// What a person who opens such a link sees (a page, not the API's JSON).
pub fn link_not_valid_page() -> String {
    crate::util::html::page(
        "This link does not work",
        "<p id=\"invalid\">It was used already, has expired (links last 7 days), or was cut short. \
         If you still want the monthly report, ask for it again in the app: a new mail will come.</p>",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(email: &str, consent: &str) -> EmailRegistration {
        EmailRegistration {
            install_id: "0123456789abcdef0123456789abcdef".into(),
            email: email.into(),
            consent: consent.into(),
        }
    }

    #[test]
    fn a_registration_needs_a_strict_address_and_bounded_consent() {
        let ok = check_registration(reg(" Ana@Example.COM ", " I agree ")).unwrap();
        assert_eq!(
            (ok.email.as_str(), ok.consent.as_str()),
            ("ana@example.com", "I agree")
        );
        for (email, consent, error) in [
            ("ana", "yes", "bad_email"),
            ("ana@example.com, eve@example.com", "yes", "bad_email"),
            (
                "ana@example.com\r\nBcc: eve@example.com",
                "yes",
                "bad_email",
            ),
            ("ana@example.com", "  ", "missing_consent"),
            (
                "ana@example.com",
                &"c".repeat(MAX_CONSENT_BYTES + 1),
                "bad_consent",
            ),
        ] {
            assert_eq!(
                check_registration(reg(email, consent)).unwrap_err().error,
                error,
                "{email}"
            );
        }
        assert!(check_registration(reg("a@b.example", &"c".repeat(MAX_CONSENT_BYTES))).is_ok());
        let mut bad = reg("a@b.example", "yes");
        bad.install_id = "nope".into();
        assert_eq!(check_registration(bad).unwrap_err().error, "bad_install_id");
    }

    #[test]
    fn the_mail_carries_the_link_and_how_to_ignore_it_never_the_callers_words() {
        let link = confirm_link("https://v.example/", "abc");
        assert_eq!(link, "https://v.example/api/app/confirm?token=abc");
        let m = confirm_mail("Vigia <r@x>", "ana@example.com", "Tool <b>", &link);
        assert!(m.text.contains(&link) && m.text.contains("7 days"));
        assert!(m.html.contains("Tool &lt;b&gt;") && !m.html.contains("<b>"));
        assert!(m.text.contains("ignore this mail"));
        let p = confirm_page("Tool", "ana@example.com", "<i>yes</i>");
        assert!(p.contains("method=\"post\"") && p.contains("&lt;i&gt;yes&lt;/i&gt;"));
        assert!(confirmed_page("Tool").contains("id=\"done\""));
        assert_eq!(link_not_valid().status, 404);
    }

    #[test]
    fn mail_limits_are_small_and_the_link_lasts_a_week() {
        assert_eq!(CONFIRM_TTL_MS, 604_800_000);
        const _: () = assert!(MAX_CONFIRM_MAILS_PER_ADDRESS <= MAX_CONFIRM_MAILS_PER_INSTALL);
        assert_eq!(MAX_CONFIRM_MAILS_PER_ADDRESS, 3);
        const _: () = assert!(MAX_CONFIRM_MAILS_PER_INSTALL < MAX_CONFIRM_MAILS_PER_APP);
        assert_eq!(mail_subject("address", "ab"), "address ab");
    }
}
