//! Rules of the user routes: accounts, API tokens (how many, their names and prefixes) and the
//! bodies the account routes accept.

use crate::error::ApiError;

/// Largest body of a user or token route.
pub const MAX_USER_BODY_BYTES: usize = 4 * 1024;
/// Largest body of setup and login.
pub const MAX_ACCOUNT_BODY_BYTES: usize = 4 * 1024;
/// Most API tokens one user may hold.
pub const MAX_TOKENS_PER_USER: usize = 20;
/// Longest name of an API token.
pub const MAX_TOKEN_NAME_BYTES: usize = 80;
/// API tokens start with this, so they are easy to recognise (and to scan for in leaks).
pub const TOKEN_PREFIX: &str = "vgt_";
/// Characters after `TOKEN_PREFIX` kept (and shown) to tell tokens apart.
pub const TOKEN_SHOWN_CHARS: usize = 6;

/// A token's name, trimmed: 1-`MAX_TOKEN_NAME_BYTES` bytes.
pub fn check_token_name(name: &str) -> Result<&str, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.len() > MAX_TOKEN_NAME_BYTES {
        return Err(ApiError::bad_request(
            "bad_name",
            format!("a token needs a name of 1-{MAX_TOKEN_NAME_BYTES} bytes"),
        ));
    }
    Ok(name)
}

/// Whether a user holding `held` tokens may create another.
pub fn check_token_count(held: usize) -> Result<(), ApiError> {
    if held >= MAX_TOKENS_PER_USER {
        return Err(ApiError::bad_request(
            "too_many_tokens",
            format!("revoke a token first: at most {MAX_TOKENS_PER_USER}"),
        ));
    }
    Ok(())
}

/// A new token from its random part (hex), and the prefix kept to show it by.
pub fn new_token(random_hex: &str) -> (String, String) {
    let token = format!("{TOKEN_PREFIX}{random_hex}");
    let prefix = token
        .chars()
        .take(TOKEN_PREFIX.len() + TOKEN_SHOWN_CHARS)
        .collect();
    (token, prefix)
}

/// The site a token is limited to: the one named, or none when blank.
pub fn token_scope(site: Option<&str>) -> Option<&str> {
    site.map(str::trim).filter(|s| !s.is_empty())
}

/// A scope the user cannot read is refused like an unknown site (nothing to probe).
pub fn unreadable_scope(site: &str) -> ApiError {
    ApiError::new(
        404,
        "site_not_found",
        format!("no site {site:?} that you can read"),
    )
}

/// Nobody deletes their own account (an instance would lose its last admin that way).
pub fn check_not_self(target: i64, caller: i64) -> Result<(), ApiError> {
    if target == caller {
        return Err(ApiError::bad_request(
            "cannot_delete_self",
            "you cannot delete your own account",
        ));
    }
    Ok(())
}

/// A hostname as first-run setup stores it.
pub fn setup_hostname(host: &str) -> String {
    host.trim().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_named() {
        assert_eq!(MAX_USER_BODY_BYTES, 4096);
        assert_eq!(MAX_ACCOUNT_BODY_BYTES, 4096);
        assert_eq!(MAX_TOKENS_PER_USER, 20);
        assert_eq!(MAX_TOKEN_NAME_BYTES, 80);
        assert_eq!((TOKEN_PREFIX, TOKEN_SHOWN_CHARS), ("vgt_", 6));
    }

    #[test]
    fn token_names_counts_and_scopes() {
        assert_eq!(check_token_name("  nightly ").unwrap(), "nightly");
        assert!(check_token_name(&"n".repeat(MAX_TOKEN_NAME_BYTES)).is_ok());
        for bad in ["", "  ", &"n".repeat(MAX_TOKEN_NAME_BYTES + 1)] {
            assert_eq!(check_token_name(bad).unwrap_err().error, "bad_name");
        }
        assert!(check_token_count(MAX_TOKENS_PER_USER - 1).is_ok());
        assert_eq!(
            check_token_count(MAX_TOKENS_PER_USER).unwrap_err().error,
            "too_many_tokens"
        );
        assert_eq!(token_scope(Some(" shop ")), Some("shop"));
        assert_eq!(token_scope(Some("  ")), None);
        assert_eq!(token_scope(None), None);
        assert_eq!(unreadable_scope("x").status, 404);
    }

    #[test]
    fn a_token_is_shown_by_its_prefix() {
        let (token, prefix) = new_token("0123456789abcdef");
        assert_eq!(token, "vgt_0123456789abcdef");
        assert_eq!(prefix, "vgt_012345");
    }

    #[test]
    fn nobody_deletes_themselves() {
        assert_eq!(
            check_not_self(1, 1).unwrap_err().error,
            "cannot_delete_self"
        );
        assert!(check_not_self(2, 1).is_ok());
        assert_eq!(setup_hostname(" Shop.Example "), "shop.example");
    }
}
